//! `/check`: the conformance checker (`wscope-check`'s library) run by the
//! server for the page, against the server's own `/echo` or a target the
//! operator named with `--check-target`, never a host the page chooses.
//!
//! The page sends one text message to start a run:
//! `{"target": 0, "cases": "1.*,14.*", "exclude": "9.*"}`: `target` 0 is
//! this server's `/echo`, `i` the `i`-th of `check.targets` in `GET
//! /limits` (the operator's `--check-target`s); `cases` and `exclude` are `wscope-check`'s patterns
//! (empty: every case). The server answers with text messages, one JSON
//! object each:
//!
//! | `type` | fields | when |
//! | --- | --- | --- |
//! | `start` | `target`: the URL checked; `total`: cases selected | the run starts |
//! | `case` | `case`: the case as in `wscope-check --report` (verdict, reason, records, …) | a case is done (in the order they finish) |
//! | `end` | `summary`: count per verdict; `millis`; `stopped`: why it ended early, or `null` | the run is over |
//! | `error` | `message` | a request refused (bad JSON, unknown target, no case selected, a run already going), or no WebSocket server at the target |
//!
//! One run at a time on the whole server (each case opens connections to
//! the target), one per session, each case's bytes kept up to
//! `--check-record-limit`, the whole run cut at `--check-time-limit`.
//! Closing the page's WebSocket stops its run.

use crate::shared::Shared;
use crate::ws::{Outcome, Session, WsStream, drive};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;
use wscope_check::{Settings, Target, cases, report, run_all};
use wscope_core::connection::{Connection, Event, Message};

/// What the page asks for.
#[derive(Debug, Deserialize)]
struct Request {
    target: usize,
    #[serde(default)]
    cases: String,
    #[serde(default)]
    exclude: String,
}

/// The run's notes, and its end.
enum Report {
    Note(Value),
    Done,
}

struct Checker {
    shared: Arc<Shared>,
    running: Option<mpsc::Receiver<Report>>,
}

/// The targets the page may pick from: this server's `/echo`, then the
/// operator's `--check-target`s.
pub(crate) fn targets(shared: &Shared) -> Vec<String> {
    let mut all = vec![format!("ws://{}/echo", shared.self_addr)];
    all.extend(shared.config.check.targets.iter().cloned());
    all
}

fn send(conn: &mut Connection, note: &Value) {
    let _ = conn.send(Message::Text(&note.to_string()));
}

fn error(message: impl Into<String>) -> Value {
    json!({ "type": "error", "message": message.into() })
}

impl Checker {
    fn start(&mut self, text: &str) -> Result<(), String> {
        if self.running.is_some() {
            return Err("a check is already running in this session; wait for its end".into());
        }
        let request: Request = serde_json::from_str(text)
            .map_err(|e| format!("expected {{\"target\": 0, \"cases\": \"…\", \"exclude\": \"…\"}}: {e}"))?;
        let all = targets(&self.shared);
        let url =
            all.get(request.target).ok_or_else(|| format!("no target {}; there are {}", request.target, all.len()))?;
        let mut target = Target::parse(url).map_err(|e| format!("{url}: {e}"))?;
        // With --allow-origin, the checker's connections must pass it too.
        target.origin = self.shared.config.allow_origins.first().cloned();
        let selected = cases::select(cases::all(), &request.cases, &request.exclude);
        if selected.is_empty() {
            return Err(format!("no case matches {:?} without {:?}", request.cases, request.exclude));
        }
        let permit = Arc::clone(&self.shared.check_permit)
            .try_acquire_owned()
            .map_err(|_| "another check is running on this server; try again when it ends".to_owned())?;
        let limits = &self.shared.config.check;
        let mut settings = Settings::new(limits.case_timeout);
        settings.record_limit = limits.record_limit;
        if target.tls {
            settings.tls = Some(wscope_check::run::tls_config(None, false).map_err(|e| e.to_string())?);
        }
        let (tx, rx) = mpsc::channel(4);
        let (time_limit, jobs) = (limits.time_limit, limits.jobs);
        let run = Run { url: url.clone(), target, settings, selected, time_limit, jobs };
        tokio::spawn(async move {
            let _permit = permit;
            let watch = tx.clone();
            // The page gone (its session over): the run stops at once, the
            // cases in flight are dropped, and the permit is free again.
            tokio::select! {
                () = run.go(tx) => {}
                () = watch.closed() => {}
            }
        });
        self.running = Some(rx);
        Ok(())
    }
}

/// One run, as the page asked for it.
struct Run {
    url: String,
    target: Target,
    settings: Settings,
    selected: Vec<wscope_check::Case>,
    time_limit: std::time::Duration,
    jobs: usize,
}

impl Run {
    /// Probes the target, runs every case, and reports each as it ends.
    async fn go(self, tx: mpsc::Sender<Report>) {
        let Run { url, target, settings, selected, time_limit, jobs } = self;
        let started = Instant::now();
        let total = selected.len();
        // Not a WebSocket server there: one line, as the command says it.
        if let Err(e) = wscope_check::run::probe(&target, &settings).await {
            let _ = tx.send(Report::Note(error(format!("{url}: no WebSocket server there: {e}")))).await;
            let _ = tx.send(Report::Done).await;
            return;
        }
        let _ = tx.send(Report::Note(json!({ "type": "start", "target": url, "total": total }))).await;
        let mut done = run_all(selected, Arc::new(target), Arc::new(settings), jobs);
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let stopped = loop {
            let next = tokio::select! {
                next = done.recv() => next,
                () = tokio::time::sleep(time_limit.saturating_sub(started.elapsed())) => {
                    break Some(format!("the run's time limit ({} s) was reached", time_limit.as_secs()));
                }
            };
            let Some((case, outcome)) = next else { break None };
            let n = counts.entry(outcome.verdict.to_string()).or_default();
            *n = n.saturating_add(1);
            let note = json!({ "type": "case", "case": report::case_json(&case, &outcome) });
            if tx.send(Report::Note(note)).await.is_err() {
                return;
            }
        };
        // Dropping the receiver stops the cases still running.
        drop(done);
        let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let end = json!({ "type": "end", "summary": counts, "millis": millis, "stopped": stopped });
        let _ = tx.send(Report::Note(end)).await;
        let _ = tx.send(Report::Done).await;
    }
}

impl Session for Checker {
    type Ready = Option<Report>;

    fn on_event(&mut self, conn: &mut Connection, event: Event) {
        match event {
            Event::Text(text) => {
                if let Err(message) = self.start(&text) {
                    send(conn, &error(message));
                }
            }
            Event::Binary(_) => send(conn, &error("send a run's request as a text message")),
            _ => {}
        }
    }

    async fn ready(&mut self) -> Option<Report> {
        match &mut self.running {
            Some(rx) => rx.recv().await,
            None => std::future::pending().await,
        }
    }

    fn on_ready(&mut self, conn: &mut Connection, report: Option<Report>) {
        match report {
            Some(Report::Note(note)) => send(conn, &note),
            Some(Report::Done) | None => self.running = None,
        }
    }
}

pub(crate) async fn serve(ws: WsStream, shared: &Arc<Shared>) -> Outcome {
    let mut checker = Checker { shared: Arc::clone(shared), running: None };
    drive(ws, shared, &mut checker).await
}
