//! One transcript writer thread shared by many concurrent streams: lossless
//! while it keeps up; past its bound, dropped, counted, marked.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError, mpsc};

use thinktee_transcript::{Output, RequestMeta, TranscriptRecord, TranscriptSink};
use tokio::sync::oneshot;

use crate::error::Error;

/// Default bound on the records queued for the writer thread (the stream
/// being written counts): past it, the records of a stream that ends are
/// dropped, counted and marked (see [`TranscriptWriter`]). A record is a
/// few KiB (its text, metrics and request metadata), so the default holds
/// a few MiB while a disk stalls.
pub const TRANSCRIPT_QUEUE: usize = 1024;

/// Name of the writer thread.
pub const WRITER_THREAD_NAME: &str = "thinktee-transcript";

enum Job {
    /// The records of one stream.
    Stream(Vec<TranscriptRecord>),
    /// Start a new file ([`Output::rotate`]).
    Rotate,
    /// Write what came before, flush, and stop.
    Shutdown,
}

/// What the senders and the writer thread share.
#[derive(Debug)]
struct Shared {
    /// Records sent and not yet written (the stream being written counts).
    queued: AtomicUsize,
    /// The bound on `queued`.
    bound: usize,
    /// Records dropped since the writer last marked a line.
    unmarked: AtomicU64,
    /// Records dropped in all.
    dropped: Arc<AtomicU64>,
    /// A drop was logged.
    warned: AtomicBool,
    /// The writer took its last stream: sends fail. Senders hold it while
    /// they send, so that no stream is sent after the last look.
    closed: Mutex<bool>,
}

/// Owns a transcript [`Output`] (say a rotating
/// [`JsonlWriter`](thinktee_transcript::JsonlWriter)) on a thread of its own
/// and writes the records of many concurrent streams to it.
///
/// Each stream gets a [`TranscriptSink`] from [`sink`](TranscriptWriter::sink);
/// at the stream's end it hands the stream's records to the writer thread
/// and goes on at once: a parse thread never waits for the disk.
///
/// The policy: lossless while the writer keeps up; past the bound, dropped,
/// counted, marked. While fewer than the bound ([`TRANSCRIPT_QUEUE`] by
/// default) records are queued, a stream's records are queued whole. Past
/// it (the disk is slower than the streams end), the records of a stream
/// that ends are dropped: counted in [`dropped_total`](TranscriptWriter::dropped_total),
/// logged (a warning at the first drop), and the next line the writer
/// writes carries [`TranscriptRecord::dropped_before`] with how many were
/// dropped since the line before it. Drops after the last line are only
/// counted (and logged at shutdown). The sink is not told: a drop is not
/// its error, and recording goes on.
///
/// A failed write is the output's to log and count (a `JsonlWriter` does
/// both, [`WriterStats`](thinktee_transcript::WriterStats)); the streams
/// are not told either.
///
/// [`shutdown`](TranscriptWriter::shutdown) writes everything queued before
/// it, flushes and returns the output; sinks of streams that end later
/// return [`Error::Closed`](thinktee_transcript::Error::Closed).
pub struct TranscriptWriter<O> {
    tx: mpsc::Sender<Job>,
    shared: Arc<Shared>,
    done: oneshot::Receiver<(O, Result<(), thinktee_transcript::Error>)>,
}

impl<O: Output + Send + 'static> TranscriptWriter<O> {
    /// Starts the writer thread, with room for `queue` records (at least
    /// one stream's are always taken when nothing is queued).
    pub fn spawn(output: O, queue: usize) -> Result<TranscriptWriter<O>, Error> {
        let (tx, rx) = mpsc::channel();
        let (done_tx, done) = oneshot::channel();
        let shared = Arc::new(Shared {
            queued: AtomicUsize::new(0),
            bound: queue.max(1),
            unmarked: AtomicU64::new(0),
            dropped: Arc::default(),
            warned: AtomicBool::new(false),
            closed: Mutex::new(false),
        });
        let writer = Arc::clone(&shared);
        std::thread::Builder::new()
            .name(WRITER_THREAD_NAME.into())
            .spawn(move || {
                let mut output = output;
                loop {
                    // Woken for time-driven work too (rotation at midnight).
                    let job = match output.next_tick() {
                        Some(wait) => rx.recv_timeout(wait),
                        None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
                    };
                    let done = match job {
                        Ok(Job::Stream(records)) => {
                            writer.write(&mut output, records);
                            Ok(())
                        }
                        Ok(Job::Rotate) => output.rotate(),
                        Err(mpsc::RecvTimeoutError::Timeout) => output.tick(),
                        Ok(Job::Shutdown) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    };
                    if let Err(e) = done {
                        // The output logs and counts its failures (a JsonlWriter does).
                        tracing::debug!(error = &e as &dyn std::error::Error, "transcript rotation failed");
                    }
                }
                // Streams sent before the senders learn that it is closed
                // are written too.
                *writer.closed.lock().unwrap_or_else(PoisonError::into_inner) = true;
                while let Ok(job) = rx.try_recv() {
                    match job {
                        Job::Stream(records) => writer.write(&mut output, records),
                        Job::Rotate | Job::Shutdown => {}
                    }
                }
                // Closed before `shutdown` returns, so a rotator asked later
                // says the writer is gone.
                drop(rx);
                let unmarked = writer.unmarked.load(Ordering::Acquire);
                if unmarked > 0 {
                    tracing::warn!(
                        dropped = unmarked,
                        "transcript records dropped after the last line written (the writer fell behind)"
                    );
                }
                let flushed = output.flush();
                let _ = done_tx.send((output, flushed));
            })
            .map_err(Error::Spawn)?;
        Ok(TranscriptWriter { tx, shared, done })
    }
}

impl<O> TranscriptWriter<O> {
    /// An [`Output`] that hands streams to this writer.
    pub fn output(&self) -> ChannelOutput {
        ChannelOutput { tx: self.tx.clone(), shared: Arc::clone(&self.shared) }
    }

    /// A transcript sink for one stream, writing through this writer.
    pub fn sink(&self, meta: Option<RequestMeta>) -> TranscriptSink<ChannelOutput> {
        let mut sink = TranscriptSink::new(self.output());
        sink.set_meta(meta);
        sink
    }

    /// A handle that asks the writer thread to start a new file
    /// ([`Output::rotate`]) after the streams queued before it: for
    /// `SIGUSR1`, from another task.
    pub fn rotator(&self) -> Rotator {
        Rotator { tx: self.tx.clone() }
    }

    /// The count of records dropped because the queue was full (it goes on
    /// counting after shutdown).
    pub fn dropped_total(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.shared.dropped)
    }

    /// Writes every stream queued so far, flushes, stops the thread and
    /// returns the output (an error if the last flush failed).
    pub async fn shutdown(self) -> Result<O, Error> {
        if self.tx.send(Job::Shutdown).is_err() {
            tracing::debug!("transcript writer already gone at shutdown");
        }
        let (output, flushed) =
            self.done.await.map_err(|_| Error::Transcript(thinktee_transcript::Error::Closed))?;
        flushed?;
        Ok(output)
    }
}

impl<O> fmt::Debug for TranscriptWriter<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TranscriptWriter").field("queue", &self.shared).finish_non_exhaustive()
    }
}

impl Shared {
    /// On the writer thread: marks the stream's first line with the drops
    /// since the last one, writes the stream, frees its room.
    fn write<O: Output>(&self, output: &mut O, mut records: Vec<TranscriptRecord>) {
        let n = records.len();
        if let Some(first) = records.first_mut() {
            first.dropped_before = self.unmarked.swap(0, Ordering::AcqRel);
        }
        if let Err(e) = output.write_stream(records) {
            // The output logs and counts its failures (a JsonlWriter does).
            tracing::debug!(error = &e as &dyn std::error::Error, "transcript stream not written");
        }
        self.queued.fetch_sub(n, Ordering::AcqRel);
    }

    /// On a parse thread: takes room for `n` records if any is left.
    fn reserve(&self, n: usize) -> bool {
        self.queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |q| {
                (q < self.bound).then_some(q + n)
            })
            .is_ok()
    }

    fn drop_records(&self, n: usize) {
        let n = n as u64;
        self.unmarked.fetch_add(n, Ordering::AcqRel);
        let before = self.dropped.fetch_add(n, Ordering::Relaxed);
        if before == 0 && !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                bound = self.bound,
                "transcript writer behind: dropping records (counted, and marked on the next line written as dropped_before)"
            );
        }
    }
}

/// The [`Output`] of a [`TranscriptWriter`]: hands each stream's records to
/// the writer thread and returns at once; past the writer's bound it drops
/// them (counted and marked, see [`TranscriptWriter`]) and still returns
/// `Ok`. Only a writer that is gone is an error
/// ([`Error::Closed`](thinktee_transcript::Error::Closed)).
#[derive(Debug, Clone)]
pub struct ChannelOutput {
    tx: mpsc::Sender<Job>,
    shared: Arc<Shared>,
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Job::Stream(records) => write!(f, "Stream({} records)", records.len()),
            Job::Rotate => f.write_str("Rotate"),
            Job::Shutdown => f.write_str("Shutdown"),
        }
    }
}

/// Asks a [`TranscriptWriter`]'s thread to start a new file (see
/// [`TranscriptWriter::rotator`]). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Rotator {
    tx: mpsc::Sender<Job>,
}

impl Rotator {
    /// Queues the rotation; `false` when the writer is gone.
    pub fn rotate(&self) -> bool {
        self.tx.send(Job::Rotate).is_ok()
    }
}

impl Output for ChannelOutput {
    fn write_stream(
        &mut self,
        records: Vec<TranscriptRecord>,
    ) -> Result<(), thinktee_transcript::Error> {
        let n = records.len();
        if !self.shared.reserve(n) {
            self.shared.drop_records(n);
            return Ok(());
        }
        let closed = self.shared.closed.lock().unwrap_or_else(PoisonError::into_inner);
        if *closed || self.tx.send(Job::Stream(records)).is_err() {
            self.shared.queued.fetch_sub(n, Ordering::AcqRel);
            return Err(thinktee_transcript::Error::Closed);
        }
        Ok(())
    }
}
