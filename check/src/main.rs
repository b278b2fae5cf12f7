//! `wscope-check URL`: runs the conformance cases against the WebSocket
//! server at URL and reports, as Autobahn|Testsuite's fuzzingclient does.

use clap::Parser;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;
use wscope_check::{Target, Verdict, cases, report, run_case};

/// Tests a WebSocket server against RFC 6455, case by case (Autobahn's case
/// ids), and reports each verdict with the exact bytes each way.
#[derive(Debug, Parser)]
#[command(name = "wscope-check", version)]
struct Args {
    /// The server to test, e.g. ws://127.0.0.1:9001/ (the path is requested
    /// as given).
    url: String,
    /// Cases to run: comma-separated patterns, `*` for any characters
    /// (e.g. '1.*,6.4.*'). Default: all.
    #[arg(long, default_value = "")]
    cases: String,
    /// Cases to leave out, as --cases.
    #[arg(long, default_value = "")]
    exclude: String,
    /// Seconds a case may run at least before the checker gives up on the
    /// server (cases with big messages allow more).
    #[arg(long, default_value_t = 5)]
    timeout: u64,
    /// Writes the whole report, every byte each way, as JSON (schema in the
    /// README).
    #[arg(long)]
    report: Option<std::path::PathBuf>,
    /// Exits 1 on NON-STRICT verdicts too, not only on FAILED.
    #[arg(long)]
    strict: bool,
    /// Lists the selected cases and exits.
    #[arg(long)]
    list: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let target = match Target::parse(&args.url) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("wscope-check: {e}");
            return ExitCode::from(2);
        }
    };
    let selected = cases::select(cases::all(), &args.cases, &args.exclude);
    if selected.is_empty() {
        eprintln!("wscope-check: no case matches --cases {:?} --exclude {:?}", args.cases, args.exclude);
        return ExitCode::from(2);
    }
    if args.list {
        for c in &selected {
            println!("{}  {}", c.id, c.description);
        }
        return ExitCode::SUCCESS;
    }
    let tty = std::io::stderr().is_terminal();
    let total = selected.len();
    let mut results = Vec::with_capacity(total);
    for (n, case) in (1..).zip(selected) {
        let outcome = run_case(&target, &case, Duration::from_secs(args.timeout)).await;
        let line = format!("[{n}/{total}] {} {}", case.id, outcome.verdict);
        if tty {
            eprint!("\r\x1b[2K{line}");
        } else {
            eprintln!("{line}");
        }
        results.push((case, outcome));
    }
    if tty {
        eprintln!();
    }
    print!("{}", report::summary(&results));
    if let Some(path) = &args.report {
        let json = report::report_json(&args.url, &results);
        let text = serde_json::to_string_pretty(&json).unwrap_or_default();
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("wscope-check: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
        println!("report: {}", path.display());
    }
    let bad =
        results.iter().any(|(_, o)| o.verdict == Verdict::Failed || (args.strict && o.verdict == Verdict::NonStrict));
    if bad { ExitCode::from(1) } else { ExitCode::SUCCESS }
}
