//! Records the git revision for `guillotine --version` ("unknown" outside a git checkout,
//! e.g. in a container build without .git), and links the static musl release binaries
//! without unwind tables (link/discard-unwind-tables.ld says why).

use std::env;
use std::process::Command;

fn main() {
    let revision = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=GUILLOTINE_GIT_REVISION={revision}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs");
    println!("cargo:rerun-if-changed=link/discard-unwind-tables.ld");

    // The release profile is panic = "abort" (Cargo.toml); CARGO_CFG_PANIC cannot say so
    // here (a build script sees the target's default, "unwind"), so the profile decides.
    let musl = env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("musl");
    let release = env::var("PROFILE").as_deref() == Ok("release");
    if musl && release {
        let root = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        println!("cargo:rustc-link-arg-bins=-Wl,--no-eh-frame-hdr");
        println!("cargo:rustc-link-arg-bins=-Wl,-T,{root}/link/discard-unwind-tables.ld");
    }
}
