//! The progress line: a bar redrawn in place on a terminal, a plain line
//! per case otherwise.

use std::io::IsTerminal;
use std::time::Instant;
use wscope_check::Verdict;

pub(crate) struct Progress {
    total: usize,
    done: usize,
    not_ok: usize,
    started: Instant,
    tty: bool,
}

impl Progress {
    pub(crate) fn new(total: usize) -> Progress {
        Progress { total, done: 0, not_ok: 0, started: Instant::now(), tty: std::io::stderr().is_terminal() }
    }

    pub(crate) fn done(&mut self, id: &str, verdict: Verdict) {
        self.done = self.done.saturating_add(1);
        if !matches!(verdict, Verdict::Ok | Verdict::Informational) {
            self.not_ok = self.not_ok.saturating_add(1);
        }
        let (done, total) = (self.done, self.total);
        if self.tty {
            const WIDTH: usize = 30;
            let filled = done.saturating_mul(WIDTH).checked_div(total).unwrap_or(WIDTH).min(WIDTH);
            let bar = format!("{}{}", "#".repeat(filled), ".".repeat(WIDTH.saturating_sub(filled)));
            let secs = self.started.elapsed().as_secs();
            eprint!("\r\x1b[2K[{bar}] {done}/{total}  {secs} s  not OK: {}  last: {id} {verdict}", self.not_ok);
        } else {
            eprintln!("[{done}/{total}] {id} {verdict}");
        }
    }

    pub(crate) fn end(&self) {
        if self.tty {
            eprintln!();
        }
    }
}
