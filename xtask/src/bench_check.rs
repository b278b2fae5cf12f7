//! `cargo xtask bench check`: what a conformance run costs. wscope-check
//! runs Autobahn's cases 1–13 against one wscope-server (`--threads 1`,
//! CPU 0; the checker unpinned) with `--jobs` 1, 2 and 4, once each; the
//! time of each run, and from the report each case's milliseconds, by
//! chapter. With `WSCOPE_AUTOBAHN=/path/to/run.sh` (Autobahn|Testsuite's
//! fuzzingclient, which is not part of the project) the same cases run
//! through it against the same server, in the same bench run, for the
//! side-by-side row.

use crate::procs::{Kind, ServerProc, release_bin};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// `--jobs` values measured.
const JOBS: [u32; 3] = [1, 2, 4];
/// Runs of each (a full run takes minutes; run the bench again for a spread).
const RUNS: u32 = 1;
/// wscope's own cases (14–17) are left out: Autobahn has no such chapters.
const EXCLUDE: &str = "14.*,15.*,16.*,17.*";

/// One run's figures.
struct Run {
    label: String,
    seconds: f64,
    /// chapter (1–13) → each case's milliseconds
    chapters: BTreeMap<u32, Vec<u64>>,
    verdicts: BTreeMap<String, u32>,
}

impl Run {
    fn cases(&self) -> usize {
        self.chapters.values().map(Vec::len).sum()
    }
}

fn chapter(id: &str) -> Option<u32> {
    id.split('.').next()?.parse().ok()
}

fn run_checker(root: &Path, url: &str, jobs: u32, report: &Path) -> Result<Run, String> {
    let started = Instant::now();
    let status = Command::new(release_bin(root, "wscope-check"))
        .args([url, "--exclude", EXCLUDE, "--jobs", &jobs.to_string(), "--report"])
        .arg(report)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| format!("cannot run wscope-check: {e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    if status.code() == Some(2) {
        return Err(format!("wscope-check could not run against {url}"));
    }
    let text = std::fs::read_to_string(report).map_err(|e| format!("{}: {e}", report.display()))?;
    // Hundreds of MiB (every byte of every case, up to 1 MiB each): read once.
    let _ = std::fs::remove_file(report);
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", report.display()))?;
    drop(text);
    let mut run = Run {
        label: format!("wscope-check --jobs {jobs}"),
        seconds,
        chapters: BTreeMap::new(),
        verdicts: BTreeMap::new(),
    };
    for case in v["cases"].as_array().into_iter().flatten() {
        let Some(ch) = case["id"].as_str().and_then(chapter) else { continue };
        run.chapters.entry(ch).or_default().push(case["millis"].as_u64().unwrap_or(0));
        *run.verdicts.entry(case["verdict"].as_str().unwrap_or("?").to_string()).or_default() += 1;
    }
    Ok(run)
}

/// Autobahn's fuzzingclient through the given `run.sh` (cases 1–13), its
/// per-case `duration` read from the index it writes.
fn run_autobahn(script: &Path, url: &str, out: &Path) -> Result<Run, String> {
    let started = Instant::now();
    let status = Command::new(script)
        .args([url, &out.to_string_lossy(), "all"])
        .env("AB_TIMEOUT", "5400")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    if status.code() == Some(2) {
        return Err(format!("{} could not run", script.display()));
    }
    let index = out.join("index.json");
    let text = std::fs::read_to_string(&index).map_err(|e| format!("{}: {e}", index.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", index.display()))?;
    let mut run =
        Run { label: "Autobahn fuzzingclient".into(), seconds, chapters: BTreeMap::new(), verdicts: BTreeMap::new() };
    for agent in v.as_object().into_iter().flat_map(|m| m.values()) {
        for (id, case) in agent.as_object().into_iter().flatten() {
            let Some(ch) = chapter(id) else { continue };
            run.chapters.entry(ch).or_default().push(case["duration"].as_u64().unwrap_or(0));
            *run.verdicts.entry(case["behavior"].as_str().unwrap_or("?").to_string()).or_default() += 1;
        }
    }
    Ok(run)
}

fn median(v: &[u64]) -> u64 {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

pub(crate) fn check(root: &Path) -> Result<String, String> {
    let server = ServerProc::start(root, Kind::Wscope)?;
    let out = crate::procs::target_dir(root).join("bench").join("check");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut runs = Vec::new();
    let started = Instant::now();
    let total = JOBS.len() as u32 * RUNS;
    let mut done = 0;
    for round in 1..=RUNS {
        for jobs in JOBS {
            let run = run_checker(root, &server.url, jobs, &out.join(format!("jobs{jobs}-run{round}.json")))?;
            done += 1;
            println!(
                "[{done}/{total} {:>4.0}s] wscope-check --jobs {jobs} (run {round}): {} cases in {:.1} s",
                started.elapsed().as_secs_f64(),
                run.cases(),
                run.seconds
            );
            runs.push(run);
        }
    }
    match std::env::var_os("WSCOPE_AUTOBAHN") {
        Some(script) => {
            println!("==> Autobahn's fuzzingclient, cases 1–13 (WSCOPE_AUTOBAHN)");
            let run = run_autobahn(Path::new(&script), &server.url, &out.join("autobahn"))?;
            println!("Autobahn: {} cases in {:.1} s", run.cases(), run.seconds);
            runs.push(run);
        }
        None => println!("xtask: WSCOPE_AUTOBAHN not set: no Autobahn row (set it to the fuzzingclient's run.sh)"),
    }
    drop(server);
    Ok(table(&runs))
}

fn table(runs: &[Run]) -> String {
    let mut t = String::from(
        "## The checker (cases 1–13 against wscope-server --threads 1 on CPU 0; the checker unpinned)\n\n\
         | run | cases | seconds | ms per case | median case ms | slowest case ms | verdicts |\n\
         |---|---:|---:|---:|---:|---:|---|\n",
    );
    for r in runs {
        let all: Vec<u64> = r.chapters.values().flatten().copied().collect();
        let verdicts: Vec<String> = r.verdicts.iter().map(|(k, n)| format!("{n} {k}")).collect();
        t.push_str(&format!(
            "| {} | {} | {:.1} | {:.1} | {} | {} | {} |\n",
            r.label,
            all.len(),
            r.seconds,
            r.seconds * 1000.0 / all.len().max(1) as f64,
            median(&all),
            all.iter().max().copied().unwrap_or(0),
            verdicts.join(", "),
        ));
    }
    // By chapter: the first run of each tool (the case times do not depend
    // on --jobs, which only overlaps them).
    let firsts: Vec<&Run> =
        [runs.first(), runs.iter().find(|r| r.label.starts_with("Autobahn"))].into_iter().flatten().collect();
    t.push_str("\nBy chapter, each case's own time (first run of each):\n\n| chapter |");
    for r in &firsts {
        t.push_str(&format!(" {}: cases | total s | median ms |", r.label));
    }
    t.push_str("\n|---:|");
    for _ in &firsts {
        t.push_str("---:|---:|---:|");
    }
    t.push('\n');
    let chapters: std::collections::BTreeSet<u32> = firsts.iter().flat_map(|r| r.chapters.keys().copied()).collect();
    for ch in chapters {
        t.push_str(&format!("| {ch} |"));
        for r in &firsts {
            let v = r.chapters.get(&ch).map(Vec::as_slice).unwrap_or_default();
            t.push_str(&format!(" {} | {:.1} | {} |", v.len(), v.iter().sum::<u64>() as f64 / 1000.0, median(v)));
        }
        t.push('\n');
    }
    t
}
