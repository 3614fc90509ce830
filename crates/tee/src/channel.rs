//! Fan-out to consumers that may fall behind: try_send, drop and count.

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use thinktee_pipeline::{Flow, Record, Sink};
use tokio::sync::mpsc::{self, error::TrySendError};

/// A sink that turns the records a consumer wants into owned messages
/// (`map` returns `None` for the others) and `try_send`s them on a bounded
/// tokio channel.
///
/// It never waits: when the channel is full the message is dropped and
/// `dropped_total` goes up (the first drop on a counter is logged at debug
/// level). When the receiver is gone the sink says [`Flow::Stop`]. Use it
/// for telemetry (OpenTelemetry export and the like), where falling behind
/// must cost data, not latency.
///
/// Transcripts do not use it: theirs is lossless while the writer keeps
/// up; past the bound, dropped, counted, marked (see
/// [`TranscriptWriter`](crate::TranscriptWriter)).
pub struct ChannelSink<M, F> {
    tx: mpsc::Sender<M>,
    map: F,
    dropped: Arc<AtomicU64>,
}

/// A [`ChannelSink`] on a new channel of `capacity` messages, with its
/// receiver.
pub fn channel_sink<M, F>(capacity: usize, map: F) -> (ChannelSink<M, F>, mpsc::Receiver<M>)
where
    F: FnMut(&Record<'_>) -> Option<M>,
{
    let (tx, rx) = mpsc::channel(capacity);
    (ChannelSink::new(tx, map), rx)
}

impl<M, F> ChannelSink<M, F> {
    /// A sink sending on `tx`, with a counter of its own.
    pub fn new(tx: mpsc::Sender<M>, map: F) -> ChannelSink<M, F> {
        ChannelSink::with_counter(tx, map, Arc::default())
    }

    /// A sink sending on `tx` that counts drops in `dropped` (share one
    /// counter among the sinks of many streams).
    pub fn with_counter(tx: mpsc::Sender<M>, map: F, dropped: Arc<AtomicU64>) -> ChannelSink<M, F> {
        ChannelSink { tx, map, dropped }
    }

    /// The counter of messages dropped because the channel was full.
    pub fn dropped_total(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.dropped)
    }
}

impl<M, F> fmt::Debug for ChannelSink<M, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelSink")
            .field("capacity", &self.tx.max_capacity())
            .field("dropped_total", &self.dropped.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<M, F: FnMut(&Record<'_>) -> Option<M>> Sink for ChannelSink<M, F> {
    type Error = Infallible;

    fn record(&mut self, record: &Record<'_>) -> Result<Flow, Infallible> {
        let Some(message) = (self.map)(record) else { return Ok(Flow::Continue) };
        match self.tx.try_send(message) {
            Ok(()) => Ok(Flow::Continue),
            Err(TrySendError::Full(_)) => {
                if self.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::debug!(
                        capacity = self.tx.max_capacity(),
                        "consumer channel full: dropping records (counted in dropped_total)"
                    );
                }
                Ok(Flow::Continue)
            }
            Err(TrySendError::Closed(_)) => Ok(Flow::Stop),
        }
    }
}

#[cfg(test)]
mod tests {
    use thinktee_pipeline::{Event, Pipeline};

    use super::*;

    #[test]
    fn a_full_channel_drops_and_counts_a_closed_one_stops() {
        let (mut sink, mut rx) = channel_sink(2, |r: &Record<'_>| match r.event {
            Event::Text { text, .. } => Some(text.to_owned()),
            _ => None,
        });
        let dropped = sink.dropped_total();
        let chunk = |c: &str| {
            format!("data: {{\"choices\":[{{\"delta\":{{\"reasoning_content\":\"{c}\"}}}}]}}\n\n")
        };
        let mut pipeline = Pipeline::default();
        for c in ["a", "b", "c", "d"] {
            assert_eq!(pipeline.feed(chunk(c).as_bytes(), &mut sink), Ok(Flow::Continue));
        }
        assert_eq!(rx.try_recv().as_deref(), Ok("a"));
        assert_eq!(rx.try_recv().as_deref(), Ok("b"));
        assert!(rx.try_recv().is_err());
        assert_eq!(dropped.load(Ordering::Relaxed), 2);
        drop(rx);
        assert_eq!(pipeline.feed(chunk("e").as_bytes(), &mut sink), Ok(Flow::Stop));
    }
}
