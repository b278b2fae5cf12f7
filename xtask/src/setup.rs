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
    /// `wasm-bindgen` CLI and test runner, exactly [`WASM_BINDGEN_VERSION`]
    /// (the crate is pinned to the same version; any other makes wasm-pack
    /// try to download one, which cannot work here).
    WasmBindgen,
    /// wasm-pack, which builds the explorer's package and runs the browser tests.
    WasmPack,
    /// binaryen's wasm-opt (Debian's). Not needed by the build: Debian's
    /// binaryen 108 corrupts wasm-bindgen's exported table, so the wasm crate
    /// sets `wasm-opt = false`; `cargo xtask setup` still offers it.
    Binaryen,
    /// Debian's Chromium and its ChromeDriver, for the browser tests.
    Chromium,
    /// Debian's Firefox ESR, the second browser of the browser tests.
    Firefox,
    /// geckodriver (crates.io), which drives Firefox for wasm-pack's tests
    /// and the end-to-end test.
    Geckodriver,
    /// Python 3 with `venv` (Debian's python3-venv), for the interop test
    /// with the Python `websockets` client.
    PythonVenv,
    /// Debian's socat: the plain TCP forwarder the relay benchmark
    /// measures the relay against (bench only).
    Socat,
    /// The nightly toolchain (fuzzing only).
    Nightly,
    /// cargo-fuzz (fuzzing only).
    CargoFuzz,
}

/// The wasm-bindgen version the wasm crate pins.
pub(crate) const WASM_BINDGEN_VERSION: &str = "0.2.130";

/// What `cargo xtask run` needs: the tools that build the explorer's wasm.
pub(crate) const FOR_RUN: &[Need] = &[Need::Wasm32Target, Need::WasmBindgen];
/// What `cargo xtask test` needs.
pub(crate) const FOR_TEST: &[Need] = &[
    Need::Rustfmt,
    Need::Clippy,
    Need::Wasm32Target,
    Need::WasmBindgen,
    Need::WasmPack,
    Need::Chromium,
    Need::Firefox,
    Need::Geckodriver,
    Need::PythonVenv,
];
/// What `cargo xtask fuzz` needs.
pub(crate) const FOR_FUZZ: &[Need] = &[Need::Nightly, Need::CargoFuzz];
/// Everything.
pub(crate) const ALL: &[Need] = &[
    Need::Rustfmt,
    Need::Clippy,
    Need::Wasm32Target,
    Need::WasmBindgen,
    Need::WasmPack,
    Need::Binaryen,
    Need::Chromium,
    Need::Firefox,
    Need::Geckodriver,
    Need::PythonVenv,
    Need::Socat,
    Need::Nightly,
    Need::CargoFuzz,
];

/// Makes sure every need is met, installing what is missing.
pub(crate) fn ensure(root: &Path, needs: &[Need]) -> Result<(), String> {
    let mut apt_updated = false;
    for need in needs {
        if present(root, *need) {
            println!("setup: {need:?}: present");
            continue;
        }
        println!("setup: {need:?}: missing, installing");
        install(root, *need, &mut apt_updated)?;
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
        Need::WasmBindgen => stdout_of(Command::new("wasm-bindgen").arg("--version"))
            .split_whitespace()
            .nth(1)
            .is_some_and(|v| v == WASM_BINDGEN_VERSION),
        Need::WasmPack => quiet_ok(Command::new("wasm-pack").arg("--version")),
        Need::Binaryen => quiet_ok(Command::new("wasm-opt").arg("--version")),
        Need::Chromium => {
            quiet_ok(Command::new("chromium").arg("--version"))
                && quiet_ok(Command::new("chromedriver").arg("--version"))
        }
        Need::Firefox => quiet_ok(Command::new("firefox-esr").arg("--version")),
        Need::Geckodriver => quiet_ok(Command::new("geckodriver").arg("--version")),
        Need::PythonVenv => quiet_ok(Command::new("python3").args(["-c", "import venv, ensurepip"])),
        Need::Socat => quiet_ok(Command::new("socat").arg("-V")),
        Need::Nightly => quiet_ok(Command::new("rustc").args(["+nightly", "--version"])),
        Need::CargoFuzz => quiet_ok(Command::new("cargo").args(["fuzz", "--version"])),
    }
}

fn install(root: &Path, need: Need, apt_updated: &mut bool) -> Result<(), String> {
    let mut cmd = match need {
        Need::Rustfmt => rustup(root, &["component", "add", "rustfmt"]),
        Need::Clippy => rustup(root, &["component", "add", "clippy"]),
        Need::Wasm32Target => rustup(root, &["target", "add", "wasm32-unknown-unknown"]),
        Need::WasmBindgen => {
            return cargo_install(&["wasm-bindgen-cli", "--version", WASM_BINDGEN_VERSION, "--force"]);
        }
        Need::WasmPack => return cargo_install(&["wasm-pack"]),
        Need::Binaryen => return apt_install(&["binaryen"], apt_updated),
        Need::Chromium => return apt_install(&["chromium", "chromium-driver"], apt_updated),
        Need::Firefox => return apt_install(&["firefox-esr"], apt_updated),
        Need::Geckodriver => return cargo_install(&["geckodriver"]),
        Need::PythonVenv => return apt_install(&["python3", "python3-venv"], apt_updated),
        Need::Socat => return apt_install(&["socat"], apt_updated),
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

/// `cargo install`, with the crate's own lock file first; if that fails,
/// resolved afresh (seen: wasm-bindgen-cli 0.2.130's lock file names a
/// webpki-roots release the registry no longer serves).
fn cargo_install(args: &[&str]) -> Result<(), String> {
    let attempt = |locked: bool| {
        let mut c = Command::new("cargo");
        c.arg("install").args(args);
        if locked {
            c.arg("--locked");
        }
        c.status().is_ok_and(|s| s.success())
    };
    if attempt(true) || attempt(false) { Ok(()) } else { Err(format!("cargo install {} failed", args.join(" "))) }
}

/// `apt-get install` of Debian packages, unattended; `apt-get update` first,
/// once per run.
fn apt_install(packages: &[&str], updated: &mut bool) -> Result<(), String> {
    let apt = |args: &[&str]| -> Result<(), String> {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .status()
            .map_err(|e| format!("cannot run apt-get: {e}"))?;
        if status.success() { Ok(()) } else { Err(format!("apt-get {} failed ({status})", args.join(" "))) }
    };
    if !*updated {
        apt(&["update", "-q"])?;
        *updated = true;
    }
    let mut args = vec!["install", "-y", "-q"];
    args.extend_from_slice(packages);
    apt(&args)
}

/// rustup run from the project root, so it acts on the pinned toolchain.
fn rustup(root: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("rustup");
    c.current_dir(root).args(args);
    c
}
