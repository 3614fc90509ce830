//! One transcript writer thread shared by many concurrent streams.

use std::fmt;
use std::sync::mpsc;

use thinktee_transcript::{Output, RequestMeta, TranscriptRecord, TranscriptSink};
use tokio::sync::oneshot;

use crate::error::Error;

/// Default number of finished streams queued for the writer before the
/// parse sides that send more wait.
pub const TRANSCRIPT_QUEUE: usize = 256;

/// Name of the writer thread.
pub const WRITER_THREAD_NAME: &str = "thinktee-transcript";

enum Job {
    /// The records of one stream, and where to say whether they were written.
    Stream(Vec<TranscriptRecord>, mpsc::Sender<Result<(), thinktee_transcript::Error>>),
    /// Write what came before, flush, and stop.
    Shutdown,
}

/// Owns a transcript [`Output`] (say a rotating
/// [`JsonlWriter`](thinktee_transcript::JsonlWriter)) on a thread of its own
/// and writes the records of many concurrent streams to it.
///
/// Each stream gets a [`TranscriptSink`] from [`sink`](TranscriptWriter::sink);
/// at the stream's end it sends the stream's records over a bounded queue
/// ([`TRANSCRIPT_QUEUE`] streams) and waits until they are written and
/// flushed. The send is lossless: when the queue is full it waits, which
/// slows only that stream's parse side (a tee's parse side runs on its own
/// thread), never forwarding. A failed write comes back to that stream's
/// sink as its `Err`.
///
/// [`shutdown`](TranscriptWriter::shutdown) writes everything queued before
/// it, flushes and returns the output; streams that end later get
/// [`Error::Closed`](thinktee_transcript::Error::Closed).
pub struct TranscriptWriter<O> {
    tx: mpsc::SyncSender<Job>,
    done: oneshot::Receiver<(O, Result<(), thinktee_transcript::Error>)>,
}

impl<O: Output + Send + 'static> TranscriptWriter<O> {
    /// Starts the writer thread with a queue of `queue` streams.
    pub fn spawn(output: O, queue: usize) -> Result<TranscriptWriter<O>, Error> {
        let (tx, rx) = mpsc::sync_channel(queue);
        let (done_tx, done) = oneshot::channel();
        std::thread::Builder::new()
            .name(WRITER_THREAD_NAME.into())
            .spawn(move || {
                let mut output = output;
                while let Ok(job) = rx.recv() {
                    match job {
                        Job::Stream(records, ack) => {
                            let _ = ack.send(output.write_stream(records));
                        }
                        Job::Shutdown => break,
                    }
                }
                let flushed = output.flush();
                let _ = done_tx.send((output, flushed));
            })
            .map_err(Error::Spawn)?;
        Ok(TranscriptWriter { tx, done })
    }
}

impl<O> TranscriptWriter<O> {
    /// An [`Output`] that sends to this writer.
    pub fn output(&self) -> ChannelOutput {
        ChannelOutput { tx: self.tx.clone() }
    }

    /// A transcript sink for one stream, writing through this writer.
    pub fn sink(&self, meta: Option<RequestMeta>) -> TranscriptSink<ChannelOutput> {
        let mut sink = TranscriptSink::new(self.output());
        sink.set_meta(meta);
        sink
    }

    /// Writes every stream queued so far, flushes, stops the thread and
    /// returns the output (an error if the last flush failed).
    pub async fn shutdown(self) -> Result<O, Error> {
        let tx = self.tx;
        // The queue may be full: wait for room off the runtime's workers.
        let sent = tokio::task::spawn_blocking(move || tx.send(Job::Shutdown)).await;
        if !matches!(sent, Ok(Ok(()))) {
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
        f.debug_struct("TranscriptWriter").finish_non_exhaustive()
    }
}

/// The [`Output`] of a [`TranscriptWriter`]: sends each stream's records
/// and waits until they are written. Use it from a blocking context (a
/// tee's parse side), not from async code.
#[derive(Debug, Clone)]
pub struct ChannelOutput {
    tx: mpsc::SyncSender<Job>,
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Job::Stream(records, _) => write!(f, "Stream({} records)", records.len()),
            Job::Shutdown => f.write_str("Shutdown"),
        }
    }
}

impl Output for ChannelOutput {
    fn write_stream(
        &mut self,
        records: Vec<TranscriptRecord>,
    ) -> Result<(), thinktee_transcript::Error> {
        let (ack, written) = mpsc::channel();
        self.tx.send(Job::Stream(records, ack)).map_err(|_| thinktee_transcript::Error::Closed)?;
        written.recv().map_err(|_| thinktee_transcript::Error::Closed)?
    }
}
