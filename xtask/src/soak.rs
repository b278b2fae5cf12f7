//! `cargo xtask soak`: RELIABILITY.md's load figures (many connections,
//! every echo checked, then peers that never read), against one
//! wscope-server on both cores.

use crate::procs::{ServerProc, nofile_limit, release_bin, target_dir};
use crate::{cargo, run};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// `cargo xtask soak`: many connections echoing distinct messages for a
/// fixed time against one wscope-server on both cores; every echo checked.
pub(crate) fn soak(root: &Path, args: &[String]) -> Result<bool, String> {
    let (mut conns, mut seconds, mut size) = (10_000u32, 60u64, 1024u32);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value =
            |name: &str| it.next().and_then(|v| v.parse::<u64>().ok()).ok_or(format!("{name} needs a number"));
        match a.as_str() {
            "--conns" => conns = u32::try_from(value("--conns")?).map_err(|_| "--conns is too large")?,
            "--seconds" => seconds = value("--seconds")?,
            "--size" => size = u32::try_from(value("--size")?).map_err(|_| "--size is too large")?,
            other => return Err(format!("unknown soak argument {other:?}; see `cargo xtask help`")),
        }
    }
    if conns == 0 || seconds == 0 {
        return Err("--conns and --seconds must be at least 1".into());
    }
    println!("==> building wscope-server and wscope-load (release)");
    if !run(cargo().current_dir(root).args(["build", "--release", "-p", "wscope-server", "-p", "wscope-bench"]))? {
        return Err("the binaries did not build".into());
    }
    let limit = nofile_limit();
    if u64::from(conns) + 100 > limit {
        return Err(format!("{conns} connections need more open files than the limit allows ({limit})"));
    }
    // wscope-server on both cores, room for `n` connections.
    let soak_server = |n: u32| {
        let mut cmd = Command::new("prlimit");
        cmd.arg(format!("--nofile={limit}:{limit}")).arg("--").arg(release_bin(root, "wscope-server"));
        cmd.args(["--listen", "127.0.0.1:0", "--threads", "2", "--max-connections"])
            .arg((u64::from(n) + 100).to_string())
            .arg("--www")
            .arg(root.join("www"));
        cmd.env("RUST_LOG", "warn").stdout(Stdio::piped()).stderr(Stdio::inherit());
        ServerProc::spawn(cmd, "wscope-server")
    };
    let server = soak_server(conns)?;
    println!(
        "==> soak: {conns} connections x {size}-byte distinct text messages for {seconds} s against {} (pid {})",
        server.url,
        server.pid()
    );
    let started = Instant::now();
    let load_bin = release_bin(root, "wscope-load");
    let out = Command::new("prlimit")
        .arg(format!("--nofile={limit}:{limit}"))
        .arg("--")
        .arg(&load_bin)
        .args(["echo", "--url", &server.url, "--conns", &conns.to_string(), "--size", &size.to_string()])
        .args(["--text", "--distinct", "--warmup", "1s", "--duration", &format!("{seconds}s")])
        .args(["--server-pid", &server.pid().to_string()])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run wscope-load: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("RESULT")).unwrap_or_default().to_string();
    let r: BTreeMap<String, String> =
        line.split_whitespace().filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.into(), v.into())).collect();
    let get = |k: &str| r.get(k).map_or("-", String::as_str).to_string();
    let report = format!(
        "## Soak: {conns} connections, {size}-byte text, {seconds} s (wscope-server --threads 2, both cores shared with the load)\n\n\
         | round trips checked | msgs/s (window) | errors | lost | p50 µs | p99 µs | server RSS before / during / after (KiB) | wall time |\n\
         |---:|---:|---:|---:|---:|---:|---|---:|\n\
         | {} | {} | {} | {} | {} | {} | {} / {} / {} | {:.0} s |\n",
        get("checked"),
        get("rate"),
        get("errors"),
        get("lost"),
        get("p50_us"),
        get("p99_us"),
        get("rss_before_kib"),
        get("rss_during_kib"),
        get("rss_after_kib"),
        started.elapsed().as_secs_f64(),
    );
    drop(server);
    // Peers that send and never read: the server must stop reading them
    // (--max-pending-output, 256 KiB each), not buffer what they push.
    let stall_conns = conns.min(1000);
    let server = soak_server(stall_conns)?;
    println!("==> stall: {stall_conns} connections that send 16 KiB frames for 5 s and never read");
    let out = Command::new("prlimit")
        .arg(format!("--nofile={limit}:{limit}"))
        .arg("--")
        .arg(&load_bin)
        .args(["stall", "--url", &server.url, "--conns", &stall_conns.to_string(), "--duration", "5s"])
        .args(["--server-pid", &server.pid().to_string()])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run wscope-load: {e}"))?;
    drop(server);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("RESULT")).unwrap_or_default().to_string();
    let st: BTreeMap<String, String> =
        line.split_whitespace().filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.into(), v.into())).collect();
    let sget = |k: &str| st.get(k).map_or("-", String::as_str).to_string();
    let report = format!(
        "{report}\n## Peers that never read: {stall_conns} connections pushing 16 KiB frames for 5 s\n\n\
         | pushed in all (KiB) | server RSS before / during (KiB) | per connection (KiB) | cap per connection |\n\
         |---:|---|---:|---:|\n\
         | {} | {} / {} | {} | 256 KiB of output (`--max-pending-output`) + what one 64 KiB read decodes |\n",
        sget("sent_kib"),
        sget("rss_before_kib"),
        sget("rss_during_kib"),
        sget("per_conn_kib"),
    );
    println!("\n{report}");
    let dir = target_dir(root).join("bench");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join("soak.md");
    std::fs::write(&path, &report).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("xtask: report written to {}", path.display());
    let clean = out.status.success() && get("errors") == "0" && get("lost") == "0";
    if !clean {
        println!("xtask: soak FAILED: {line}");
    }
    Ok(clean)
}
