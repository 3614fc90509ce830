//! The parse side's threads: a fixed pool shared by every tee; and the
//! capture thread, a pool of one that writes raw captures, so that a
//! capture never waits behind parsing.
//!
//! One thread per concurrent stream cost a spawn per request and, at a
//! thousand streams, a thousand threads woken one chunk at a time (the load
//! harness measured +464 ms p99 per chunk at 1,000 streams on 2 cores). A
//! pool of one worker per core keeps the threads fixed. Each stream is
//! pinned to one worker, so its pieces are parsed in order.
//!
//! Pieces never wake a worker. A worker with open streams looks at its
//! queue once per tick, between [`TICK`] and [`MAX_TICK`] (longer while
//! few messages come), and parses everything queued since; only a
//! worker without open streams sleeps until woken, by the start of a new
//! stream. The end of a stream always wakes its worker, so its report and
//! transcript come at once, and so does a stream whose queue passes a
//! quarter of its bound (a fast producer must not overflow within a tick). Parsing a piece costs 1–2 µs; waking a sleeping
//! thread for each one cost more than that on the forward side (a futex
//! call, in the way of the piece it forwards) and on the worker (a context
//! switch): at 1,000 streams of 50 chunks/s on 2 cores, recording cost
//! 38 µs of CPU per chunk against 25 µs for forwarding alone. Records keep
//! the arrival time stamped on the forward side, so the delay of up to one
//! tick changes no timing a sink sees. The price is a worker that wakes
//! every tick while any of its streams is open, however idle that stream
//! (a wake-up cost about 13 µs of CPU on the 2-core VM we measure on).
//!
//! Sinks are synchronous and may block (a file write, a lossless send to the
//! transcript writer): on these threads that blocks neither the runtime's
//! workers nor tokio's shared blocking pool, and never the forward path. A
//! sink that blocks for long delays the other streams of its worker; their
//! queues are bounded like any other ([`MAX_QUEUED_BYTES`](crate::MAX_QUEUED_BYTES)).

use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::Thread;
use std::time::Duration;

use crate::feed::Msg;

/// Name of the parse-side threads.
pub const PARSE_THREAD_NAME: &str = "thinktee-parse";

/// Most parse threads, whatever the core count.
pub const MAX_PARSE_THREADS: usize = 16;

/// Name of the thread that writes raw captures.
pub const CAPTURE_THREAD_NAME: &str = "thinktee-capture";

/// Which pool a job runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Parsing: one worker per core, at most [`MAX_PARSE_THREADS`].
    Parse,
    /// Raw captures: one worker (file writes to the page cache outrun any
    /// network; one that blocks cuts captures, see `capture.rs`).
    Capture,
}

/// How often a busy worker looks at its queue at most (see the module docs).
const TICK: Duration = Duration::from_millis(1);

/// How long a worker with open streams may go without looking at its queue.
const MAX_TICK: Duration = Duration::from_millis(8);

/// A tick that brought fewer messages than this doubles, up to
/// [`MAX_TICK`]; one that brought more than [`MANY`] halves, down to [`TICK`].
const FEW: usize = 8;
const MANY: usize = 64;

/// Messages queued past this many wake a busy worker before its tick.
const WAKE_AT: usize = 1024;

/// One stream's parse side, as its worker drives it.
pub(crate) trait Job: Send {
    /// Handles one message; true when the stream is done.
    fn handle(&mut self, msg: Msg) -> bool;
}

pub(crate) enum WorkerMsg {
    Start(Box<dyn Job>),
    Msg(Msg),
}

/// A worker's inbox.
struct Queue {
    items: Mutex<Vec<(u64, WorkerMsg)>>,
    /// The worker has no open stream and is parked with no deadline: a
    /// sender must wake it.
    asleep: AtomicBool,
    /// False once the worker thread has ended (it cannot, short of a bug:
    /// jobs run under `catch_unwind`).
    alive: AtomicBool,
    thread: OnceLock<Thread>,
}

impl Queue {
    /// Queues a message; false when the worker is gone.
    fn push(&self, key: u64, msg: WorkerMsg, urgent: bool) -> bool {
        if !self.alive.load(Ordering::Acquire) {
            return false;
        }
        let queued = {
            let mut items = self.items.lock().unwrap_or_else(PoisonError::into_inner);
            items.push((key, msg));
            items.len()
        };
        // Pairs with the worker's store before its last look at the queue:
        // either it sees this message or this sees it asleep.
        if (urgent || queued >= WAKE_AT || self.asleep.load(Ordering::SeqCst))
            && let Some(thread) = self.thread.get()
        {
            thread.unpark();
        }
        true
    }

    /// Moves everything queued into `batch`.
    fn take(&self, batch: &mut Vec<(u64, WorkerMsg)>) {
        let mut items = self.items.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::swap(&mut *items, batch);
    }

    fn is_empty(&self) -> bool {
        self.items.lock().unwrap_or_else(PoisonError::into_inner).is_empty()
    }
}

/// Where a stream's messages go.
#[derive(Clone)]
pub(crate) struct JobSender {
    key: u64,
    queue: Arc<Queue>,
}

impl std::fmt::Debug for JobSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobSender").field("key", &self.key).finish_non_exhaustive()
    }
}

impl JobSender {
    /// Sends a message; false when the worker is gone. The end of the
    /// input, and `urgent` messages, wake the worker at once; others wait
    /// for its tick.
    pub(crate) fn send(&self, msg: Msg, urgent: bool) -> bool {
        let urgent = urgent || matches!(msg, Msg::End(..));
        self.queue.push(self.key, WorkerMsg::Msg(msg), urgent)
    }
}

struct Pool {
    workers: Vec<Arc<Queue>>,
    next: AtomicUsize,
    keys: AtomicU64,
}

fn pool(kind: Kind) -> &'static Pool {
    static PARSE: OnceLock<Pool> = OnceLock::new();
    static CAPTURE: OnceLock<Pool> = OnceLock::new();
    match kind {
        Kind::Parse => PARSE.get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            Pool::spawn(PARSE_THREAD_NAME, cores.min(MAX_PARSE_THREADS))
        }),
        Kind::Capture => CAPTURE.get_or_init(|| Pool::spawn(CAPTURE_THREAD_NAME, 1)),
    }
}

impl Pool {
    /// Starts `n` workers named `<name>-<i>`.
    fn spawn(name: &str, n: usize) -> Pool {
        let workers = (0..n)
            .filter_map(|i| {
                let queue = Arc::new(Queue {
                    items: Mutex::new(Vec::new()),
                    asleep: AtomicBool::new(false),
                    alive: AtomicBool::new(true),
                    thread: OnceLock::new(),
                });
                let inbox = Arc::clone(&queue);
                let spawned = std::thread::Builder::new()
                    .name(format!("{name}-{i}"))
                    .spawn(move || work(&inbox));
                match spawned {
                    Ok(handle) => {
                        let _ = queue.thread.set(handle.thread().clone());
                        Some(queue)
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, thread = name, "cannot start a thinktee thread");
                        None
                    }
                }
            })
            .collect();
        Pool { workers, next: AtomicUsize::new(0), keys: AtomicU64::new(0) }
    }
}

/// Hands a stream's job to a worker of its pool (round robin).
pub(crate) fn start(kind: Kind, job: Box<dyn Job>) -> std::io::Result<JobSender> {
    let pool = pool(kind);
    if pool.workers.is_empty() {
        return Err(std::io::Error::other("no thinktee worker thread could be started"));
    }
    let queue = &pool.workers[pool.next.fetch_add(1, Ordering::Relaxed) % pool.workers.len()];
    let key = pool.keys.fetch_add(1, Ordering::Relaxed);
    if !queue.push(key, WorkerMsg::Start(job), false) {
        return Err(std::io::Error::other("the thinktee worker thread is gone"));
    }
    Ok(JobSender { key, queue: Arc::clone(queue) })
}

/// Marks the queue dead when the worker ends, however it ends.
struct Alive<'a>(&'a Queue);

impl Drop for Alive<'_> {
    fn drop(&mut self) {
        self.0.alive.store(false, Ordering::Release);
    }
}

fn work(queue: &Queue) {
    let _alive = Alive(queue);
    let mut jobs: HashMap<u64, Box<dyn Job>> = HashMap::new();
    let mut batch = Vec::new();
    let mut tick = TICK;
    loop {
        queue.take(&mut batch);
        let taken = batch.len();
        if batch.is_empty() && jobs.is_empty() {
            // No open stream: sleep until a sender wakes us. Say so before
            // the last look, so a message queued after that look sees
            // `asleep` and wakes us.
            queue.asleep.store(true, Ordering::SeqCst);
            if queue.is_empty() {
                std::thread::park();
            }
            queue.asleep.store(false, Ordering::SeqCst);
            continue;
        }
        for (key, msg) in batch.drain(..) {
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
        if !jobs.is_empty() {
            // Let the next pieces gather (an urgent message cuts this short),
            // longer while few come: each wake-up costs more than a parse.
            if taken < FEW {
                tick = (tick * 2).min(MAX_TICK);
            } else if taken > MANY {
                tick = (tick / 2).max(TICK);
            }
            std::thread::park_timeout(tick);
        } else {
            tick = TICK;
        }
    }
}
