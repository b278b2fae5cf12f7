//! The benchmark's processes: servers and the load generator pinned to
//! their cores with enough open files, the machine described, and the load
//! generator's figures gathered into medians. Shared by `bench` and `soak`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    Wscope,
    Tungstenite,
    Fastwebsockets,
    Raw,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Wscope => "wscope",
            Kind::Tungstenite => "tokio-tungstenite",
            Kind::Fastwebsockets => "fastwebsockets",
            Kind::Raw => "raw TCP echo (ceiling)",
        }
    }
    pub(crate) fn binary(self) -> &'static str {
        match self {
            Kind::Wscope => "wscope-server",
            Kind::Tungstenite => "echo-tungstenite",
            Kind::Fastwebsockets => "echo-fastwebsockets",
            Kind::Raw => "echo-raw",
        }
    }
}

pub(crate) fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

pub(crate) fn release_bin(root: &Path, name: &str) -> PathBuf {
    target_dir(root).join("release").join(name)
}

/// The machine, for the report's header.
pub(crate) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("machine: {cpu}, {cores} cores, Linux {}\n\n", kernel.trim())
}

/// Whether we can pin to two different CPUs.
pub(crate) fn can_pin() -> bool {
    std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
        && Command::new("taskset").arg("-V").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

/// A command pinned to `cpu` (when pinning is possible) with the open-file
/// limit raised (when allowed: as root, or within the hard limit).
pub(crate) fn pinned(cpu: u32, program: &Path) -> Command {
    let mut cmd = Command::new("prlimit");
    cmd.arg(format!("--nofile={0}:{0}", nofile_limit()));
    cmd.arg("--");
    if can_pin() {
        cmd.args(["taskset", "-c", &cpu.to_string()]);
    }
    cmd.arg(program);
    cmd
}

/// The open-file limit to run with: 65 536 if this process may raise its
/// hard limit that far (root with CAP_SYS_RESOURCE), else the hard limit.
pub(crate) fn nofile_limit() -> u64 {
    static LIMIT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| {
        let hard = Command::new("sh")
            .args(["-c", "ulimit -Hn"])
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<u64>().ok())
            .unwrap_or(1024);
        let raised = Command::new("prlimit")
            .args(["--nofile=65536:65536", "--", "true"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let limit = if raised { hard.max(65_536) } else { hard };
        println!("xtask: open-file limit for the servers and the load generator: {limit}");
        limit
    })
}

pub(crate) struct ServerProc {
    pub(crate) child: Child,
    pub(crate) url: String,
}

impl ServerProc {
    pub(crate) fn start(root: &Path, kind: Kind) -> Result<ServerProc, String> {
        Self::start_with(root, kind, &[])
    }

    pub(crate) fn start_with(root: &Path, kind: Kind, flags: &[&str]) -> Result<ServerProc, String> {
        let bin = release_bin(root, kind.binary());
        let mut cmd = pinned(0, &bin);
        cmd.args(["--listen", "127.0.0.1:0", "--threads", "1"]).args(flags);
        if kind == Kind::Wscope {
            cmd.arg("--www").arg(root.join("www")).args(["--max-connections", "20000"]);
        }
        cmd.env("RUST_LOG", "warn").stdout(Stdio::piped()).stderr(Stdio::inherit());
        Self::spawn(cmd, kind.binary())
    }

    /// Starts `cmd` (stdout piped) and reads the URL from its first line.
    pub(crate) fn spawn(mut cmd: Command, name: &str) -> Result<ServerProc, String> {
        let mut child = cmd.spawn().map_err(|e| format!("cannot start {name}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        std::thread::spawn(move || lines.for_each(drop));
        let url = first
            .split("ws://")
            .nth(1)
            .map(|rest| rest.split(|c: char| c.is_whitespace() || c == ')').next().unwrap_or_default())
            .map(|rest| format!("ws://{rest}"));
        match url {
            Some(url) => Ok(ServerProc { child, url }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!("{name} did not say where it listens (first line {first:?})"))
            }
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `wscope-load` and returns its RESULT line's `key=value` pairs.
pub(crate) fn load(root: &Path, args: &[String]) -> Result<BTreeMap<String, String>, String> {
    let bin = release_bin(root, "wscope-load");
    let out = pinned(1, &bin)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run wscope-load: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("RESULT")).ok_or_else(|| {
        format!("wscope-load {} printed no result (exit {:?}): {text}", args.join(" "), out.status.code())
    })?;
    let fields = line
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect::<BTreeMap<_, _>>();
    if !out.status.success() {
        return Err(format!("wscope-load failed: {line}"));
    }
    Ok(fields)
}

pub(crate) fn num(fields: &BTreeMap<String, String>, key: &str) -> f64 {
    fields.get(key).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| !x.is_nan());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 { v[mid] } else { (v[mid - 1] + v[mid]) / 2.0 }
}

#[derive(Default)]
pub(crate) struct Samples {
    pub(crate) rate: Vec<f64>,
    pub(crate) p50: Vec<f64>,
    pub(crate) p99: Vec<f64>,
    pub(crate) server_cpu: Vec<f64>,
    pub(crate) load_cpu: Vec<f64>,
    /// p99 ÷ p50 of each run: how unevenly connections are served.
    pub(crate) tail: Vec<f64>,
    /// The server's CPU time per echoed message, µs (its CPU share of the
    /// window divided by the messages per second).
    pub(crate) cpu_per_msg: Vec<f64>,
    /// Compressed echoes: inflated bytes ÷ bytes on the wire.
    pub(crate) deflate_ratio: Vec<f64>,
}

impl Samples {
    /// One run's figures, from its RESULT line.
    pub(crate) fn add(&mut self, r: &BTreeMap<String, String>) {
        self.rate.push(num(r, "rate"));
        self.p50.push(num(r, "p50_us"));
        self.p99.push(num(r, "p99_us"));
        self.server_cpu.push(num(r, "server_cpu"));
        self.load_cpu.push(num(r, "load_cpu"));
        self.tail.push(num(r, "p99_us") / num(r, "p50_us"));
        self.cpu_per_msg.push(num(r, "server_cpu") * 1e6 / num(r, "rate"));
        self.deflate_ratio.push(num(r, "deflate_ratio"));
    }
}

/// The progress line's figures of one run.
pub(crate) fn figures(r: &BTreeMap<String, String>) -> String {
    let get = |k: &str| r.get(k).map_or("-", String::as_str).to_string();
    format!(
        "{:>10.0} msgs/s p50 {:>6} us p99 {:>6} us cpu server {} load {}",
        num(r, "rate"),
        get("p50_us"),
        get("p99_us"),
        get("server_cpu"),
        get("load_cpu")
    )
}
