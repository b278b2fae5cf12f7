//! `wscope-check URL`: runs the conformance cases against the WebSocket
//! server at URL and reports, as Autobahn|Testsuite's fuzzingclient does;
//! `wscope-check --serve ADDR` tests the clients that connect to it, as its
//! fuzzingserver does.

mod progress;

use clap::Parser;
use progress::Progress;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wscope_check::{Case, Outcome, Settings, Target, Verdict, cases, report, run_all};

/// Tests a WebSocket server against RFC 6455 and RFC 7692, case by case
/// (Autobahn|Testsuite's case ids and verdicts, and wscope's own cases),
/// and reports each verdict with the exact bytes each way. With --serve it
/// tests clients instead: it listens at ADDR and speaks Autobahn's
/// fuzzingserver protocol (/getCaseCount, /runCase?case=N&agent=NAME,
/// /getCaseInfo, /getCaseStatus, /updateReports?agent=NAME), so the client
/// drivers libraries ship for Autobahn run against it unchanged; it stops
/// on Ctrl-C, SIGTERM, or /updateReports?agent=NAME&shutdownOnComplete=true.
///
/// Exit status: 0 when no case FAILED (with --strict: and none was
/// NON-STRICT), 1 otherwise, 2 when the checker could not run (a bad
/// argument, or no WebSocket server at the URL).
#[derive(Debug, Parser)]
#[command(name = "wscope-check", version)]
struct Args {
    /// The server to test: ws://host[:port]/path or wss://… (the path and
    /// query are requested as given).
    #[arg(required_unless_present_any = ["serve", "list"])]
    url: Option<String>,
    /// Tests clients instead: listens at ADDR (e.g. 127.0.0.1:9001) as
    /// Autobahn's fuzzingserver does.
    #[arg(long, value_name = "ADDR", conflicts_with_all = ["url", "jobs", "headers", "origin", "protocols", "ca", "insecure"])]
    serve: Option<std::net::SocketAddr>,
    /// With --serve: agents (client names) kept at most; a new one past it
    /// is answered 503.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1000))]
    max_agents: u16,
    /// With --serve: connections handled at once; more are answered 503.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=10000))]
    max_connections: u16,
    /// With --serve: seconds a client has to send its request head (then
    /// 408).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    head_timeout: u64,
    /// With --serve and --report: bytes the report may grow to on disk
    /// (each case's line holds its bytes in hex; a case run again counts
    /// again); past it the report says it is incomplete.
    #[arg(long, value_name = "BYTES", default_value_t = wscope_check::serve::board::DEFAULT_SPOOL_LIMIT)]
    report_limit: u64,
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
    let catalogue = if args.serve.is_some() { cases::for_clients() } else { cases::all() };
    let selected = cases::select(catalogue, &args.cases, &args.exclude);
    if selected.is_empty() {
        return fail(format!("no case matches --cases {:?} --exclude {:?}", args.cases, args.exclude));
    }
    if args.list {
        for c in &selected {
            println!("{}  {}", c.id, c.description);
        }
        return ExitCode::SUCCESS;
    }
    if let Some(addr) = args.serve {
        return serve(addr, selected, &args).await;
    }
    let url = args.url.clone().unwrap_or_default();
    let mut target = match Target::parse(&url) {
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
        return fail(format!("{url}: no WebSocket server there: {e}"));
    }
    let mut writer = match &args.report {
        Some(path) => match report::Writer::create(path, &url) {
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

/// `--serve`: tests the clients that connect to `addr` until Ctrl-C,
/// SIGTERM or an agent's `shutdownOnComplete`; then the report and the
/// summary.
async fn serve(addr: std::net::SocketAddr, selected: Vec<Case>, args: &Args) -> ExitCode {
    use wscope_check::serve::{Board, ClientChecker, ServeOptions};
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => return fail(format!("cannot listen at {addr}: {e}")),
    };
    let url = listener.local_addr().map_or_else(|_| format!("ws://{addr}"), |a| format!("ws://{a}"));
    let total = selected.len();
    let board = match Board::new(
        Arc::new(selected),
        format!("clients of {url}"),
        args.report.clone(),
        args.max_agents.into(),
    ) {
        Ok(b) => Arc::new(b.spool_limit(args.report_limit)),
        Err(e) => return fail(format!("cannot write the report beside {:?}: {e}", args.report)),
    };
    let mut settings = Settings::new(Duration::from_secs(args.timeout));
    settings.record_limit = args.record_limit;
    let options = ServeOptions {
        settings,
        max_connections: args.max_connections.into(),
        head_timeout: Duration::from_secs(args.head_timeout),
        verbose: true,
        ..ServeOptions::default()
    };
    let checker = ClientChecker::new(Arc::clone(&board), options);
    eprintln!(
        "wscope-check: testing clients at {url}: {total} cases; run the Autobahn client loop there \
         (/getCaseCount, /runCase?case=N&agent=NAME, /updateReports?agent=NAME)"
    );
    println!("{url}");
    tokio::select! {
        () = Arc::clone(&checker).serve(listener) => {}
        () = stopped() => eprintln!("wscope-check: stopping"),
    }
    match board.write_report() {
        Ok(Some(path)) => println!("report: {}", path.display()),
        Ok(None) => {}
        Err(e) => return fail(format!("cannot write the report: {e}")),
    }
    print!("{}", board.summary());
    let bad = board
        .results()
        .values()
        .flatten()
        .any(|(_, o)| o.verdict == Verdict::Failed || (args.strict && o.verdict == Verdict::NonStrict));
    if bad { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

/// Ctrl-C or SIGTERM.
async fn stopped() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
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
