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
mod browsers;
mod procs;
mod setup;
mod soak;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

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
        Some("test") => test(&root),
        Some("run") => run_server(&root, args.get(1..).unwrap_or_default()),
        Some("setup") => setup::ensure(&root, setup::ALL).map(|()| true),
        Some("fuzz") => fuzz(&root, args.get(1).map(String::as_str)),
        Some("bench") => bench::bench(&root, args.get(1..).unwrap_or_default()),
        Some("soak") => soak::soak(&root, args.get(1..).unwrap_or_default()),
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

/// One step's outcome in the summary.
struct Outcome {
    name: &'static str,
    ok: bool,
    seconds: f64,
    detail: String,
}

/// Counts from cargo test's `test result:` lines.
#[derive(Default)]
struct TestCounts {
    passed: u64,
    failed: u64,
    ignored: u64,
    binaries: u64,
    /// The browsers wasm-bindgen's runner said it ran tests in.
    browsers: Vec<String>,
}

impl TestCounts {
    /// Parses `test result: ok. 37 passed; 0 failed; 0 ignored; ...`.
    fn add_line(&mut self, line: &str) {
        if let Some(rest) = line.trim_start().strip_prefix("Running headless tests in ") {
            self.browsers.push(rest.split(" on ").next().unwrap_or(rest).to_owned());
        }
        let Some(rest) = line.trim_start().strip_prefix("test result: ") else { return };
        self.binaries += 1;
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(kind), Some(n)) = (words.next(), words.next()) else { continue };
            let Ok(n) = n.parse::<u64>() else { continue };
            match kind {
                "passed" => self.passed += n,
                "failed" => self.failed += n,
                "ignored" => self.ignored += n,
                _ => {}
            }
        }
    }
}

pub(crate) fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs a command, streaming its output; true if it exited 0.
pub(crate) fn run(cmd: &mut Command) -> Result<bool, String> {
    let status = cmd.status().map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    Ok(status.success())
}

fn test(root: &Path) -> Result<bool, String> {
    let started = Instant::now();
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut counts = TestCounts::default();
    let steps: [&'static str; 12] = [
        "setup",
        "fmt",
        "clippy",
        "test",
        "wasm32",
        "core-deps",
        "wasm-pkg",
        "browser",
        "firefox",
        "e2e",
        "e2e-ff",
        "interop",
    ];
    for (i, name) in steps.iter().enumerate() {
        println!("\n==> [{}/{}] {name}", i + 1, steps.len());
        let t = Instant::now();
        let (ok, detail) = match *name {
            "setup" => match setup::ensure(root, setup::FOR_TEST) {
                Ok(()) => (true, String::from("toolchain ready")),
                Err(e) => (false, e),
            },
            "fmt" => step(run(cargo().current_dir(root).args(["fmt", "--all", "--", "--check"])), "rustfmt --check"),
            "clippy" => step(
                run(cargo().current_dir(root).args([
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--all-features",
                    "--",
                    "-D",
                    "warnings",
                ])),
                "clippy -D warnings",
            ),
            "test" => {
                let ok = cargo_test(root, &mut counts)?;
                (
                    ok,
                    format!(
                        "{} passed, {} failed, {} ignored in {} test binaries",
                        counts.passed, counts.failed, counts.ignored, counts.binaries
                    ),
                )
            }
            "wasm32" => step(
                run(cargo().current_dir(root).args([
                    "build",
                    "-p",
                    "wscope-core",
                    "--target",
                    "wasm32-unknown-unknown",
                ])),
                "wscope-core builds for wasm32-unknown-unknown",
            ),
            "core-deps" => core_has_no_runtime(root)?,
            "wasm-pkg" => step(build_wasm_package(root), "www/pkg built (cargo, profile wasm-release, wasm-bindgen)"),
            "browser" => browser_tests(root, Browser::Chromium, &mut counts)?,
            "firefox" => browser_tests(root, Browser::Firefox, &mut counts)?,
            "e2e" | "e2e-ff" => {
                let browser = if *name == "e2e" { Browser::Chromium } else { Browser::Firefox };
                let before = counts.passed;
                let ok = run_counting(e2e_tests(root).env("WSCOPE_E2E_BROWSER", browser.key()), &mut counts)?;
                let ran = counts.passed - before;
                let mut detail = format!(
                    "the page in {} via {}: {ran} passed; screenshots in target/e2e/{}/",
                    browser.name(),
                    browser.driver(),
                    browser.key()
                );
                // After the second browser: what each sends, as a table.
                let mut doc_ok = true;
                if *name == "e2e-ff" && ok {
                    match browsers::write_doc(root) {
                        Ok(written) => detail.push_str(&format!("; {written}")),
                        Err(e) => {
                            doc_ok = false;
                            detail.push_str(&format!("; docs/BROWSERS.md not written: {e}"));
                        }
                    }
                }
                (ok && ran > 0 && doc_ok, detail)
            }
            "interop" => interop(root, &mut counts)?,
            _ => unreachable!("every step is handled"),
        };
        outcomes.push(Outcome { name, ok, seconds: t.elapsed().as_secs_f64(), detail });
        if *name == "setup" && !ok {
            println!("xtask: set-up failed; the other steps cannot run");
            break;
        }
    }
    let failed_steps = outcomes.iter().filter(|o| !o.ok).count() as u64;
    println!("\n==> summary ({:.0}s)", started.elapsed().as_secs_f64());
    for o in &outcomes {
        println!("  {:<4}  {:<10} {:>6.1}s  {}", if o.ok { "ok" } else { "FAIL" }, o.name, o.seconds, o.detail);
    }
    // Failed steps other than the test step itself count as failures too, so
    // the closing line can never say "0 failed" when something broke.
    let failed_other = outcomes.iter().filter(|o| !o.ok && o.name != "test").count() as u64;
    let test_step_failed_without_counts = outcomes.iter().any(|o| !o.ok && o.name == "test") && counts.failed == 0;
    let failed = counts.failed + failed_other + u64::from(test_step_failed_without_counts);
    println!("summary: {} passed, {} failed", counts.passed, failed);
    Ok(failed_steps == 0)
}

/// Builds the wasm crate into `www/pkg/` (ES module for the page).
/// `cargo test` of the page's end-to-end tests (tests/e2e; the browser is
/// `WSCOPE_E2E_BROWSER`, Chromium by default).
pub(crate) fn e2e_tests(root: &Path) -> Command {
    let mut c = cargo();
    c.current_dir(root).args(["test", "-p", "wscope-tests", "--features", "e2e", "--test", "e2e"]);
    c
}

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

/// A `wscope-server` started for tests on a free loopback port; killed on drop.
struct TestServer {
    child: std::process::Child,
    addr: String,
}

impl TestServer {
    fn start(root: &Path) -> Result<TestServer, String> {
        if !run(cargo().current_dir(root).args(["build", "-q", "-p", "wscope-server"]))? {
            return Err("wscope-server did not build".into());
        }
        let target_dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
        let mut child = Command::new(target_dir.join("debug").join("wscope-server"))
            .current_dir(root)
            .args(["--listen", "127.0.0.1:0", "--www"])
            .arg(root.join("www"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start wscope-server: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout from wscope-server")?;
        let mut lines = BufReader::new(stdout).lines();
        // The first line says where it listens: "... at http://ADDR/ ...".
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let addr =
            first.split("http://").nth(1).and_then(|rest| rest.split('/').next()).unwrap_or_default().to_string();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        if addr.is_empty() {
            let _ = child.kill();
            return Err(format!("wscope-server did not say where it listens (first line: {first:?})"));
        }
        println!("xtask: wscope-server for the tests at {addr}");
        Ok(TestServer { child, addr })
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The browsers the tests run in.
#[derive(Clone, Copy, Debug)]
enum Browser {
    Chromium,
    Firefox,
}

impl Browser {
    /// The key tests and directories use.
    fn key(self) -> &'static str {
        match self {
            Browser::Chromium => "chromium",
            Browser::Firefox => "firefox",
        }
    }
    fn name(self) -> &'static str {
        match self {
            Browser::Chromium => "Chromium",
            Browser::Firefox => "Firefox ESR",
        }
    }
    fn driver(self) -> &'static str {
        match self {
            Browser::Chromium => "chromedriver",
            Browser::Firefox => "geckodriver",
        }
    }
}

/// `wasm-pack test --headless --chrome` (or `--firefox`) in `wasm/`, against
/// a running server whose address the live test is compiled with.
fn browser_tests(root: &Path, browser: Browser, counts: &mut TestCounts) -> Result<(bool, String), String> {
    let server = match TestServer::start(root) {
        Ok(s) => s,
        Err(e) => return Ok((false, e)),
    };
    let before = (counts.passed, counts.failed);
    let flag = match browser {
        Browser::Chromium => "--chrome",
        Browser::Firefox => "--firefox",
    };
    let mut cmd = Command::new("wasm-pack");
    cmd.current_dir(root.join("wasm")).args(["test", "--headless", flag]).env("WSCOPE_TEST_SERVER", &server.addr);
    // The test runner picks its browser by which driver variable is set
    // (geckodriver's first), whatever wasm-pack's flag says: set only this
    // browser's, and clear the other's.
    match browser {
        Browser::Chromium => cmd.env("CHROMEDRIVER", "chromedriver").env_remove("GECKODRIVER"),
        Browser::Firefox => cmd.env("GECKODRIVER", "geckodriver").env_remove("CHROMEDRIVER"),
    };
    counts.browsers.clear();
    let ok = run_counting(&mut cmd, counts)?;
    drop(server);
    let (passed, failed) = (counts.passed - before.0, counts.failed - before.1);
    // What the runner says it ran in, not what was asked.
    let expected = match browser {
        Browser::Chromium => "Chrome",
        Browser::Firefox => "Firefox",
    };
    let ran_in: Vec<&String> = counts.browsers.iter().collect();
    let right_browser = !ran_in.is_empty() && ran_in.iter().all(|b| b.as_str() == expected);
    let detail = format!(
        "wasm-pack test --headless {flag}: {passed} passed, {failed} failed, run in {}",
        if ran_in.is_empty() { "no browser".to_owned() } else { ran_in[0].clone() }
    );
    if !right_browser {
        return Ok((false, format!("{detail} (expected {expected}; the runner said {ran_in:?})")));
    }
    Ok((ok && passed > 0, detail))
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

fn step(result: Result<bool, String>, what: &str) -> (bool, String) {
    match result {
        Ok(true) => (true, what.to_string()),
        Ok(false) => (false, format!("{what}: failed")),
        Err(e) => (false, e),
    }
}

/// `cargo test --workspace`, echoing its output and counting results.
fn cargo_test(root: &Path, counts: &mut TestCounts) -> Result<bool, String> {
    run_counting(cargo().current_dir(root).args(["test", "--workspace", "--no-fail-fast"]), counts)
}

/// Runs a test command, echoing its output and counting `test result:` lines.
fn run_counting(cmd: &mut Command, counts: &mut TestCounts) -> Result<bool, String> {
    let mut child = cmd.stdout(Stdio::piped()).spawn().map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let line = line.map_err(|e| format!("reading test output: {e}"))?;
            println!("{line}");
            counts.add_line(&line);
        }
    }
    let status = child.wait().map_err(|e| format!("waiting for {cmd:?}: {e}"))?;
    Ok(status.success())
}

/// The Python `websockets` package the interop step installs (once, into
/// `target/interop-venv`).
const PY_WEBSOCKETS: &str = "websockets>=14,<18";

/// An independent permessage-deflate implementation (Python `websockets`,
/// zlib underneath) as the client of a running server's `/echo`.
fn interop(root: &Path, counts: &mut TestCounts) -> Result<(bool, String), String> {
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let venv = target_dir.join("interop-venv");
    let python = venv.join("bin").join("python");
    let has_websockets = |py: &Path| {
        Command::new(py)
            .args(["-c", "import websockets"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !has_websockets(&python) {
        println!("xtask: making {} with {PY_WEBSOCKETS}", venv.display());
        if !python.exists() && !run(Command::new("python3").arg("-m").arg("venv").arg(&venv))? {
            return Ok((false, "python3 -m venv failed".into()));
        }
        if !run(Command::new(&python).args(["-m", "pip", "install", "--quiet", PY_WEBSOCKETS]))? {
            return Ok((false, format!("pip install {PY_WEBSOCKETS} failed")));
        }
    }
    let server = match TestServer::start(root) {
        Ok(s) => s,
        Err(e) => return Ok((false, e)),
    };
    let script = root.join("tests").join("interop").join("deflate_client.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(format!("ws://{}/echo", server.addr))
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    drop(server);
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    let last = text.lines().last().unwrap_or_default();
    let (mut passed, mut failed) = (0u64, 0u64);
    if let Some(rest) = last.strip_prefix("interop: ") {
        for part in rest.split(',') {
            let mut w = part.split_whitespace();
            match (w.next().and_then(|n| n.parse().ok()), w.next()) {
                (Some(n), Some("passed")) => passed = n,
                (Some(n), Some("failed")) => failed = n,
                _ => {}
            }
        }
    }
    counts.passed += passed;
    counts.failed += failed;
    let ok = out.status.success() && passed > 0 && failed == 0;
    Ok((ok, format!("Python websockets (permessage-deflate) against /echo: {passed} passed, {failed} failed")))
}

/// The core must stay sans-IO: no async runtime among its dependencies.
fn core_has_no_runtime(root: &Path) -> Result<(bool, String), String> {
    let out = cargo()
        .current_dir(root)
        .args(["tree", "-p", "wscope-core", "-e", "normal", "--prefix", "none"])
        .output()
        .map_err(|e| format!("cannot run cargo tree: {e}"))?;
    if !out.status.success() {
        return Ok((false, "cargo tree failed".into()));
    }
    let tree = String::from_utf8_lossy(&out.stdout);
    let forbidden = ["tokio", "async-std", "smol", "mio", "futures"];
    let found: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| forbidden.iter().any(|f| name == f || name.starts_with(&format!("{f}-"))))
        .collect();
    let deps = tree.lines().count().saturating_sub(1);
    if found.is_empty() {
        Ok((true, format!("wscope-core: {deps} normal dependencies, no async runtime")))
    } else {
        Ok((false, format!("wscope-core depends on {}", found.join(", "))))
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

#[cfg(test)]
mod tests {
    use super::TestCounts;

    #[test]
    fn counts_cargo_test_result_lines() {
        let mut c = TestCounts::default();
        c.add_line("test result: ok. 37 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s");
        c.add_line("test result: FAILED. 5 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out");
        c.add_line("test foo ... ok");
        c.add_line("running 3 tests");
        assert_eq!((c.passed, c.failed, c.ignored, c.binaries), (42, 2, 1, 2));
    }
}
