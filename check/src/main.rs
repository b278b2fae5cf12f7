//! `wscope-check URL`: runs the conformance cases against the WebSocket
//! server at URL and reports, as Autobahn|Testsuite's fuzzingclient does.

mod progress;

use clap::Parser;
use progress::Progress;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wscope_check::{Case, Outcome, Settings, Target, Verdict, cases, report, run_all};

/// Tests a WebSocket server against RFC 6455 and RFC 7692, case by case
/// (Autobahn|Testsuite's case ids and verdicts, and wscope's own cases),
/// and reports each verdict with the exact bytes each way.
///
/// Exit status: 0 when no case FAILED (with --strict: and none was
/// NON-STRICT), 1 otherwise, 2 when the checker could not run (a bad
/// argument, or no WebSocket server at the URL).
#[derive(Debug, Parser)]
#[command(name = "wscope-check", version)]
struct Args {
    /// The server to test: ws://host[:port]/path or wss://… (the path and
    /// query are requested as given).
    url: String,
    /// Cases to run: comma-separated patterns, `*` for any characters
    /// (e.g. '1.*,6.4.*'). Default: all.
    #[arg(long, default_value = "")]
    cases: String,
    /// Cases to leave out, as --cases (e.g. '9.*,12.*,13.*' for a quick run).
    #[arg(long, default_value = "")]
    exclude: String,
    /// Seconds a case may run at least before the checker gives up on the
    /// server (cases with big messages allow more).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
    /// Cases run at once. The performance cases (9.*) always run alone.
    #[arg(long, short, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: u16,
    /// Extra request header, 'Name: value' (repeatable), e.g. a cookie the
    /// server needs.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// The Origin header to send.
    #[arg(long)]
    origin: Option<String>,
    /// A subprotocol to offer (repeatable).
    #[arg(long = "protocol", value_name = "NAME")]
    protocols: Vec<String>,
    /// For wss://: trust the certificates in this PEM file too.
    #[arg(long, value_name = "FILE")]
    ca: Option<std::path::PathBuf>,
    /// For wss://: accept any certificate (a self-signed test server).
    #[arg(long)]
    insecure: bool,
    /// Writes the whole report, every byte each way, as JSON (schema in the
    /// README).
    #[arg(long, value_name = "FILE")]
    report: Option<std::path::PathBuf>,
    /// Bytes of each case kept in the report (both ways); past it bytes are
    /// counted only.
    #[arg(long, value_name = "BYTES", default_value_t = wscope_check::run::DEFAULT_RECORD_LIMIT)]
    record_limit: usize,
    /// Exits 1 on NON-STRICT verdicts too, not only on FAILED.
    #[arg(long)]
    strict: bool,
    /// Lists the selected cases and exits.
    #[arg(long)]
    list: bool,
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("wscope-check: {message}");
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let selected = cases::select(cases::all(), &args.cases, &args.exclude);
    if selected.is_empty() {
        return fail(format!("no case matches --cases {:?} --exclude {:?}", args.cases, args.exclude));
    }
    if args.list {
        for c in &selected {
            println!("{}  {}", c.id, c.description);
        }
        return ExitCode::SUCCESS;
    }
    let mut target = match Target::parse(&args.url) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    target.origin.clone_from(&args.origin);
    target.protocols.clone_from(&args.protocols);
    for h in &args.headers {
        match h.split_once(':') {
            Some((name, value)) if !name.trim().is_empty() => {
                target.headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
            _ => return fail(format!("-H {h:?}: write a header as 'Name: value'")),
        }
    }
    let mut settings = Settings::new(Duration::from_secs(args.timeout));
    settings.record_limit = args.record_limit;
    if target.tls {
        match wscope_check::run::tls_config(args.ca.as_deref(), args.insecure) {
            Ok(c) => settings.tls = Some(c),
            Err(e) => return fail(e),
        }
    } else if args.ca.is_some() || args.insecure {
        return fail("--ca and --insecure are for wss:// URLs");
    }
    if let Err(e) = wscope_check::run::probe(&target, &settings).await {
        return fail(format!("{}: no WebSocket server there: {e}", args.url));
    }
    let mut writer = match &args.report {
        Some(path) => match report::Writer::create(path, &args.url) {
            Ok(w) => Some(w),
            Err(e) => return fail(format!("cannot write {}: {e}", path.display())),
        },
        None => None,
    };
    let started = Instant::now();
    let results = run_each(selected, target, settings, args.jobs, &mut writer).await;
    print!("{}", report::summary(&results));
    println!("time: {:.1} s", started.elapsed().as_secs_f64());
    if let (Some(w), Some(path)) = (writer, &args.report) {
        if let Err(e) = w.finish(&results) {
            return fail(format!("cannot write {}: {e}", path.display()));
        }
        println!("report: {}", path.display());
    }
    let bad =
        results.iter().any(|(_, o)| o.verdict == Verdict::Failed || (args.strict && o.verdict == Verdict::NonStrict));
    if bad { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

/// Every case through [`run_all`]; each outcome goes to the progress line
/// and the report as it comes, and is kept without its bytes.
async fn run_each(
    selected: Vec<Case>,
    target: Target,
    settings: Settings,
    jobs: u16,
    writer: &mut Option<report::Writer>,
) -> Vec<(Case, Outcome)> {
    let total = selected.len();
    let mut progress = Progress::new(total);
    let mut results = Vec::with_capacity(total);
    let mut done = run_all(selected, Arc::new(target), Arc::new(settings), usize::from(jobs));
    while let Some((case, mut outcome)) = done.recv().await {
        progress.done(&case.id, outcome.verdict);
        if let Some(w) = writer.as_mut() {
            if let Err(e) = w.case(&case, &outcome) {
                eprintln!("wscope-check: writing the report: {e}; it stops here");
                *writer = None;
            }
        }
        outcome.records = Vec::new();
        results.push((case, outcome));
    }
    progress.end();
    results.sort_by_key(|(c, _)| id_key(&c.id));
    results
}

fn id_key(id: &str) -> Vec<u32> {
    id.split('.').map(|n| n.parse::<u32>().unwrap_or(u32::MAX)).collect()
}
