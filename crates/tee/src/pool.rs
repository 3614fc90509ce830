//! The parse pool: the threads that parse every tee's copy, and the thread
//! that writes raw captures; a value the embedder builds, passes to each
//! tee ([`Builder::new`](crate::Builder::new)) and shuts down.
//!
//! One thread per concurrent stream cost a spawn per request and, at a
//! thousand streams, a thousand threads woken one chunk at a time (the load
//! harness measured +464 ms p99 per chunk at 1,000 streams on 2 cores). A
//! pool of a fixed number of workers (by default one per core) keeps the
//! threads fixed. Each stream is pinned to one worker, so its pieces are
//! parsed in order. Raw captures have a worker of their own, started with
//! the first capture, so that a capture never waits behind parsing.
//!
//! # Ticks
//!
//! Pieces do not wake a worker. A worker with open streams looks at its
//! queue once per tick, between the pool's shortest and longest tick
//! ([`PoolBuilder::tick`], by default [`DEFAULT_TICK`] and
//! [`DEFAULT_MAX_TICK`]: longer while few messages come), and parses
//! everything queued since; a worker without open streams sleeps until
//! woken, by the start of a new stream. The end of a stream always wakes
//! its worker, so its report and transcript come at once, and so does a
//! stream whose queue passes a quarter of its bound (a fast producer must
//! not overflow within a tick). Parsing a piece costs 1–2 µs; waking a
//! sleeping thread for each one cost more than that on the forward side (a
//! futex call, in the way of the piece it forwards) and on the worker (a
//! context switch): at 1,000 streams of 50 chunks/s on 2 cores, recording
//! cost 38 µs of CPU per chunk against 25 µs for forwarding alone. Records
//! keep the arrival time stamped on the forward side, so the delay of up to
//! one tick changes no timing a sink sees; it does delay when a sink gets
//! them (2.4–7.4 ms measured with the defaults). A longest tick of zero
//! turns the batching off: every piece wakes its worker, and records reach
//! the sink as soon as the worker gets to them, for more CPU per piece. The
//! price of batching is a worker that wakes every tick while any of its
//! streams is open, however idle that stream (a wake-up cost about 13 µs of
//! CPU on the 2-core VM we measure on).
//!
//! Sinks are synchronous and may block (a file write): on these threads
//! that blocks neither the runtime's workers nor tokio's shared blocking
//! pool, and never the forward path. A sink that blocks for long delays the
//! other streams of its worker; their queues are bounded like any other
//! ([`MAX_QUEUED_BYTES`](crate::MAX_QUEUED_BYTES)). The transcript writer's
//! sinks never block (see [`TranscriptWriter`](crate::TranscriptWriter)).
//!
//! # Shutting down
//!
//! [`ParsePool::shutdown`] refuses new streams at once (a tee started after
//! it forwards without parsing, and its handle says
//! [`Error::PoolShutDown`](crate::Error::PoolShutDown)); each worker ends
//! once the streams it has are done; await the returned [`Shutdown`] (or
//! [`wait`](Shutdown::wait) for it) to know they all have. Dropping the
//! last handle on a pool shuts it down the same way, without waiting.

use std::collections::HashMap;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::Thread;
use std::time::Duration;

use crate::error::Error;
use crate::feed::Msg;

/// Name of the parse threads (`thinktee-parse-<i>`).
pub const PARSE_THREAD_NAME: &str = "thinktee-parse";

/// Most parse threads [`ParsePool::new`] starts, whatever the core count.
pub const MAX_PARSE_THREADS: usize = 16;

/// Name of the thread that writes raw captures.
pub const CAPTURE_THREAD_NAME: &str = "thinktee-capture";

/// Default shortest tick: how often a busy worker looks at its queue at
/// most (see the module docs).
pub const DEFAULT_TICK: Duration = Duration::from_millis(1);

/// Default longest tick: how long a worker with open streams may go
/// without looking at its queue.
pub const DEFAULT_MAX_TICK: Duration = Duration::from_millis(8);

/// The shortest tick a pool takes (a shorter one would have a busy
/// worker spin), unless its longest is zero (no batching).
pub const SHORTEST_TICK: Duration = Duration::from_micros(100);

/// A tick that brought fewer messages than this doubles, up to the longest
/// tick; one that brought more than [`MANY`] halves, down to the shortest.
const FEW: usize = 8;
const MANY: usize = 64;

/// Messages queued past this many wake a busy worker before its tick.
const WAKE_AT: usize = 1024;

/// Which workers a job runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Parsing: the pool's parse workers, round robin.
    Parse,
    /// Raw captures: one worker (file writes to the page cache outrun any
    /// network; one that blocks cuts captures, see `capture.rs`).
    Capture,
}

/// One stream's parse side (or capture), as its worker drives it.
pub(crate) trait Job: Send {
    /// Handles one message; true when the stream is done.
    fn handle(&mut self, msg: Msg) -> bool;
}

pub(crate) enum WorkerMsg {
    Start(Box<dyn Job>),
    Msg(Msg),
}

/// The shortest and longest tick of a pool's workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tick {
    min: Duration,
    max: Duration,
}

// === impl PoolBuilder ===

/// Sets up a [`ParsePool`]: its number of parse threads and its ticks.
#[derive(Debug, Clone)]
pub struct PoolBuilder {
    threads: usize,
    tick: Tick,
}

impl PoolBuilder {
    /// Parse threads: at least one. Default: one per core, at most
    /// [`MAX_PARSE_THREADS`].
    pub fn threads(mut self, n: usize) -> PoolBuilder {
        self.threads = n.max(1);
        self
    }

    /// How often a worker with open streams looks at its queue: every
    /// `min` at most while many pieces come, every `max` at least while few
    /// do. Both are at least [`SHORTEST_TICK`], and `min` at most `max`.
    /// A `max` of zero means no batching: every piece wakes its worker.
    /// Default [`DEFAULT_TICK`], [`DEFAULT_MAX_TICK`].
    pub fn tick(mut self, min: Duration, max: Duration) -> PoolBuilder {
        self.tick = if max.is_zero() {
            Tick { min: Duration::ZERO, max }
        } else {
            let max = max.max(SHORTEST_TICK);
            Tick { min: min.clamp(SHORTEST_TICK, max), max }
        };
        self
    }

    /// Starts the parse threads (the capture thread starts with the first
    /// capture). Fails, starting none, if one cannot be started.
    pub fn build(self) -> Result<ParsePool, Error> {
        let live = Arc::new(Live::default());
        let mut workers = Vec::with_capacity(self.threads);
        for i in 0..self.threads {
            match Worker::spawn(&format!("{PARSE_THREAD_NAME}-{i}"), self.tick, &live) {
                Ok(worker) => workers.push(worker),
                Err(e) => {
                    for worker in &workers {
                        worker.close();
                    }
                    return Err(Error::Spawn(e));
                }
            }
        }
        Ok(ParsePool {
            shared: Arc::new(Shared {
                parse: workers,
                capture: Mutex::new(None),
                tick: self.tick,
                next: AtomicUsize::new(0),
                keys: AtomicU64::new(0),
                closed: AtomicBool::new(false),
                live,
            }),
        })
    }
}

impl Default for PoolBuilder {
    fn default() -> PoolBuilder {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        PoolBuilder {
            threads: cores.min(MAX_PARSE_THREADS),
            tick: Tick { min: DEFAULT_TICK, max: DEFAULT_MAX_TICK },
        }
    }
}

// === impl ParsePool ===

/// The threads that parse the copies of every tee given this pool, and
/// the thread that writes their raw captures (see the module docs).
///
/// Build one per process (or per server) and give each tee a handle
/// ([`Builder::new`](crate::Builder::new)); clones are handles on the same
/// threads. Nothing is shared between pools.
#[derive(Clone)]
pub struct ParsePool {
    shared: Arc<Shared>,
}

struct Shared {
    parse: Vec<Worker>,
    /// Started with the first capture.
    capture: Mutex<Option<Worker>>,
    tick: Tick,
    next: AtomicUsize,
    keys: AtomicU64,
    closed: AtomicBool,
    live: Arc<Live>,
}

impl ParsePool {
    /// A pool with the defaults: one parse thread per core (at most
    /// [`MAX_PARSE_THREADS`]), ticks of [`DEFAULT_TICK`] to
    /// [`DEFAULT_MAX_TICK`].
    pub fn new() -> Result<ParsePool, Error> {
        PoolBuilder::default().build()
    }

    /// Settings: threads and ticks.
    pub fn builder() -> PoolBuilder {
        PoolBuilder::default()
    }

    /// Number of parse threads.
    pub fn threads(&self) -> usize {
        self.shared.parse.len()
    }

    /// The shortest and longest tick.
    pub fn tick(&self) -> (Duration, Duration) {
        (self.shared.tick.min, self.shared.tick.max)
    }

    /// Refuses new streams from now on; each worker ends once its streams
    /// are done. Await the result (or [`wait`](Shutdown::wait) for it) to
    /// know that every worker has ended; dropping it does not wait.
    pub fn shutdown(&self) -> Shutdown {
        self.shared.close();
        Shutdown { live: Arc::clone(&self.shared.live) }
    }

    /// Hands a stream's job to a worker (parse: round robin).
    pub(crate) fn start(&self, kind: Kind, job: Box<dyn Job>) -> Result<JobSender, Error> {
        let shared = &*self.shared;
        if shared.closed.load(Ordering::Acquire) {
            return Err(Error::PoolShutDown);
        }
        let key = shared.keys.fetch_add(1, Ordering::Relaxed);
        let queue = match kind {
            Kind::Parse => {
                let i = shared.next.fetch_add(1, Ordering::Relaxed) % shared.parse.len();
                Arc::clone(&shared.parse[i].queue)
            }
            Kind::Capture => shared.capture_queue()?,
        };
        match queue.push(key, WorkerMsg::Start(job), false) {
            Pushed::Queued => Ok(JobSender { key, queue }),
            Pushed::Refused => Err(Error::PoolShutDown),
        }
    }
}

impl fmt::Debug for ParsePool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsePool")
            .field("threads", &self.threads())
            .field("tick", &self.shared.tick)
            .field("closed", &self.shared.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        for worker in &self.parse {
            worker.close();
        }
        if let Some(worker) = &*lock(&self.capture) {
            worker.close();
        }
    }

    /// The capture worker's queue, starting it if need be.
    fn capture_queue(&self) -> Result<Arc<Queue>, Error> {
        let mut capture = lock(&self.capture);
        if let Some(worker) = &*capture {
            return Ok(Arc::clone(&worker.queue));
        }
        // Looked at under the lock `close` takes after setting it: a worker
        // started here is either refused or closed by it.
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::PoolShutDown);
        }
        let worker =
            Worker::spawn(CAPTURE_THREAD_NAME, self.tick, &self.live).map_err(Error::Spawn)?;
        let queue = Arc::clone(&worker.queue);
        *capture = Some(worker);
        Ok(queue)
    }
}

impl Drop for Shared {
    /// The last handle is gone: no stream can start any more; the workers
    /// end once theirs are done.
    fn drop(&mut self) {
        self.close();
    }
}

// === impl Shutdown ===

/// A pool shutting down: await it, or [`wait`](Shutdown::wait), until every
/// worker has ended (each once its open streams are done).
#[must_use = "the pool is already closed; await this to wait for its workers"]
pub struct Shutdown {
    live: Arc<Live>,
}

impl Shutdown {
    /// Blocks the thread until every worker has ended (not from async
    /// code: await the shutdown there).
    pub fn wait(self) {
        self.live.wait_blocking();
    }
}

impl IntoFuture for Shutdown {
    type Output = ();
    type IntoFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.live.wait().await })
    }
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown").field("workers", &*lock(&self.live.count)).finish()
    }
}

/// How many workers of a pool are still running.
#[derive(Debug, Default)]
struct Live {
    count: Mutex<usize>,
    changed: Condvar,
    ended: tokio::sync::Notify,
}

impl Live {
    fn started(&self) {
        *lock(&self.count) += 1;
    }

    fn ended(&self) {
        *lock(&self.count) -= 1;
        self.changed.notify_all();
        self.ended.notify_waiters();
    }

    fn wait_blocking(&self) {
        let count = lock(&self.count);
        drop(self.changed.wait_while(count, |n| *n > 0).unwrap_or_else(PoisonError::into_inner));
    }

    async fn wait(&self) {
        loop {
            let mut ended = std::pin::pin!(self.ended.notified());
            // Registered before the look: an end after it wakes us.
            ended.as_mut().enable();
            if *lock(&self.count) == 0 {
                return;
            }
            ended.await;
        }
    }
}

// === impl Worker ===

/// One worker thread and its inbox.
struct Worker {
    queue: Arc<Queue>,
}

impl Worker {
    fn spawn(name: &str, tick: Tick, live: &Arc<Live>) -> std::io::Result<Worker> {
        let queue = Arc::new(Queue::default());
        let inbox = Arc::clone(&queue);
        let alive = Arc::clone(live);
        live.started();
        let spawned = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || work(&inbox, tick, &alive));
        match spawned {
            Ok(handle) => {
                let _ = queue.thread.set(handle.thread().clone());
                Ok(Worker { queue })
            }
            Err(e) => {
                live.ended();
                Err(e)
            }
        }
    }

    fn close(&self) {
        lock(&self.queue.inbox).closing = true;
        if let Some(thread) = self.queue.thread.get() {
            thread.unpark();
        }
    }
}

/// What a worker has been sent and not yet taken.
#[derive(Default)]
struct Inbox {
    items: Vec<(u64, WorkerMsg)>,
    /// The pool shut down: no new stream; the worker ends once its
    /// streams are done.
    closing: bool,
    /// The worker has ended: nothing is taken any more.
    gone: bool,
}

/// A worker's inbox, and how to wake it.
#[derive(Default)]
struct Queue {
    inbox: Mutex<Inbox>,
    /// The worker is parked with no deadline: a sender must wake it.
    asleep: AtomicBool,
    thread: OnceLock<Thread>,
}

/// Whether a message was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pushed {
    Queued,
    /// The worker has ended, or (for a new stream) is closing.
    Refused,
}

impl Queue {
    fn push(&self, key: u64, msg: WorkerMsg, urgent: bool) -> Pushed {
        let queued = {
            let mut inbox = lock(&self.inbox);
            let refused = inbox.gone || (inbox.closing && matches!(msg, WorkerMsg::Start(_)));
            if refused {
                return Pushed::Refused;
            }
            inbox.items.push((key, msg));
            inbox.items.len()
        };
        // Pairs with the worker's store before its last look at the queue:
        // either it sees this message or this sees it asleep.
        if (urgent || queued >= WAKE_AT || self.asleep.load(Ordering::SeqCst))
            && let Some(thread) = self.thread.get()
        {
            thread.unpark();
        }
        Pushed::Queued
    }

    /// Moves everything queued into `batch`; whether the pool is closing.
    fn take(&self, batch: &mut Vec<(u64, WorkerMsg)>) -> bool {
        let mut inbox = lock(&self.inbox);
        std::mem::swap(&mut inbox.items, batch);
        inbox.closing
    }

    /// Sleeps until a sender (or a shutdown, which unparks) wakes it.
    fn sleep(&self) {
        // Say so before the last look, so that a message queued after that
        // look sees `asleep` and wakes us.
        self.asleep.store(true, Ordering::SeqCst);
        if lock(&self.inbox).items.is_empty() {
            std::thread::park();
        }
        self.asleep.store(false, Ordering::SeqCst);
    }

    /// Ends the worker if nothing came since its last look.
    fn retire(&self) -> bool {
        let mut inbox = lock(&self.inbox);
        inbox.gone = inbox.items.is_empty();
        inbox.gone
    }
}

/// Where a stream's messages go.
#[derive(Clone)]
pub(crate) struct JobSender {
    key: u64,
    queue: Arc<Queue>,
}

impl fmt::Debug for JobSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobSender").field("key", &self.key).finish_non_exhaustive()
    }
}

impl JobSender {
    /// Sends a message; false when the worker is gone. The end of the
    /// input, and `urgent` messages, wake the worker at once; others wait
    /// for its tick.
    pub(crate) fn send(&self, msg: Msg, urgent: bool) -> bool {
        let urgent = urgent || matches!(msg, Msg::End(..));
        self.queue.push(self.key, WorkerMsg::Msg(msg), urgent) == Pushed::Queued
    }
}

/// Marks the worker gone and counts it out, however it ends.
struct Alive<'a> {
    queue: &'a Queue,
    live: &'a Live,
}

impl Drop for Alive<'_> {
    fn drop(&mut self) {
        lock(&self.queue.inbox).gone = true;
        self.live.ended();
    }
}

fn work(queue: &Queue, tick: Tick, live: &Live) {
    let _alive = Alive { queue, live };
    let mut jobs: HashMap<u64, Box<dyn Job>> = HashMap::new();
    let mut batch = Vec::new();
    let mut wait = tick.min;
    loop {
        let closing = queue.take(&mut batch);
        let taken = batch.len();
        if batch.is_empty() && jobs.is_empty() {
            if closing && queue.retire() {
                return;
            }
            queue.sleep();
            continue;
        }
        if batch.is_empty() && tick.max.is_zero() {
            // No batching: each piece wakes us.
            queue.sleep();
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
        if jobs.is_empty() || tick.max.is_zero() {
            wait = tick.min;
            continue;
        }
        // Let the next pieces gather (an urgent message cuts this short),
        // longer while few come: each wake-up costs more than a parse.
        if taken < FEW {
            wait = (wait * 2).clamp(tick.min, tick.max);
        } else if taken > MANY {
            wait = (wait / 2).max(tick.min);
        }
        std::thread::park_timeout(wait);
    }
}

/// Locks, whatever a panicking holder left (every state here stays
/// consistent between statements).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
