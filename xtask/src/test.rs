//! `cargo xtask test`: every check in order, each step's outcome, and the
//! summary line; the browser steps (Chromium, Firefox) and the interop step
//! with the servers and drivers they start.

use crate::{browsers, build_wasm_package, cargo, run, setup};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

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

/// Runs every step, or only the steps named (`cargo xtask test interop e2e`,
/// for a developer's quick loop; the test command names none).
pub(crate) fn test(root: &Path, only: &[String]) -> Result<bool, String> {
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
    if let Some(unknown) = only.iter().find(|o| !steps.contains(&o.as_str())) {
        return Err(format!("no test step {unknown:?}; the steps are {}", steps.join(", ")));
    }
    for (i, name) in steps.iter().enumerate() {
        if !only.is_empty() && !only.iter().any(|o| o == name) {
            continue;
        }
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

/// `cargo test` of the page's end-to-end tests (tests/e2e; the browser is
/// `WSCOPE_E2E_BROWSER`, Chromium by default).
pub(crate) fn e2e_tests(root: &Path) -> Command {
    let mut c = cargo();
    c.current_dir(root).args(["test", "-p", "wscope-tests", "--features", "e2e", "--test", "e2e"]);
    c
}

/// A `wscope-server` started for tests on a free loopback port; killed on drop.
struct TestServer {
    child: std::process::Child,
    addr: String,
    /// Where each `--relay` listens, in order.
    relays: Vec<String>,
}

impl TestServer {
    fn start(root: &Path) -> Result<TestServer, String> {
        TestServer::start_with(root, &[])
    }

    /// The server with more arguments (`--relay …`).
    fn start_with(root: &Path, args: &[String]) -> Result<TestServer, String> {
        if !run(cargo().current_dir(root).args(["build", "-q", "-p", "wscope-server"]))? {
            return Err("wscope-server did not build".into());
        }
        let target_dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
        let mut child = Command::new(target_dir.join("debug").join("wscope-server"))
            .current_dir(root)
            .args(["--listen", "127.0.0.1:0", "--www"])
            .arg(root.join("www"))
            .args(args)
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
        // Then one line per relay, "relaying ws://ADDR/ to …", then "press Ctrl-C".
        let mut relays = Vec::new();
        for line in lines.by_ref().map_while(Result::ok) {
            if let Some(rest) = line.split("relaying ws://").nth(1) {
                relays.push(rest.split('/').next().unwrap_or_default().to_string());
            }
            if line.contains("Ctrl-C") {
                break;
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        if addr.is_empty() {
            let _ = child.kill();
            return Err(format!("wscope-server did not say where it listens (first line: {first:?})"));
        }
        println!("xtask: wscope-server for the tests at {addr}");
        Ok(TestServer { child, addr, relays })
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
    let echo = format!("ws://{}/echo", server.addr);
    let (direct_ok, direct_passed, direct_failed) = run_python(root, &python, "deflate_client.py", &[echo], counts)?;
    // The same client compressing through a relay to that /echo, every
    // message then read back from the relay's log.
    let log = target_dir.join("interop-relay.jsonl");
    let relay_args = [
        "--relay".to_string(),
        format!("127.0.0.1:0=ws://{}", server.addr),
        "--relay-log".to_string(),
        log.display().to_string(),
        "--relay-log-payload".to_string(),
        (4 << 20).to_string(),
    ];
    let relay = match TestServer::start_with(root, &relay_args) {
        Ok(s) => s,
        Err(e) => return Ok((false, e)),
    };
    let Some(relay_addr) = relay.relays.first() else {
        return Ok((false, "the relay did not say where it listens".into()));
    };
    let through = [format!("ws://{relay_addr}/echo"), log.display().to_string()];
    let (relay_ok, relay_passed, relay_failed) = run_python(root, &python, "relay_client.py", &through, counts)?;
    drop(relay);
    drop(server);
    let _ = std::fs::remove_file(&log);
    Ok((
        direct_ok && relay_ok,
        format!(
            "Python websockets (permessage-deflate) against /echo: {direct_passed} passed, {direct_failed} failed; \
             through the relay, decoded from its log: {relay_passed} passed, {relay_failed} failed"
        ),
    ))
}

/// Runs one interop script; its last line says "interop: N passed, M
/// failed". Returns whether it succeeded with something passed, and the
/// two counts (added to `counts`).
fn run_python(
    root: &Path,
    python: &Path,
    script: &str,
    args: &[String],
    counts: &mut TestCounts,
) -> Result<(bool, u64, u64), String> {
    let script = root.join("tests").join("interop").join(script);
    let out = Command::new(python)
        .arg(&script)
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
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
    Ok((out.status.success() && passed > 0 && failed == 0, passed, failed))
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
