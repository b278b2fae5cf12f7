//! Many cases against one server: `jobs` at a time, the performance cases
//! (9.*) alone after the rest, each outcome handed over as it finishes.

use super::{Outcome, Settings, Target, run_case};
use crate::case::Case;
use std::sync::Arc;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

/// Runs `selected` against `target`, `jobs` at a time (the 9.* cases alone,
/// after the others, as their timings would suffer from company), and sends
/// each case with its outcome as it finishes, in the order they finish.
///
/// Memory stays bounded however slowly the receiver reads: a case holds its
/// turn until its outcome is taken, so at most `jobs` outcomes wait. Dropping
/// the receiver stops the run (the running cases are aborted).
pub fn run_all(
    selected: Vec<Case>,
    target: Arc<Target>,
    settings: Arc<Settings>,
    jobs: usize,
) -> mpsc::Receiver<(Case, Outcome)> {
    let (tx, rx) = mpsc::channel(1);
    let (alone, shared): (Vec<Case>, Vec<Case>) = selected.into_iter().partition(|c| c.id.starts_with("9."));
    tokio::spawn(async move {
        for (batch, width) in [(shared, jobs.max(1)), (alone, 1)] {
            let gate = Arc::new(Semaphore::new(width));
            let mut running = JoinSet::new();
            for case in batch {
                let (target, settings, gate, tx) =
                    (Arc::clone(&target), Arc::clone(&settings), Arc::clone(&gate), tx.clone());
                running.spawn(async move {
                    let Ok(_turn) = gate.acquire_owned().await else { return };
                    let outcome = run_case(&target, &case, &settings).await;
                    let _ = tx.send((case, outcome)).await;
                });
            }
            loop {
                tokio::select! {
                    done = running.join_next() => if done.is_none() { break },
                    // Nobody reads: dropping the set aborts the cases.
                    () = tx.closed() => return,
                }
            }
        }
    });
    rx
}
