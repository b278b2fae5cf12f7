//! The report: a summary table per group and a line per non-OK case for
//! people, and a JSON file with everything (every byte each way) for tools
//! and for the explorer page.
//!
//! JSON schema (`--report FILE`), written case by case as cases finish (so
//! a run's memory does not grow with its report; with `--jobs` the order
//! is the order they finished in):
//!
//! ```text
//! { "tool": "wscope-check", "version": "0.1.0", "target": "ws://…",
//!   "cases": [ { "id": "1.1.8", "group": "1.1", "description": "…",
//!                "expectation": "…", "verdict": "OK" | "NON-STRICT" |
//!                "INFORMATIONAL" | "UNIMPLEMENTED" | "FAILED",
//!                "reason": "…", "close": "OK" | "FAILED" | "UNCLEAN" |
//!                "WRONG CODE" | "FAILED BY CLIENT" | null,
//!                "close_reason": "…", "client_close": 1000 | null,
//!                "server_close": 1000 | null, "millis": 12,
//!                "records": [ { "from": "client" | "server",
//!                               "micros": 120, "hex": "818…" } ] } ] }
//! ```
//!
//! `client_close`/`server_close` are absent when that side sent no close
//! frame and `null` for a close frame without a code. wscope's own cases
//! (groups 14-17) add `"section"`, the RFC section they hold the server
//! to (e.g. "4.2.1", "RFC 7692 5"); their `verdict` judges the close too,
//! so their `close` is `null` unless a WebSocket was opened and closed
//! after a handshake case. `records` are the
//! bytes exactly, in the order they crossed, as the server's tap keeps them,
//! up to `--record-limit` bytes per case (1 MiB unless told: the
//! performance cases move hundreds of MiB); `dropped_bytes`, when present,
//! counts the bytes past that. A case also stops at 10 000 events
//! received. `summary` (last) counts the verdicts.

use crate::case::Case;
use crate::run::Outcome;
use crate::verdict::{CloseBehavior, Verdict};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len().saturating_mul(2));
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// One case as JSON.
pub fn case_json(case: &Case, o: &Outcome) -> Value {
    let mut v = json!({
        "id": o.id,
        "group": case.group(),
        "description": case.description,
        "expectation": case.expectation,
        "verdict": o.verdict,
        "reason": o.reason,
        "close": o.close,
        "close_reason": o.close_reason,
        "millis": u64::try_from(o.duration.as_millis()).unwrap_or(u64::MAX),
        "records": o.records.iter().map(|r| json!({
            "from": if r.from_client { "client" } else { "server" },
            "micros": r.micros,
            "hex": hex(&r.bytes),
        })).collect::<Vec<_>>(),
    });
    if let Some(map) = v.as_object_mut() {
        if let Some(c) = o.client_close {
            map.insert("client_close".into(), json!(c));
        }
        if let Some(c) = o.server_close {
            map.insert("server_close".into(), json!(c));
        }
        if o.dropped_bytes > 0 {
            map.insert("dropped_bytes".into(), json!(o.dropped_bytes));
        }
        if let Some(own) = &case.own {
            map.insert("section".into(), json!(own.section));
        }
    }
    v
}

/// The whole report as JSON.
pub fn report_json(target: &str, results: &[(Case, Outcome)]) -> Value {
    json!({
        "tool": "wscope-check",
        "version": env!("CARGO_PKG_VERSION"),
        "target": target,
        "cases": results.iter().map(|(c, o)| case_json(c, o)).collect::<Vec<_>>(),
        "summary": counts(results),
    })
}

fn counts(results: &[(Case, Outcome)]) -> Value {
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for (_, o) in results {
        let n = by.entry(o.verdict.to_string()).or_default();
        *n = n.saturating_add(1);
    }
    json!(by)
}

/// The report written case by case to a file.
#[derive(Debug)]
pub struct Writer {
    out: std::io::BufWriter<std::fs::File>,
    first: bool,
}

impl Writer {
    /// Creates `path` and writes the report's head.
    pub fn create(path: &std::path::Path, target: &str) -> std::io::Result<Writer> {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        let head = json!({ "tool": "wscope-check", "version": env!("CARGO_PKG_VERSION"), "target": target });
        let head = head.to_string();
        // The head's object, left open for the cases.
        write!(out, "{},\n\"cases\": [", head.strip_suffix('}').unwrap_or(&head))?;
        Ok(Writer { out, first: true })
    }

    /// Adds one case.
    pub fn case(&mut self, case: &Case, outcome: &Outcome) -> std::io::Result<()> {
        let sep = if self.first { "\n" } else { ",\n" };
        self.first = false;
        write!(self.out, "{sep}{}", case_json(case, outcome))
    }

    /// Ends the report with the count of each verdict.
    pub fn finish(mut self, results: &[(Case, Outcome)]) -> std::io::Result<()> {
        write!(self.out, "\n],\n\"summary\": {}}}\n", counts(results))?;
        self.out.flush()
    }
}

/// The summary for people: per group, the count of each verdict; then
/// every case not OK, with its reason, in one line each.
pub fn summary(results: &[(Case, Outcome)]) -> String {
    let mut groups: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for (c, o) in results {
        let n = groups.entry(c.group()).or_default().entry(o.verdict.to_string()).or_default();
        *n = n.saturating_add(1);
    }
    let mut out = String::from("group   cases  verdicts\n");
    for (g, counts) in &groups {
        let total: usize = counts.values().sum();
        let list: Vec<String> = counts.iter().map(|(v, n)| format!("{v} {n}")).collect();
        let _ = writeln!(out, "{g:<7} {total:>5}  {}", list.join(", "));
    }
    for (_, o) in results {
        if o.verdict != Verdict::Ok {
            let _ = writeln!(out, "{} {}: {}", o.id, o.verdict, o.reason);
        }
        if let Some(close) = o.close.filter(|c| !matches!(c, CloseBehavior::Ok | CloseBehavior::Informational)) {
            let _ = writeln!(out, "{} close {close}: {}", o.id, o.close_reason);
        }
    }
    let count = |v: Verdict| results.iter().filter(|(_, o)| o.verdict == v).count();
    let _ = writeln!(
        out,
        "summary: {} cases: {} OK, {} NON-STRICT, {} INFORMATIONAL, {} UNIMPLEMENTED, {} FAILED",
        results.len(),
        count(Verdict::Ok),
        count(Verdict::NonStrict),
        count(Verdict::Informational),
        count(Verdict::Unimplemented),
        count(Verdict::Failed)
    );
    out
}
