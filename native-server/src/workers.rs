//! Thread per core: `--threads N` runs N single-threaded Tokio runtimes
//! (the main thread's and N − 1 more), and each accepted connection is
//! dealt to the one serving the fewest connections, where it stays.
//!
//! Why not Tokio's multi-thread scheduler: under load it serves some
//! connections again and again while others wait. Each worker's local run
//! queue holds 256 tasks; when more become ready at once (1 000 busy
//! connections), the rest overflow to the shared queue, which a worker
//! takes from only every few dozen polls while the I/O driver keeps
//! refilling the local queue, and a task woken by the driver jumps the
//! queue through the LIFO slot. Measured (BENCHMARKS.md, "Fairness"):
//! 1 000 connections × 1 KiB, 8 in flight, one worker: p99 27× the p50
//! on the multi-thread scheduler, 2–4× on a single-threaded one, whose
//! run queue is one unbounded first-in-first-out list. What is given up
//! is work stealing: a connection cannot move to an idle thread, so one
//! thread's share is the connections it was dealt.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::net::TcpStream;
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::warn;

/// The runtimes connections are dealt to.
#[derive(Debug)]
pub struct Workers {
    /// Connections served by the runtime that accepts (the caller's).
    here: Arc<AtomicUsize>,
    others: Vec<Worker>,
    /// Ends the other runtimes' threads (detached: the last holder of the
    /// server's state may be a task on one of them, which cannot join its
    /// own thread).
    stop: CancellationToken,
}

#[derive(Debug)]
struct Worker {
    handle: Handle,
    load: Arc<AtomicUsize>,
}

/// Counts a connection against its runtime while it lives.
struct Load(Arc<AtomicUsize>);

impl Load {
    fn new(count: &Arc<AtomicUsize>) -> Load {
        count.fetch_add(1, Ordering::Relaxed);
        Load(Arc::clone(count))
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Workers {
    /// Every connection on the caller's runtime (tests, embedding).
    pub fn here_only() -> Workers {
        Workers { here: Arc::default(), others: Vec::new(), stop: CancellationToken::new() }
    }

    /// The caller's runtime and `extra` more, each on a thread of its own
    /// named `wscope-worker-N`.
    pub fn start(extra: usize) -> std::io::Result<Workers> {
        let mut workers = Workers::here_only();
        for n in 1..=extra {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let handle = runtime.handle().clone();
            let stop = workers.stop.clone();
            std::thread::Builder::new()
                .name(format!("wscope-worker-{n}"))
                .spawn(move || runtime.block_on(stop.cancelled()))?;
            workers.others.push(Worker { handle, load: Arc::default() });
        }
        Ok(workers)
    }

    /// How many runtimes serve connections.
    pub fn count(&self) -> usize {
        self.others.len().saturating_add(1)
    }

    /// Runs `serve(stream)` on the runtime with the fewest connections,
    /// tracked by `tracker`. A stream moved to another runtime is
    /// registered with that runtime's I/O driver there.
    pub(crate) fn spawn<F, Fut>(&self, tracker: &TaskTracker, stream: TcpStream, serve: F)
    where
        F: FnOnce(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let here = self.here.load(Ordering::Relaxed);
        let fewest = self.others.iter().min_by_key(|w| w.load.load(Ordering::Relaxed));
        let Some(worker) = fewest.filter(|w| w.load.load(Ordering::Relaxed) < here) else {
            let load = Load::new(&self.here);
            tracker.spawn(async move {
                serve(stream).await;
                drop(load);
            });
            return;
        };
        let stream = match stream.into_std() {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "cannot hand a connection to a worker");
                return;
            }
        };
        let load = Load::new(&worker.load);
        tracker.spawn_on(
            async move {
                match TcpStream::from_std(stream) {
                    Ok(stream) => serve(stream).await,
                    Err(e) => warn!(error = %e, "a worker cannot take a connection"),
                }
                drop(load);
            },
            &worker.handle,
        );
    }
}

impl Drop for Workers {
    /// Stops the other runtimes, dropping what they still run.
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Accepts `n` connections and deals them; each answers with the name
    /// of the thread that serves it.
    async fn deal(workers: &Workers, n: usize) -> Vec<String> {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let tracker = TaskTracker::new();
        let mut clients = Vec::new();
        for _ in 0..n {
            let client = TcpStream::connect(addr).await.unwrap();
            let (stream, _) = listener.accept().await.unwrap();
            workers.spawn(&tracker, stream, |mut s| async move {
                let name = std::thread::current().name().unwrap_or("?").to_string();
                s.write_all(name.as_bytes()).await.unwrap();
                // Held open until the client leaves, so the load counts.
                let _ = s.read(&mut [0u8; 1]).await;
            });
            clients.push(client);
        }
        let mut names = Vec::new();
        for c in &mut clients {
            let mut buf = vec![0u8; 256];
            let k = c.read(&mut buf).await.unwrap();
            names.push(String::from_utf8_lossy(buf.get(..k).unwrap()).into_owned());
        }
        drop(clients);
        tracker.close();
        tracker.wait().await;
        names
    }

    #[tokio::test]
    async fn connections_are_dealt_evenly_and_served_where_dealt() {
        let workers = Workers::start(2).unwrap();
        assert_eq!(workers.count(), 3);
        let mut names = deal(&workers, 9).await;
        names.sort();
        let here = std::thread::current().name().unwrap_or("?").to_string();
        let mut want = vec![here.clone(), here.clone(), here];
        want.extend(["wscope-worker-1"; 3].map(String::from));
        want.extend(["wscope-worker-2"; 3].map(String::from));
        want.sort();
        assert_eq!(names, want);
        // Every connection ended, so every count is back to zero.
        assert_eq!(workers.here.load(Ordering::Relaxed), 0);
        assert!(workers.others.iter().all(|w| w.load.load(Ordering::Relaxed) == 0));
    }

    #[tokio::test]
    async fn here_only_serves_on_the_caller() {
        let workers = Workers::here_only();
        let names = deal(&workers, 3).await;
        let here = std::thread::current().name().unwrap_or("?").to_string();
        assert_eq!(names, vec![here; 3]);
    }
}
