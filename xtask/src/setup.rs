//! Installs what a command needs, only when it is missing, so a second run
//! costs nothing. Each tool is checked by asking it (or rustup) first.
//!
//! Runs unattended: CI is root, `CI=true`, no terminal, no prompts.

use std::path::Path;
use std::process::{Command, Stdio};

/// Something the project needs on the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Need {
    /// rustfmt for the pinned toolchain.
    Rustfmt,
    /// clippy for the pinned toolchain.
    Clippy,
    /// The `wasm32-unknown-unknown` standard library for the pinned toolchain.
    /// rust-toolchain.toml lists it, but rustup only honours that list when
    /// it installs the toolchain itself, not for one already present.
    Wasm32Target,
    /// The nightly toolchain (fuzzing only).
    Nightly,
    /// cargo-fuzz (fuzzing only).
    CargoFuzz,
}

/// What `cargo xtask test` needs.
pub(crate) const FOR_TEST: &[Need] = &[Need::Rustfmt, Need::Clippy, Need::Wasm32Target];
/// What `cargo xtask fuzz` needs.
pub(crate) const FOR_FUZZ: &[Need] = &[Need::Nightly, Need::CargoFuzz];
/// Everything.
pub(crate) const ALL: &[Need] = &[Need::Rustfmt, Need::Clippy, Need::Wasm32Target, Need::Nightly, Need::CargoFuzz];

/// Makes sure every need is met, installing what is missing.
pub(crate) fn ensure(root: &Path, needs: &[Need]) -> Result<(), String> {
    for need in needs {
        if present(root, *need) {
            println!("setup: {need:?}: present");
            continue;
        }
        println!("setup: {need:?}: missing, installing");
        install(root, *need)?;
        if !present(root, *need) {
            return Err(format!("{need:?} is still missing after installing it"));
        }
        println!("setup: {need:?}: installed");
    }
    Ok(())
}

/// Runs a command quietly; true if it exited 0.
fn quiet_ok(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

fn stdout_of(cmd: &mut Command) -> String {
    cmd.stderr(Stdio::null()).output().map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default()
}

fn present(root: &Path, need: Need) -> bool {
    match need {
        Need::Rustfmt => quiet_ok(Command::new("cargo").current_dir(root).args(["fmt", "--version"])),
        Need::Clippy => quiet_ok(Command::new("cargo").current_dir(root).args(["clippy", "--version"])),
        Need::Wasm32Target => {
            stdout_of(Command::new("rustup").current_dir(root).args(["target", "list", "--installed"]))
                .lines()
                .any(|l| l.trim() == "wasm32-unknown-unknown")
        }
        Need::Nightly => quiet_ok(Command::new("rustc").args(["+nightly", "--version"])),
        Need::CargoFuzz => quiet_ok(Command::new("cargo").args(["fuzz", "--version"])),
    }
}

fn install(root: &Path, need: Need) -> Result<(), String> {
    let mut cmd = match need {
        Need::Rustfmt => rustup(root, &["component", "add", "rustfmt"]),
        Need::Clippy => rustup(root, &["component", "add", "clippy"]),
        Need::Wasm32Target => rustup(root, &["target", "add", "wasm32-unknown-unknown"]),
        Need::Nightly => {
            let mut c = Command::new("rustup");
            c.args(["toolchain", "install", "nightly", "--profile", "minimal"]);
            c
        }
        Need::CargoFuzz => {
            let mut c = Command::new("cargo");
            c.args(["install", "cargo-fuzz", "--locked"]);
            c
        }
    };
    let status = cmd.status().map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{cmd:?} failed ({status})")) }
}

/// rustup run from the project root, so it acts on the pinned toolchain.
fn rustup(root: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("rustup");
    c.current_dir(root).args(args);
    c
}
