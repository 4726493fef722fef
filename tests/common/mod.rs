//! Code shared by the integration tests (`mod common;` in each test file).

pub mod payload;
