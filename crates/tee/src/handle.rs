//! Awaiting the parse side and what it reports.

use thinktee_pipeline::InputEnd;
use tokio::sync::oneshot;

use crate::error::Error;

/// What the parse side of one tee did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeeReport {
    /// Bytes forwarded (all of them, parsed or not).
    pub bytes_seen: u64,
    /// Bytes handed to the pipeline.
    pub bytes_parsed: u64,
    /// The queue to the parse side hit its bound: parsing stopped there
    /// (forwarding went on). Also set for a JSON body over the bound.
    pub overflowed: bool,
    /// The sink returned this error; it got no records after it.
    pub sink_error: Option<String>,
    /// The sink said [`Flow::Stop`](thinktee_pipeline::Flow::Stop); it got
    /// no records after it (its `finish` was still called).
    pub sink_stopped: bool,
    /// Writing the raw capture failed with this error.
    pub capture_error: Option<String>,
    /// How the input ended, as the forward side saw it.
    pub end: Option<InputEnd>,
}

/// Awaits the end of a tee's parse side.
///
/// The parse side ends once the forwarded stream has ended or been dropped
/// and every queued piece has been parsed. Dropping the handle does not
/// stop it.
#[derive(Debug)]
pub struct TeeHandle<K> {
    pub(crate) rx: Result<oneshot::Receiver<(TeeReport, K)>, std::io::Error>,
}

impl<K> TeeHandle<K> {
    /// Waits for the parse side to end and returns its report.
    pub async fn join(self) -> Result<TeeReport, Error> {
        self.join_sink().await.map(|(report, _)| report)
    }

    /// Waits for the parse side to end and returns its report and the sink
    /// (finished).
    pub async fn join_sink(self) -> Result<(TeeReport, K), Error> {
        match self.rx {
            Ok(rx) => rx.await.map_err(|_| Error::ParseSidePanicked),
            Err(e) => Err(Error::Spawn(e)),
        }
    }
}
