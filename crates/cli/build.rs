//! Links the `kite` binary with the code `kite run` executes laid out together.
//!
//! The kernel maps a binary's code in 64 KiB blocks around each page it touches (fault-around),
//! so a run path scattered over a 13 MiB text section keeps about 6.5 MiB of it resident.
//! `link/run.ld` is a linker script (`INSERT BEFORE .text`) that gathers the functions one
//! `kite run` executes into one `.text.hot` block of about 1.8 MiB, which cut kite's own peak RSS
//! from 11.3 to 7.2 MiB. A pattern that no longer matches leaves its function in `.text`: the
//! layout degrades, the build never breaks. `scripts/gen-run-order.sh` regenerates the list.

use std::path::Path;

fn main() {
    let order = Path::new("link/run.ld");
    println!("cargo:rerun-if-changed={}", order.display());
    println!("cargo:rerun-if-env-changed=KITE_NO_SYMBOL_ORDER");
    // rustc links x86_64 Linux binaries with its bundled lld by default (Rust 1.90+); other
    // targets and linkers may not know the flag, so only that target gets it.
    let target = std::env::var("TARGET").unwrap_or_default();
    if target != "x86_64-unknown-linux-gnu" || std::env::var_os("KITE_NO_SYMBOL_ORDER").is_some() {
        return;
    }
    let path = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join(order);
    println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", path.display());
}
