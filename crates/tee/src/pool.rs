//! The parse side's threads: a fixed pool shared by every tee.
//!
//! One thread per concurrent stream cost a spawn per request and, at a
//! thousand streams, a thousand threads woken one chunk at a time (the load
//! harness measured +464 ms p99 per chunk at 1,000 streams on 2 cores). A
//! pool of one worker per core keeps the wake-ups few (a busy worker drains
//! its queue without sleeping) and the threads fixed. Each stream is pinned
//! to one worker, so its pieces are parsed in order.
//!
//! Sinks are synchronous and may block (a file write, a lossless send to the
//! transcript writer): on these threads that blocks neither the runtime's
//! workers nor tokio's shared blocking pool, and never the forward path. A
//! sink that blocks for long delays the other streams of its worker; their
//! queues are bounded like any other ([`MAX_QUEUED_BYTES`](crate::MAX_QUEUED_BYTES)).

use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{OnceLock, mpsc};

use crate::feed::Msg;

/// Name of the parse-side threads.
pub const PARSE_THREAD_NAME: &str = "thinktee-parse";

/// Most parse threads, whatever the core count.
pub const MAX_PARSE_THREADS: usize = 16;

/// One stream's parse side, as its worker drives it.
pub(crate) trait Job: Send {
    /// Handles one message; true when the stream is done.
    fn handle(&mut self, msg: Msg) -> bool;
}

pub(crate) enum WorkerMsg {
    Start(Box<dyn Job>),
    Msg(Msg),
}

/// Where a stream's messages go.
#[derive(Debug, Clone)]
pub(crate) struct JobSender {
    key: u64,
    tx: mpsc::Sender<(u64, WorkerMsg)>,
}

impl JobSender {
    /// Sends a message; false when the worker is gone (it panicked).
    pub(crate) fn send(&self, msg: Msg) -> bool {
        self.tx.send((self.key, WorkerMsg::Msg(msg))).is_ok()
    }
}

struct Pool {
    workers: Vec<mpsc::Sender<(u64, WorkerMsg)>>,
    next: AtomicUsize,
    keys: AtomicU64,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_PARSE_THREADS);
        let workers = (0..n)
            .filter_map(|i| {
                let (tx, rx) = mpsc::channel();
                let spawned = std::thread::Builder::new()
                    .name(format!("{PARSE_THREAD_NAME}-{i}"))
                    .spawn(move || work(rx));
                match spawned {
                    Ok(_) => Some(tx),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot start a thinktee parse thread");
                        None
                    }
                }
            })
            .collect();
        Pool { workers, next: AtomicUsize::new(0), keys: AtomicU64::new(0) }
    })
}

/// Hands a stream's parse side to a worker (round robin).
pub(crate) fn start(job: Box<dyn Job>) -> std::io::Result<JobSender> {
    let pool = pool();
    if pool.workers.is_empty() {
        return Err(std::io::Error::other("no thinktee parse thread could be started"));
    }
    let tx = pool.workers[pool.next.fetch_add(1, Ordering::Relaxed) % pool.workers.len()].clone();
    let key = pool.keys.fetch_add(1, Ordering::Relaxed);
    tx.send((key, WorkerMsg::Start(job)))
        .map_err(|_| std::io::Error::other("the thinktee parse thread is gone"))?;
    Ok(JobSender { key, tx })
}

fn work(rx: mpsc::Receiver<(u64, WorkerMsg)>) {
    let mut jobs: HashMap<u64, Box<dyn Job>> = HashMap::new();
    while let Ok((key, msg)) = rx.recv() {
        match msg {
            WorkerMsg::Start(job) => {
                jobs.insert(key, job);
            }
            WorkerMsg::Msg(msg) => {
                let Some(job) = jobs.get_mut(&key) else { continue };
                // A sink that panics loses its own stream (its handle
                // reports `ParseSidePanicked`), not the worker's others.
                let handled = panic::catch_unwind(AssertUnwindSafe(|| job.handle(msg)));
                if handled.unwrap_or(true) {
                    jobs.remove(&key);
                }
            }
        }
    }
}
