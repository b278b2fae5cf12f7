//! `cargo xtask bench`: the echo benchmark, the idle-memory measurement,
//! the wasm size report and the codec micro-benchmarks, each measuring
//! wscope against its peers in the same run and printing ratios.
//!
//! Echo: every server (wscope-server, tokio-tungstenite, fastwebsockets,
//! and a raw TCP echo that is the load generator's ceiling) runs pinned to
//! CPU 0 with one worker thread; `wscope-load` runs pinned to CPU 1. For
//! each case the servers take turns (A B C D), over several rounds; the
//! tables give the median of the rounds. Results are printed as Markdown
//! and written to `target/bench/`.

use crate::procs::{Kind, Samples, ServerProc, can_pin, figures, load, machine, median, target_dir};
use crate::{cargo, run, setup};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

pub(crate) const HELP: &str = "\
cargo xtask bench [WHAT] [--rounds N] [--seconds S]

WHAT (default: echo memory wasm deflate relay check):
    echo     closed-loop echo: msgs/s, p50/p99, server and load CPU, ratios
    memory   resident memory per idle connection at 1000 and 10000 connections
    wasm     raw and gzip size of the explorer's wasm module, twiggy top
    deflate  permessage-deflate: echo and memory per connection, compressed
             against plain (/echo?deflate=off) on the same server, same run
    codec    cargo bench -p wscope-bench --bench codec (criterion, several minutes)
    relay    echo direct, through a transparent --relay and through socat to the
             same wscope-server (100 × 1 KiB, 100 × 16 KiB); relay memory per
             idle relayed connection
    check    wscope-check's cases 1–13 against wscope-server with --jobs 1, 2, 4
             (once each): seconds, per case, by chapter; with
             WSCOPE_AUTOBAHN=PATH/run.sh Autobahn's fuzzingclient too
    live     the explorer's live panel in Chromium: milliseconds per tap record
             over 20 000 echoed messages (WSCOPE_LIVE_MESSAGES), by tenths
    all      all of the above
--rounds N   echo rounds, servers interleaved in each (default 3)
--seconds S  measuring window per echo run (default 2; plus 0.5 s warm-up)
--case CxSxP only this echo case (connections x payload bytes x pipeline
             depth, e.g. 1000x1024x8); repeatable; default: every case
";

/// (connections, payload bytes, pipeline depth).
const CASES: [(u32, u32, u32); 8] = [
    (1, 20, 1),
    (100, 20, 1),
    (100, 1024, 1),
    (100, 16384, 1),
    (1000, 1024, 1),
    (1000, 1024, 8),
    (100, 20, 16),
    (100, 16384, 16),
];

struct Options {
    what: Vec<String>,
    rounds: u32,
    seconds: f64,
    /// Only these echo cases (`--case CONNSxSIZExPIPELINE`); all when empty.
    cases: Vec<(u32, u32, u32)>,
}

/// `100x1024x1` as (connections, payload bytes, pipeline depth).
fn parse_case(v: &str) -> Option<(u32, u32, u32)> {
    let mut it = v.split('x').map(|n| n.parse::<u32>().ok().filter(|n| *n > 0));
    let case = (it.next()??, it.next()??, it.next()??);
    it.next().is_none().then_some(case)
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options { what: Vec::new(), rounds: 3, seconds: 2.0, cases: Vec::new() };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--rounds" => {
                o.rounds = it.next().and_then(|v| v.parse().ok()).filter(|n| *n > 0).ok_or("--rounds needs N >= 1")?
            }
            "--seconds" => {
                o.seconds =
                    it.next().and_then(|v| v.parse().ok()).filter(|s| *s > 0.0).ok_or("--seconds needs S > 0")?
            }
            "--case" => o.cases.push(
                it.next().and_then(|v| parse_case(v)).ok_or("--case needs CONNSxSIZExPIPELINE, e.g. 1000x1024x8")?,
            ),
            "-h" | "--help" => {
                print!("{HELP}");
                std::process::exit(0);
            }
            "echo" | "memory" | "wasm" | "deflate" | "relay" | "check" | "codec" | "live" => o.what.push(a.clone()),
            "all" => o
                .what
                .extend(["echo", "memory", "wasm", "deflate", "relay", "check", "codec", "live"].map(String::from)),
            other => return Err(format!("unknown bench argument {other:?}\n{HELP}")),
        }
    }
    if o.what.is_empty() {
        o.what.extend(["echo", "memory", "wasm", "deflate", "relay", "check"].map(String::from));
    }
    Ok(o)
}

pub(crate) fn bench(root: &Path, args: &[String]) -> Result<bool, String> {
    let o = parse(args)?;
    let out_dir = target_dir(root).join("bench");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let mut report = String::new();
    report.push_str(&machine());
    let mut ok = true;
    if o.what.iter().any(|w| ["echo", "memory", "deflate", "relay", "check"].contains(&w.as_str())) {
        println!("==> building the servers, the load generator and the checker (release)");
        let build = ["build", "--release", "-p", "wscope-server", "-p", "wscope-bench", "-p", "wscope-check"];
        if !run(cargo().current_dir(root).args(build))? {
            return Err("the benchmark binaries did not build".into());
        }
    }
    for what in &o.what {
        let section = match what.as_str() {
            "echo" => echo(root, &o)?,
            "memory" => memory(root)?,
            "wasm" => wasm(root)?,
            "check" => crate::bench_check::check(root)?,
            "deflate" => deflate(root, &o)?,
            "relay" => crate::bench_relay::relay(root, o.rounds, o.seconds, |url, conns, size, pid| {
                echo_args(url, conns, size, &o, pid)
            })?,
            "live" => {
                println!("==> the live panel in Chromium (tests/e2e, live_panel_cost_per_record)");
                setup::ensure(root, &[setup::Need::Wasm32Target, setup::Need::WasmBindgen, setup::Need::Chromium])?;
                ok &= crate::build_wasm_package(root)?;
                ok &= run(crate::test::e2e_tests(root).env("CHROMEDRIVER", "chromedriver").args([
                    "--",
                    "--ignored",
                    "--exact",
                    "live_panel_cost_per_record",
                    "--nocapture",
                ]))?;
                continue;
            }
            "codec" => {
                println!("==> cargo bench -p wscope-bench --bench codec");
                ok &= run(cargo().current_dir(root).args(["bench", "-p", "wscope-bench", "--bench", "codec"]))?;
                continue;
            }
            _ => continue,
        };
        println!("\n{section}");
        report.push_str(&section);
        report.push('\n');
    }
    let path = out_dir.join("report.md");
    std::fs::write(&path, &report).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("xtask: report written to {}", path.display());
    Ok(ok)
}

fn echo(root: &Path, o: &Options) -> Result<String, String> {
    let kinds = [Kind::Wscope, Kind::Tungstenite, Kind::Fastwebsockets, Kind::Raw];
    let servers: Vec<(Kind, ServerProc)> =
        kinds.iter().map(|k| ServerProc::start(root, *k).map(|s| (*k, s))).collect::<Result<_, _>>()?;
    if !can_pin() {
        println!("xtask: warning: fewer than 2 CPUs or no taskset: servers and load generator are not pinned");
    }
    let mut results: BTreeMap<((u32, u32, u32), Kind), Samples> = BTreeMap::new();
    let started = Instant::now();
    let cases: Vec<(u32, u32, u32)> = if o.cases.is_empty() { CASES.to_vec() } else { o.cases.clone() };
    let total = o.rounds as usize * cases.len() * kinds.len();
    let mut done = 0usize;
    for round in 1..=o.rounds {
        for &case in &cases {
            let (conns, size, pipeline) = case;
            for (kind, server) in &servers {
                let mut args = echo_args(&server.url, conns, size, o, server.pid());
                args.extend(["--pipeline".into(), pipeline.to_string()]);
                if *kind == Kind::Raw {
                    args.push("--raw".into());
                }
                let r = load(root, &args)?;
                done += 1;
                println!(
                    "[{done}/{total} {:>4.0}s] round {round} {:<24} conns={conns:<5} size={size:<6} pipeline={pipeline:<3} {}",
                    started.elapsed().as_secs_f64(),
                    kind.name(),
                    figures(&r),
                );
                results.entry((case, *kind)).or_default().add(&r);
            }
        }
    }
    drop(servers);
    let mut t = format!(
        "## Echo (closed loop; median of {} rounds, {} s each; server on CPU 0 with 1 worker, load generator on CPU 1)\n\n",
        o.rounds, o.seconds
    );
    t.push_str(
        "| conns | size | pipeline | server | msgs/s | p50 µs | p99 µs | p99 ÷ p50 | server CPU | server µs/msg | load CPU | wscope ÷ this |\n",
    );
    t.push_str("|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for &case in &cases {
        let (conns, size, pipeline) = case;
        let ours = results.get(&(case, Kind::Wscope)).map_or(f64::NAN, |s| median(s.rate.clone()));
        for kind in kinds {
            let Some(s) = results.get(&(case, kind)) else { continue };
            let rate = median(s.rate.clone());
            let ratio = if kind == Kind::Wscope { "—".to_string() } else { format!("{:.2}×", ours / rate) };
            t.push_str(&format!(
                "| {conns} | {} | {pipeline} | {} | {:.0} | {:.0} | {:.0} | {:.1} | {:.2} | {:.2} | {:.2} | {ratio} |\n",
                human_size(size),
                kind.name(),
                rate,
                median(s.p50.clone()),
                median(s.p99.clone()),
                median(s.tail.clone()),
                median(s.server_cpu.clone()),
                median(s.cpu_per_msg.clone()),
                median(s.load_cpu.clone()),
            ));
        }
    }
    Ok(t)
}

/// (connections, payload bytes) for the compressed echo.
const DEFLATE_CASES: [(u32, u32); 4] = [(1, 1024), (100, 1024), (100, 16384), (1000, 1024)];

/// permessage-deflate against plain frames on the same wscope-server (its
/// defaults: both windows 15 bits, context takeover, level 6), the same
/// English-like text both ways (about 3:1 compressible): the generator
/// sends a pre-compressed frame and inflates and checks every echo.
fn deflate(root: &Path, o: &Options) -> Result<String, String> {
    // Every connection of the run may compress (the default cap is 256).
    let uncapped = ["--deflate-max-connections", "20000"];
    let server = ServerProc::start_with(root, Kind::Wscope, &uncapped)?;
    let plain_url = format!("{}?deflate=off", server.url);
    let forms: [(&str, bool); 2] = [("compressed", true), ("plain", false)];
    let mut results: BTreeMap<((u32, u32), bool), Samples> = BTreeMap::new();
    let started = Instant::now();
    let total = o.rounds as usize * DEFLATE_CASES.len() * forms.len();
    let mut done = 0usize;
    for round in 1..=o.rounds {
        for case @ (conns, size) in DEFLATE_CASES {
            for (name, compressed) in forms {
                let url = if compressed { &server.url } else { &plain_url };
                let mut args = echo_args(url, conns, size, o, server.pid());
                args.push("--text".into());
                if compressed {
                    args.push("--deflate".into());
                }
                let r = load(root, &args)?;
                done += 1;
                println!(
                    "[{done}/{total} {:>4.0}s] round {round} deflate {name:<10} conns={conns:<5} size={size:<6} {}",
                    started.elapsed().as_secs_f64(),
                    figures(&r),
                );
                results.entry((case, compressed)).or_default().add(&r);
            }
        }
    }
    drop(server);
    let mut t = format!(
        "## permessage-deflate echo (wscope-server; median of {} rounds, {} s each; text about 3:1 compressible)\n\n",
        o.rounds, o.seconds
    );
    t.push_str(
        "| conns | size | frames | msgs/s | p50 µs | p99 µs | server CPU | server µs/msg | load CPU | text ÷ wire | compressed ÷ plain |\n",
    );
    t.push_str("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for case @ (conns, size) in DEFLATE_CASES {
        let plain = results.get(&(case, false)).map_or(f64::NAN, |s| median(s.rate.clone()));
        for (name, compressed) in forms {
            let Some(s) = results.get(&(case, compressed)) else { continue };
            let rate = median(s.rate.clone());
            let ratio = if compressed { format!("{:.2}×", rate / plain) } else { "—".to_string() };
            let wire = if compressed { format!("{:.2}", median(s.deflate_ratio.clone())) } else { "—".to_string() };
            t.push_str(&format!(
                "| {conns} | {} | {name} | {:.0} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {wire} | {ratio} |\n",
                human_size(size),
                rate,
                median(s.p50.clone()),
                median(s.p99.clone()),
                median(s.server_cpu.clone()),
                median(s.cpu_per_msg.clone()),
                median(s.load_cpu.clone()),
            ));
        }
    }
    t.push_str(
        "\n## Memory per connection with permessage-deflate (N compressed 1 KiB messages each way, then idle for the settle time)\n\n",
    );
    t.push_str(
        "| server flags | frames | messages | settle | connections | RSS before (KiB) | RSS after (KiB) | per connection (KiB) |\n",
    );
    t.push_str("|---|---|---:|---:|---:|---:|---:|---:|\n");
    // (label, server flags, compressed, messages per connection, settle):
    // parked (the default: after 1 s quiet) with its pages given back (the
    // server's jemalloc purges freed pages over about ten seconds, on its
    // background thread), parked with full histories, parked but not yet
    // purged, not yet parked, never parked, and the older ways to save
    // memory.
    let no_park: &[&str] = &["--deflate-park-after", "0"];
    let variants: [(&str, &[&str], bool, u32, &str); 8] = [
        ("defaults (parked after 1 s quiet)", &[], true, 1, "12s"),
        ("defaults, histories full", &[], true, 64, "12s"),
        ("defaults, parked, pages not yet purged", &[], true, 1, "2s"),
        ("defaults, before parking", &[], true, 1, "300ms"),
        ("--deflate-park-after 0 (never parks)", no_park, true, 1, "2s"),
        (
            "--deflate-park-after 0 --deflate-level 1",
            &["--deflate-park-after", "0", "--deflate-level", "1"],
            true,
            1,
            "2s",
        ),
        (
            "--deflate-park-after 0 --deflate-server-no-context-takeover",
            &["--deflate-park-after", "0", "--deflate-server-no-context-takeover"],
            true,
            1,
            "2s",
        ),
        ("defaults", &[], false, 1, "2s"),
    ];
    for (label, flags, compressed, messages, settle) in variants {
        let server = ServerProc::start_with(root, Kind::Wscope, &[flags, &uncapped[..]].concat())?;
        let url = if compressed { server.url.clone() } else { format!("{}?deflate=off", server.url) };
        let mut args: Vec<String> = vec![
            "idle".into(),
            "--url".into(),
            url,
            "--conns".into(),
            "1000".into(),
            "--messages".into(),
            messages.to_string(),
            "--settle".into(),
            settle.into(),
            "--server-pid".into(),
            server.pid().to_string(),
        ];
        if compressed {
            args.push("--deflate".into());
        }
        let r = load(root, &args)?;
        let frames = if compressed { "compressed" } else { "plain (20 B)" };
        println!(
            "memory: deflate {label:<40} {frames:<12} {} KiB per connection",
            r.get("per_conn_kib").map_or("-", String::as_str)
        );
        t.push_str(&format!(
            "| {label} | {frames} | {messages} | {settle} | {} | {} | {} | {} |\n",
            r.get("conns").map_or("-", String::as_str),
            r.get("rss_before_kib").map_or("-", String::as_str),
            r.get("rss_after_kib").map_or("-", String::as_str),
            r.get("per_conn_kib").map_or("-", String::as_str),
        ));
    }
    Ok(t)
}

/// `wscope-load echo` against `url`: C connections of S-byte messages, the
/// run's warm-up and window, the server's CPU read from `pid`.
fn echo_args(url: &str, conns: u32, size: u32, o: &Options, pid: u32) -> Vec<String> {
    vec![
        "echo".into(),
        "--url".into(),
        url.to_string(),
        "--conns".into(),
        conns.to_string(),
        "--size".into(),
        size.to_string(),
        "--warmup".into(),
        "500ms".into(),
        "--duration".into(),
        format!("{}ms", (o.seconds * 1000.0) as u64),
        "--server-pid".into(),
        pid.to_string(),
    ]
}

fn human_size(n: u32) -> String {
    if n >= 1024 && n.is_multiple_of(1024) { format!("{} KiB", n / 1024) } else { format!("{n} B") }
}

fn memory(root: &Path) -> Result<String, String> {
    let mut t = String::from(
        "## Memory per idle connection (server RSS after N connections each echoed one 20-byte message, minus RSS before)\n\n",
    );
    t.push_str("| server | connections | RSS before (KiB) | RSS after (KiB) | per connection (KiB) |\n");
    t.push_str("|---|---:|---:|---:|---:|\n");
    for n in [1000u32, 10_000] {
        for kind in [Kind::Wscope, Kind::Tungstenite, Kind::Fastwebsockets] {
            let server = ServerProc::start(root, kind)?;
            let r = load(
                root,
                &[
                    "idle".into(),
                    "--url".into(),
                    server.url.clone(),
                    "--conns".into(),
                    n.to_string(),
                    "--server-pid".into(),
                    server.pid().to_string(),
                ],
            )?;
            println!(
                "memory: {:<18} {n:>6} connections: {} KiB per connection",
                kind.name(),
                r.get("per_conn_kib").map_or("-", String::as_str)
            );
            t.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                kind.name(),
                r.get("conns").map_or("-", String::as_str),
                r.get("rss_before_kib").map_or("-", String::as_str),
                r.get("rss_after_kib").map_or("-", String::as_str),
                r.get("per_conn_kib").map_or("-", String::as_str),
            ));
        }
    }
    Ok(t)
}

fn wasm(root: &Path) -> Result<String, String> {
    setup::ensure(root, setup::FOR_RUN)?;
    println!("==> building the explorer's wasm package (cargo, wasm-release, wasm-bindgen)");
    if !crate::build_wasm_package(root)? {
        return Err("the wasm package did not build".into());
    }
    let mut t = String::from("## Explorer wasm modules\n\n");
    for (name, what) in [
        ("wscope_wasm", "the explorer's, loaded with the page"),
        ("wscope_wasm_compress", "the builder's compressor, loaded when first used"),
    ] {
        let module = root.join(format!("www/pkg/{name}_bg.wasm"));
        let bytes = std::fs::read(&module).map_err(|e| format!("cannot read {}: {e}", module.display()))?;
        let gz = gzip_len(&bytes)?;
        t.push_str(&format!(
            "`www/pkg/{name}_bg.wasm` ({what}): {} bytes raw, {} bytes gzip -9 ({:.1} KiB)\n\n",
            bytes.len(),
            gz,
            gz as f64 / 1024.0
        ));
    }
    // The names are in cargo's output (the page's copy has none).
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), std::path::PathBuf::from);
    let module = target_dir.join("wasm32-unknown-unknown/wasm-release/wscope_wasm.wasm");
    let twiggy = Command::new("twiggy").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    if twiggy.is_err() {
        println!("==> installing twiggy (cargo install --locked twiggy)");
        let _ = run(cargo().args(["install", "--locked", "twiggy"]));
    }
    match Command::new("twiggy").args(["top", "-n", "20"]).arg(&module).output() {
        Ok(out) if out.status.success() => {
            t.push_str("`twiggy top -n 20` of the explorer's module, with its names (cargo's output):\n\n```\n");
            t.push_str(&String::from_utf8_lossy(&out.stdout));
            t.push_str("```\n");
        }
        _ => t.push_str("(twiggy is not available: `cargo install twiggy` to see what dominates)\n"),
    }
    Ok(t)
}

/// Length of `gzip -9` of `bytes`.
fn gzip_len(bytes: &[u8]) -> Result<usize, String> {
    let mut child = Command::new("gzip")
        .args(["-9", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run gzip: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin for gzip")?;
    let data = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().map_err(|e| format!("gzip: {e}"))?;
    let _ = writer.join();
    Ok(out.stdout.len())
}
