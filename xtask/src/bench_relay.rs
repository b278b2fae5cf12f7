//! `cargo xtask bench relay`: what the relay costs. The same closed-loop
//! echo (wscope-load, CPU 1) against wscope-server's `/echo` (CPU 0, one
//! worker) directly, through a transparent wscope relay, and through socat
//! (Debian's plain TCP forwarder, one process per connection, 64 KiB
//! blocks, `nodelay`), the three
//! interleaved in each round; the relay and socat share CPU 0 with the
//! upstream, the same for both. Then the relay process's memory per idle
//! relayed connection.

use crate::procs::{Kind, Samples, ServerProc, figures, load, median, pinned, release_bin};
use crate::setup;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Instant;

/// (connections, payload bytes): the two cases and one small one.
const CASES: [(u32, u32); 3] = [(100, 1024), (100, 16384), (1, 20)];

/// The three paths to the same upstream.
const PATHS: [&str; 3] = ["direct", "wscope relay", "socat"];

/// A transparent relay process: `wscope-server --relay 127.0.0.1:0=UPSTREAM`.
struct RelayProc {
    child: Child,
    url: String,
}

impl RelayProc {
    fn start(root: &Path, upstream: &str, extra: &[&str]) -> Result<RelayProc, String> {
        let mut cmd = pinned(0, &release_bin(root, "wscope-server"));
        cmd.args(["--listen", "127.0.0.1:0", "--threads", "1", "--www"])
            .arg(root.join("www"))
            .args(["--relay", &format!("127.0.0.1:0={upstream}"), "--relay-max-sessions", "20000"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().map_err(|e| format!("cannot start the relay: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut url = None;
        for line in lines.by_ref().map_while(Result::ok) {
            if let Some(rest) = line.split("relaying ws://").nth(1) {
                url = Some(format!("ws://{}/echo", rest.split('/').next().unwrap_or_default()));
            }
            if line.contains("Ctrl-C") {
                break;
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
        match url {
            Some(url) => Ok(RelayProc { child, url }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err("the relay did not say where it listens".into())
            }
        }
    }
}

impl Drop for RelayProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// socat forwarding a free loopback port to `upstream` (`host:port`).
struct Socat {
    child: Child,
    url: String,
}

impl Socat {
    fn start(upstream: &str) -> Result<Socat, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let socat = which("socat").ok_or("socat is not installed")?;
        let child = pinned(0, &socat)
            // 64 KiB blocks like the relay's reads; no Nagle on either socket
            // (socat's defaults, 8 KiB and Nagle, stall 16 KiB echoes on
            // delayed ACKs).
            .args([
                "-b",
                "65536",
                &format!("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,backlog=4096,nodelay"),
                &format!("TCP:{upstream},nodelay"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start socat: {e}"))?;
        // Wait until it listens.
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(Socat { child, url: format!("ws://127.0.0.1:{port}/echo") });
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Err("socat did not start listening".into())
    }
}

impl Drop for Socat {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join(name)).find(|p| p.is_file())
}

pub(crate) fn relay(
    root: &Path,
    rounds: u32,
    seconds: f64,
    echo_args: impl Fn(&str, u32, u32, u32) -> Vec<String>,
) -> Result<String, String> {
    setup::ensure(root, &[setup::Need::Socat])?;
    let upstream = ServerProc::start(root, Kind::Wscope)?;
    let authority = upstream.url.trim_start_matches("ws://").trim_end_matches("/echo").to_string();
    let relay = RelayProc::start(root, &format!("ws://{authority}"), &[])?;
    let socat = Socat::start(&authority)?;
    let urls = [upstream.url.clone(), relay.url.clone(), socat.url.clone()];
    let mut results: BTreeMap<((u32, u32), usize), Samples> = BTreeMap::new();
    let started = Instant::now();
    let total = rounds as usize * CASES.len() * PATHS.len();
    let mut done = 0usize;
    for round in 1..=rounds {
        for case @ (conns, size) in CASES {
            for (i, url) in urls.iter().enumerate() {
                let r = load(root, &echo_args(url, conns, size, upstream.pid()))?;
                done += 1;
                println!(
                    "[{done}/{total} {:>4.0}s] round {round} relay bench {:<14} conns={conns:<5} size={size:<6} {}",
                    started.elapsed().as_secs_f64(),
                    PATHS[i],
                    figures(&r),
                );
                results.entry((case, i)).or_default().add(&r);
            }
        }
    }
    drop(socat);
    drop(relay);
    let mut t = format!(
        "## Relay overhead (echo through each path to the same wscope-server; median of {rounds} rounds, {seconds} s each; \
         upstream, relay and socat on CPU 0, load generator on CPU 1)\n\n"
    );
    t.push_str("| conns | size | path | msgs/s | p50 µs | p99 µs | upstream CPU | ÷ direct | relay ÷ socat |\n");
    t.push_str("|---:|---:|---|---:|---:|---:|---:|---:|---:|\n");
    for case @ (conns, size) in CASES {
        let rate = |i: usize| results.get(&(case, i)).map_or(f64::NAN, |s| median(s.rate.clone()));
        for (i, name) in PATHS.iter().enumerate() {
            let Some(s) = results.get(&(case, i)) else { continue };
            let vs_direct = if i == 0 { "—".to_string() } else { format!("{:.2}×", rate(i) / rate(0)) };
            let vs_socat = if i == 1 { format!("{:.2}×", rate(1) / rate(2)) } else { "—".to_string() };
            t.push_str(&format!(
                "| {conns} | {} | {name} | {:.0} | {:.0} | {:.0} | {:.2} | {vs_direct} | {vs_socat} |\n",
                if size >= 1024 { format!("{} KiB", size / 1024) } else { format!("{size} B") },
                rate(i),
                median(s.p50.clone()),
                median(s.p99.clone()),
                median(s.server_cpu.clone()),
            ));
        }
    }
    // Memory: the relay process's RSS per idle relayed connection.
    t.push_str("\n## Memory per idle relayed connection (relay RSS after N connections each echoed one 20-byte message, minus RSS before)\n\n");
    t.push_str("| connections | RSS before (KiB) | RSS after (KiB) | per connection (KiB) |\n|---:|---:|---:|---:|\n");
    // Each relayed connection holds two descriptors (client and upstream):
    // 5 000 fit under this machine's 20 000-file limit, 10 000 do not.
    for n in [1000u32, 5000] {
        let relay = RelayProc::start(root, &format!("ws://{authority}"), &[])?;
        let pid = relay.child.id();
        let r = load(
            root,
            &[
                "idle".into(),
                "--url".into(),
                relay.url.clone(),
                "--conns".into(),
                n.to_string(),
                "--server-pid".into(),
                pid.to_string(),
            ],
        )?;
        println!(
            "relay memory: {n:>6} connections: {} KiB per connection",
            r.get("per_conn_kib").map_or("-", String::as_str)
        );
        let get = |k: &str| r.get(k).map_or("-", String::as_str).to_string();
        t.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            get("conns"),
            get("rss_before_kib"),
            get("rss_after_kib"),
            get("per_conn_kib")
        ));
    }
    drop(upstream);
    Ok(t)
}
