//! The results of every agent: each case's outcome (without its bytes) for
//! the summary and `/getCaseStatus`, and, when a report is asked for, the
//! case's JSON line spooled to an unnamed file, so the report can be written
//! again at each `/updateReports` without holding the bytes in memory.

use crate::case::Case;
use crate::report;
use crate::run::Outcome;
use serde_json::json;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// One agent's results, by case number (1-based, as the agent asked).
#[derive(Debug, Default)]
struct Agent {
    outcomes: BTreeMap<usize, Outcome>,
    /// Where each case's JSON line is in the spool: offset and length.
    lines: BTreeMap<usize, (u64, u64)>,
    /// The latest case's JSON line, bytes and all (for `/getCaseReport`).
    latest: Option<(usize, String)>,
    /// When it last recorded a result (the board's clock).
    touched: u64,
}

#[derive(Debug, Default)]
struct Inner {
    agents: BTreeMap<String, Agent>,
    spool: Option<File>,
    /// Bytes written to the spool so far.
    spooled: u64,
    /// The spool broke (disk full) or reached its limit: the report stops
    /// growing (what it has is kept).
    spool_error: Option<String>,
    /// Counts results, to find the agent idle longest.
    clock: u64,
}

/// Bytes the report's spool may take by default (each case's line holds
/// its bytes in hex, up to twice the record limit).
pub const DEFAULT_SPOOL_LIMIT: u64 = 4 << 30;

/// Why a result was not taken.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BoardError {
    /// A new agent past the limit.
    #[error("{0} agents have results already (the limit; see --max-agents)")]
    TooManyAgents(usize),
}

/// The agents' results.
#[derive(Debug)]
pub struct Board {
    cases: Arc<Vec<Case>>,
    target: String,
    report: Option<PathBuf>,
    max_agents: usize,
    /// Bytes the report's spool may take on disk (re-run cases count again).
    spool_limit: u64,
    /// At the agent limit, a new agent takes the place of the one idle
    /// longest (a server open to many pages), instead of being refused.
    evict: bool,
    inner: Mutex<Inner>,
    changed: Notify,
}

impl Board {
    /// A board for `cases` (numbered from 1 in this order); with `report`,
    /// a spool beside it (an unnamed file, gone when the board is).
    pub fn new(
        cases: Arc<Vec<Case>>,
        target: String,
        report: Option<PathBuf>,
        max_agents: usize,
    ) -> std::io::Result<Board> {
        let spool = match &report {
            Some(path) => {
                let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
                Some(tempfile::tempfile_in(dir)?)
            }
            None => None,
        };
        let inner = Inner { spool, ..Inner::default() };
        Ok(Board {
            cases,
            target,
            report,
            max_agents,
            spool_limit: DEFAULT_SPOOL_LIMIT,
            evict: false,
            inner: Mutex::new(inner),
            changed: Notify::new(),
        })
    }

    /// A board without a report: results in memory only.
    pub fn in_memory(cases: Arc<Vec<Case>>, target: String, max_agents: usize) -> Board {
        Board {
            cases,
            target,
            report: None,
            max_agents,
            spool_limit: DEFAULT_SPOOL_LIMIT,
            evict: false,
            inner: Mutex::new(Inner::default()),
            changed: Notify::new(),
        }
    }

    /// The report's spool stops growing at `bytes` on disk.
    #[must_use]
    pub fn spool_limit(mut self, bytes: u64) -> Board {
        self.spool_limit = bytes;
        self
    }

    /// At the agent limit, a new agent replaces the one idle longest.
    #[must_use]
    pub fn evicting(mut self) -> Board {
        self.evict = true;
        self
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cases, numbered from 1.
    pub fn cases(&self) -> &[Case] {
        &self.cases
    }

    /// Whether `agent` may run a case: it has results already, or there is
    /// room for one more agent.
    pub fn admits(&self, agent: &str) -> Result<(), BoardError> {
        let inner = self.lock();
        if self.evict || inner.agents.contains_key(agent) || inner.agents.len() < self.max_agents {
            Ok(())
        } else {
            Err(BoardError::TooManyAgents(self.max_agents))
        }
    }

    /// Case `number` starts (again) for `agent`: an earlier result is
    /// forgotten, so `/getCaseStatus` waits for this run's.
    pub fn starting(&self, agent: &str, number: usize) {
        let mut inner = self.lock();
        if let Some(a) = inner.agents.get_mut(agent) {
            a.outcomes.remove(&number);
            a.lines.remove(&number);
            if a.latest.as_ref().is_some_and(|(n, _)| *n == number) {
                a.latest = None;
            }
        }
    }

    /// Keeps `outcome` of case `number` for `agent` (a case run again
    /// replaces its earlier result); its bytes go to the spool only, and
    /// what the peer sent is not kept (only the verdict and its reasons).
    pub fn record(&self, agent: &str, number: usize, mut outcome: Outcome) -> Result<(), BoardError> {
        let line = self.cases.get(number.wrapping_sub(1)).map(|case| {
            let mut v = report::case_json(case, &outcome);
            if let Some(map) = v.as_object_mut() {
                map.insert("agent".into(), json!(agent));
            }
            v.to_string()
        });
        outcome.records = Vec::new();
        outcome.seen = Vec::new();
        let mut inner = self.lock();
        if !inner.agents.contains_key(agent) && inner.agents.len() >= self.max_agents {
            if !self.evict {
                return Err(BoardError::TooManyAgents(self.max_agents));
            }
            let idlest = inner.agents.iter().min_by_key(|(_, a)| a.touched).map(|(name, _)| name.clone());
            if let Some(name) = idlest {
                inner.agents.remove(&name);
            }
        }
        inner.clock = inner.clock.saturating_add(1);
        let clock = inner.clock;
        let room = inner.spool_error.is_none()
            && inner.spooled.saturating_add(line.as_ref().map_or(0, |l| l.len() as u64)) <= self.spool_limit;
        if !room && inner.spool.is_some() && inner.spool_error.is_none() {
            inner.spool_error = Some(format!("the report reached its limit of {} bytes", self.spool_limit));
        }
        let at = match (line.as_ref(), inner.spool.as_mut()) {
            (Some(line), Some(spool)) if room => match append(spool, line.as_bytes()) {
                Ok(at) => Some(at),
                Err(e) => {
                    inner.spool_error = Some(e.to_string());
                    None
                }
            },
            _ => None,
        };
        if let Some((_, len)) = at {
            inner.spooled = inner.spooled.saturating_add(len);
        }
        let entry = inner.agents.entry(agent.to_owned()).or_default();
        entry.outcomes.insert(number, outcome);
        entry.touched = clock;
        entry.latest = line.map(|l| (number, l));
        if let Some(at) = at {
            entry.lines.insert(number, at);
        }
        drop(inner);
        self.changed.notify_waiters();
        Ok(())
    }

    /// The verdict of case `number` for `agent`, once there is one.
    pub fn verdict(&self, agent: &str, number: usize) -> Option<crate::Verdict> {
        self.lock().agents.get(agent).and_then(|a| a.outcomes.get(&number)).map(|o| o.verdict)
    }

    /// Case `number`'s result for `agent` as the report writes it: with its
    /// bytes when it is the agent's latest case or the report keeps it,
    /// else without (and `"records_dropped": true`).
    pub fn case_json(&self, agent: &str, number: usize) -> Option<String> {
        let mut inner = self.lock();
        let Inner { agents, spool, .. } = &mut *inner;
        let a = agents.get(agent)?;
        if let Some((n, line)) = &a.latest {
            if *n == number {
                return Some(line.clone());
            }
        }
        if let (Some(&(offset, len)), Some(spool)) = (a.lines.get(&number), spool.as_mut()) {
            let mut line = Vec::new();
            let read = spool
                .seek(SeekFrom::Start(offset))
                .and_then(|_| Read::by_ref(spool).take(len).read_to_end(&mut line))
                .and_then(|_| spool.seek(SeekFrom::End(0)));
            if read.is_ok() {
                return String::from_utf8(line).ok();
            }
        }
        let case = self.cases.get(number.wrapping_sub(1))?;
        let mut v = report::case_json(case, a.outcomes.get(&number)?);
        if let Some(map) = v.as_object_mut() {
            map.insert("agent".into(), json!(agent));
            map.insert("records_dropped".into(), json!(true));
        }
        Some(v.to_string())
    }

    /// Waits until a result is recorded (any), or `limit` passes.
    pub async fn changed(&self, limit: std::time::Duration) {
        let _ = tokio::time::timeout(limit, self.changed.notified()).await;
    }

    /// Case `number`'s verdict for `agent`, waiting for it up to `limit`.
    pub async fn wait_for(&self, agent: &str, number: usize, limit: std::time::Duration) -> Option<crate::Verdict> {
        let until = tokio::time::Instant::now().checked_add(limit);
        loop {
            // Registered before the check: a result recorded in between
            // still wakes this wait.
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(v) = self.verdict(agent, number) {
                return Some(v);
            }
            let until = until?;
            if tokio::time::timeout_at(until, notified).await.is_err() {
                return self.verdict(agent, number);
            }
        }
    }

    /// Each agent's results, in case order.
    pub fn results(&self) -> BTreeMap<String, Vec<(Case, Outcome)>> {
        let inner = self.lock();
        inner
            .agents
            .iter()
            .map(|(name, a)| {
                let list = a
                    .outcomes
                    .iter()
                    .filter_map(|(n, o)| self.cases.get(n.wrapping_sub(1)).map(|c| (c.clone(), o.clone())))
                    .collect();
                (name.clone(), list)
            })
            .collect()
    }

    /// The summary for people, per agent.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let results = self.results();
        if results.is_empty() {
            out.push_str("no agent has run a case\n");
        }
        for (agent, list) in results {
            out.push_str(&format!("agent {agent}: {} of {} cases\n", list.len(), self.cases.len()));
            out.push_str(&report::summary(&list));
        }
        out
    }

    /// Writes the report (when one was asked for), whole, to a file beside
    /// it first, then in its place: the same schema as a server's report,
    /// with `"role": "client"`, each case naming its `agent`, and a summary
    /// per agent.
    pub fn write_report(&self) -> std::io::Result<Option<PathBuf>> {
        let Some(path) = &self.report else { return Ok(None) };
        let mut inner = self.lock();
        let mut tmp = path.clone().into_os_string();
        tmp.push(".part");
        let tmp = PathBuf::from(tmp);
        let mut out = std::io::BufWriter::new(File::create(&tmp)?);
        let head = json!({
            "tool": "wscope-check",
            "version": env!("CARGO_PKG_VERSION"),
            "role": "client",
            "target": self.target,
            "agents": inner.agents.keys().collect::<Vec<_>>(),
        })
        .to_string();
        write!(out, "{},\n\"cases\": [", head.strip_suffix('}').unwrap_or(&head))?;
        let mut first = true;
        let mut summary = serde_json::Map::new();
        let Inner { agents, spool, spool_error, .. } = &mut *inner;
        for (name, agent) in agents.iter() {
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for o in agent.outcomes.values() {
                let n = counts.entry(o.verdict.to_string()).or_default();
                *n = n.saturating_add(1);
            }
            summary.insert(name.clone(), json!(counts));
            let Some(spool) = spool.as_mut() else { continue };
            for &(offset, len) in agent.lines.values() {
                let mut line = Vec::new();
                spool.seek(SeekFrom::Start(offset))?;
                Read::by_ref(spool).take(len).read_to_end(&mut line)?;
                out.write_all(if first { b"\n" } else { b",\n" })?;
                out.write_all(&line)?;
                first = false;
            }
            spool.seek(SeekFrom::End(0))?;
        }
        let mut tail = json!({ "summary": summary });
        if let (Some(e), Some(map)) = (spool_error.as_ref(), tail.as_object_mut()) {
            map.insert("incomplete".into(), json!(format!("{e}: the cases after it have no line here")));
        }
        let tail = tail.to_string();
        write!(out, "\n],\n{}\n", tail.strip_prefix('{').unwrap_or(&tail))?;
        out.into_inner().map_err(std::io::IntoInnerError::into_error)?.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(Some(path.clone()))
    }
}

/// Appends `line` at the spool's end; where it went.
fn append(spool: &mut File, line: &[u8]) -> std::io::Result<(u64, u64)> {
    let at = spool.seek(SeekFrom::End(0))?;
    spool.write_all(line)?;
    Ok((at, line.len() as u64))
}
