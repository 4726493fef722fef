//! Build script. Does nothing unless the `capi` feature is on, so a crate
//! that depends on blockmem compiles no code generator and writes nothing.
//!
//! With `capi` (the project's own C build, see the Makefile):
//! - generates the C header from src/ffi/ with cbindgen into
//!   `$OUT_DIR/blockmem.h`; `make` copies it to include/blockmem.h (which is
//!   committed, and `make test` fails when a build changes it). A generation
//!   failure fails the build.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "capi")]
    capi::main();
}

#[cfg(feature = "capi")]
mod capi {
    use std::env;
    use std::path::PathBuf;

    pub fn main() {
        println!("cargo:rerun-if-changed=src/ffi");
        println!("cargo:rerun-if-changed=cbindgen.toml");

        let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
        let out_dir = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));
        let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
            .unwrap_or_else(|err| panic!("cbindgen.toml: {err}"));
        let bindings = cbindgen::generate_with_config(&crate_dir, config)
            .unwrap_or_else(|err| panic!("cannot generate the C header from src/ffi: {err}"));
        bindings.write_to_file(out_dir.join("blockmem.h"));
    }
}
