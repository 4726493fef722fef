//! Generates include/blockmem.h from the C ABI in src/ffi/ with cbindgen.
//!
//! The header is committed; `make test` fails if a build changes it. It is
//! written only when its contents change, so builds do not touch its
//! timestamp needlessly.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");

    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is valid");
    let bindings = match cbindgen::generate_with_config(&crate_dir, config) {
        Ok(bindings) => bindings,
        Err(err) => {
            // Keep the committed header; a parse failure shows as a build
            // warning (and as header drift in `make test`).
            println!("cargo:warning=cbindgen failed, header not regenerated: {err}");
            return;
        }
    };
    bindings.write_to_file(crate_dir.join("include/blockmem.h"));
}
