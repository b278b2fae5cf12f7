//! Project commands, in the cargo-xtask convention: `cargo xtask <command>`.
//!
//! `cargo xtask test` is the one command that checks everything: it installs
//! what is missing (see `setup.rs`), then runs each step, keeps going after a
//! failure so one run reports everything, and ends with a summary whose last
//! line is `summary: N passed, M failed`.
//!
//! Only the standard library is used, so this compiles in seconds on a
//! fresh machine before anything else is there.

mod bench;
mod bench_check;
mod bench_relay;
mod browsers;
mod procs;
mod setup;
mod soak;
mod test;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const HELP: &str = "\
wscope project commands

USAGE:
    cargo xtask <COMMAND> [OPTIONS]

COMMANDS:
    run [-- ARGS]   Build the server (release) and start it: the explorer at
                    http://127.0.0.1:8080/ and the echo at ws://127.0.0.1:8080/echo.
                    ARGS go to wscope-server (e.g. -- --listen 127.0.0.1:9000;
                    -- --help lists every flag and limit).
    test            Install what is missing, then run every check:
                    rustfmt, clippy (-D warnings), cargo test --workspace,
                    wscope-core built for wasm32-unknown-unknown, the check
                    that wscope-core depends on no async runtime, the wasm
                    package, the wasm tests in headless Chromium and Firefox
                    ESR against a live server, the page end to end in both
                    (chromedriver, geckodriver), and
                    the Python websockets client (permessage-deflate)
                    against the server.
                    Ends with 'summary: N passed, M failed'.
    browsers-doc    Write docs/BROWSERS.md again from the last end-to-end runs
                    in both browsers (target/e2e/; `test` does it too).
    setup           Install everything the project can need (idempotent):
                    the wasm32 target, rustfmt, clippy, wasm-bindgen-cli,
                    wasm-pack, binaryen, Chromium and chromedriver, Firefox
                    ESR and geckodriver, nightly and cargo-fuzz.
    fuzz [SECONDS]  Run each cargo-fuzz target of wscope-core for SECONDS
                    (default 60); needs the nightly toolchain and cargo-fuzz,
                    which it installs if missing.
    bench [WHAT]    Benchmarks against tokio-tungstenite and fastwebsockets,
                    measured in the same run, with ratios: echo (closed-loop
                    msgs/s and latency, servers pinned to CPU 0, load on
                    CPU 1), memory (RSS per idle connection at 1000 and
                    10000), wasm (module size), codec (criterion). See
                    `cargo xtask bench --help` and BENCHMARKS.md.
    soak [--conns N] [--seconds S] [--size B]
                    Reliability under load: N connections (default 10000)
                    to one wscope-server (2 worker threads, both cores),
                    each echoing distinct messages for S seconds (default
                    60), every echo checked; reports errors, lost
                    messages and the server's memory before, during and
                    after. Exits 1 on any error. See RELIABILITY.md.
    help            This text.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    let result = match args.first().map(String::as_str) {
        Some("test") => test::test(&root, args.get(1..).unwrap_or_default()),
        Some("run") => run_server(&root, args.get(1..).unwrap_or_default()),
        Some("setup") => setup::ensure(&root, setup::ALL).map(|()| true),
        Some("fuzz") => fuzz(&root, args.get(1).map(String::as_str)),
        Some("bench") => bench::bench(&root, args.get(1..).unwrap_or_default()),
        Some("soak") => soak::soak(&root, args.get(1..).unwrap_or_default()),
        Some("browsers-doc") => browsers::write_doc(&root).map(|said| {
            println!("{said}");
            true
        }),
        None | Some("help" | "--help" | "-h") => {
            print!("{HELP}");
            Ok(true)
        }
        Some(other) => Err(format!("unknown command {other:?}; see `cargo xtask help`")),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn project_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

pub(crate) fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs a command, streaming its output; true if it exited 0.
pub(crate) fn run(cmd: &mut Command) -> Result<bool, String> {
    let status = cmd.status().map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    Ok(status.success())
}

/// Builds the two wasm crates into `www/pkg/` (ES modules for the page).
pub(crate) fn build_wasm_package(root: &Path) -> Result<bool, String> {
    // cargo + the wasm-bindgen CLI rather than `wasm-pack build`: the
    // `wasm-release` profile (size-optimised, fat LTO) and
    // `--remove-name-section` take the module from 210 KB to 145 KB
    // (80 KB to 55 KB gzipped); wasm-pack has no switch for the latter.
    // Two modules: the explorer's, and the builder's compressor, which the
    // page loads only when someone first compresses (wasm-compress/).
    let built = run(cargo().current_dir(root).args([
        "build",
        "-p",
        "wscope-wasm",
        "-p",
        "wscope-wasm-compress",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        "wasm-release",
    ]))?;
    if !built {
        return Ok(false);
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    for name in ["wscope_wasm", "wscope_wasm_compress"] {
        let module = target_dir.join("wasm32-unknown-unknown").join("wasm-release").join(format!("{name}.wasm"));
        let bound = run(Command::new("wasm-bindgen")
            .arg(&module)
            .arg("--out-dir")
            .arg(root.join("www").join("pkg"))
            .args(["--target", "web", "--no-typescript", "--remove-name-section", "--remove-producers-section"]))?;
        if !bound {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Builds the release server and replaces this process with it, so Ctrl-C
/// and SIGTERM reach the server itself (it shuts down gracefully).
fn run_server(root: &Path, args: &[String]) -> Result<bool, String> {
    let args: Vec<&String> = args.iter().skip_while(|a| a.as_str() == "--").collect();
    setup::ensure(root, setup::FOR_RUN)?;
    println!("==> building the explorer's wasm package (cargo + wasm-bindgen)");
    if !build_wasm_package(root)? {
        return Err("the wasm package did not build".into());
    }
    println!("==> building wscope-server (release)");
    if !run(cargo().current_dir(root).args(["build", "--release", "-p", "wscope-server"]))? {
        return Err("the server did not build".into());
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let binary = target_dir.join("release").join("wscope-server");
    let mut server = Command::new(&binary);
    server.current_dir(root).arg("--www").arg(root.join("www")).args(&args);
    println!("==> {}", binary.display());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let e = server.exec();
        Err(format!("cannot start {}: {e}", binary.display()))
    }
    #[cfg(not(unix))]
    {
        run(&mut server)
    }
}

fn fuzz(root: &Path, seconds: Option<&str>) -> Result<bool, String> {
    let seconds: u64 = match seconds {
        None => 60,
        Some(s) => s.parse().map_err(|_| format!("SECONDS must be a whole number, got {s:?}"))?,
    };
    setup::ensure(root, setup::FOR_FUZZ)?;
    let core = root.join("core");
    let mut all_ok = true;
    for target in ["frame_header", "handshake", "connection", "deflate", "explorer_inspect"] {
        println!("\n==> fuzz {target} for {seconds}s");
        let ok = run(Command::new("cargo").current_dir(&core).args([
            "+nightly",
            "fuzz",
            "run",
            "-O",
            target,
            "--",
            &format!("-max_total_time={seconds}"),
            "-max_len=4096",
            "-print_final_stats=1",
        ]))?;
        all_ok &= ok;
    }
    Ok(all_ok)
}
