//! Setting up a tee.

use std::fmt::Display;
use std::sync::Arc;

use bytes::Bytes;
use futures_core::Stream;
use thinktee_pipeline::{DocumentKind, Options, Pipeline, Sink};
use tokio::io::AsyncRead;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::capture::{CaptureJob, MAX_CAPTURE_QUEUED, RawCapture};
use crate::decode::{ContentEncoding, MAX_DECODED_BYTES};
use crate::feed::{Feeder, Shared, Tap, TeeReader, TeeStream};
use crate::handle::TeeHandle;
use crate::parse::{self, ParseSide, StreamJob};
use crate::pool::{Kind, ParsePool};
use crate::shutdown::ShutdownFlag;

/// Default bound on the bytes queued between the forward and parse sides
/// of one stream.
pub const MAX_QUEUED_BYTES: usize = 8 * 1024 * 1024;

/// Options of a tee; finish with [`Builder::stream`], [`Builder::reader`]
/// or [`Builder::tap`].
#[derive(Debug)]
pub struct Builder {
    pool: ParsePool,
    start: Option<Instant>,
    max_queued: usize,
    pipeline: Options,
    document: Option<DocumentKind>,
    capture: Option<RawCapture>,
    max_capture_queued: usize,
    shutdown: Option<ShutdownFlag>,
    encoding: ContentEncoding,
    max_decoded: u64,
}

impl Builder {
    /// A tee whose copy is parsed (and captured) on `pool`'s threads, with
    /// the defaults: times from the tee's creation, [`MAX_QUEUED_BYTES`],
    /// default pipeline options, document kind sniffed from the first
    /// bytes, no capture.
    pub fn new(pool: &ParsePool) -> Builder {
        Builder {
            pool: pool.clone(),
            start: None,
            max_queued: MAX_QUEUED_BYTES,
            pipeline: Options::default(),
            document: None,
            capture: None,
            max_capture_queued: MAX_CAPTURE_QUEUED,
            shutdown: None,
            encoding: ContentEncoding::Identity,
            max_decoded: MAX_DECODED_BYTES,
        }
    }

    /// Records are stamped with the time since `start` (the request's
    /// start) instead of since the tee's creation.
    pub fn start(mut self, start: Instant) -> Builder {
        self.start = Some(start);
        self
    }

    /// The bound on bytes queued for the parse side (each piece counts its
    /// length plus [`PIECE_OVERHEAD`](crate::PIECE_OVERHEAD)); also the
    /// largest JSON body parsed.
    pub fn max_queued_bytes(mut self, bytes: usize) -> Builder {
        self.max_queued = bytes;
        self
    }

    /// Splitter policy and SSE limits of the pipeline.
    pub fn pipeline(mut self, options: Options) -> Builder {
        self.pipeline = options;
        self
    }

    /// What the body is (say, from its `Content-Type`). The body is read
    /// as every thinktee reader reads a document
    /// ([`DocumentReader`](thinktee_pipeline::DocumentReader)): by its first
    /// byte after a BOM and whitespace, `{` or `[` for JSON (one body, held until
    /// it ends, or JSON Lines, each line when it ends), anything else SSE.
    /// [`DocumentKind::Sse`] reads it as SSE whatever its first byte;
    /// [`DocumentKind::Json`] still goes by the first byte (an HTML error
    /// page sent as JSON leaves one record, not one per line).
    pub fn document(mut self, kind: DocumentKind) -> Builder {
        self.document = Some(kind);
        self
    }

    /// Also write the exact bytes to `capture`, on the capture thread: it
    /// goes on when parsing stops (see [`RawCapture`]).
    pub fn capture(mut self, capture: RawCapture) -> Builder {
        self.capture = Some(capture);
        self
    }

    /// The bound on bytes queued for the capture (each piece counts its
    /// length plus [`PIECE_OVERHEAD`](crate::PIECE_OVERHEAD); default
    /// [`MAX_CAPTURE_QUEUED`]): past it the capture is cut and renamed
    /// `<id>.cut.sse`; forwarding goes on.
    pub fn max_capture_queued(mut self, bytes: usize) -> Builder {
        self.max_capture_queued = bytes;
        self
    }

    /// A tee dropped before its input ended reads `flag`: once it is set,
    /// the input ended by [`InputEnd::Shutdown`](thinktee_pipeline::InputEnd::Shutdown)
    /// rather than [`InputEnd::ClientCancelled`](thinktee_pipeline::InputEnd::ClientCancelled).
    pub fn shutdown_flag(mut self, flag: ShutdownFlag) -> Builder {
        self.shutdown = Some(flag);
        self
    }

    /// The body is encoded so (its HTTP `Content-Encoding`): the parse side
    /// decodes its copy before parsing it (the forwarded bytes stay as they
    /// came), or records why it cannot
    /// ([`ErrorKind::ContentEncoding`](thinktee_pipeline::ErrorKind::ContentEncoding),
    /// [`TeeReport::decode_error`](crate::TeeReport::decode_error)) and
    /// parses nothing from there on. Default: not encoded.
    pub fn content_encoding(mut self, encoding: ContentEncoding) -> Builder {
        self.encoding = encoding;
        self
    }

    /// The bound on the bytes an encoded body may decode to (default
    /// [`MAX_DECODED_BYTES`]): past it, parsing stops with an error.
    pub fn max_decoded_bytes(mut self, bytes: u64) -> Builder {
        self.max_decoded = bytes;
        self
    }

    /// Tees a stream of `Bytes`: returns the stream to forward and a handle
    /// on the parse side, which feeds `sink`.
    pub fn stream<S, E, K>(self, stream: S, sink: K) -> (TeeStream<S>, TeeHandle<K>)
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: Display,
        K: Sink + Send + 'static,
    {
        let (feeder, handle) = self.spawn(sink);
        (TeeStream::new(stream, feeder), handle)
    }

    /// Tees a reader: returns the reader to read from and a handle on the
    /// parse side, which feeds `sink`.
    pub fn reader<R, K>(self, reader: R, sink: K) -> (TeeReader<R>, TeeHandle<K>)
    where
        R: AsyncRead + Unpin,
        K: Sink + Send + 'static,
    {
        let (feeder, handle) = self.spawn(sink);
        (TeeReader::new(reader, feeder), handle)
    }

    /// A tee without a wrapped stream, for callers that poll their own
    /// body: hand the [`Tap`] each forwarded piece and then how the input
    /// ended. An exchange without a body (a proxy's own error response)
    /// is a tap ended at once.
    pub fn tap<K>(self, sink: K) -> (Tap, TeeHandle<K>)
    where
        K: Sink + Send + 'static,
    {
        let (feeder, handle) = self.spawn(sink);
        (Tap::new(feeder), handle)
    }

    fn spawn<K>(self, sink: K) -> (Feeder, TeeHandle<K>)
    where
        K: Sink + Send + 'static,
    {
        let pool = &self.pool;
        let capture = self.capture.and_then(|capture| {
            let shared = Arc::new(Shared::default());
            let (done_tx, done_rx) = oneshot::channel();
            let job = CaptureJob::new(capture, Arc::clone(&shared), done_tx);
            match pool.start(Kind::Capture, Box::new(job)) {
                Ok(tx) => Some(((tx, shared, self.max_capture_queued), done_rx)),
                Err(e) => {
                    tracing::warn!(
                        error = &e as &dyn std::error::Error,
                        "cannot start the raw capture: not captured"
                    );
                    None
                }
            }
        });
        let shared = Arc::new(Shared::default());
        let (done_tx, done_rx) = oneshot::channel();
        let side = ParseSide {
            reader: parse::reader(Pipeline::new(self.pipeline), self.document, self.max_queued),
            sink,
            start: self.start.unwrap_or_else(Instant::now),
            max_queued: self.max_queued,
            max_decoded: self.max_decoded,
            shared: Arc::clone(&shared),
        };
        let (parse, rx) = match pool.start(Kind::Parse, Box::new(StreamJob::new(side, done_tx))) {
            Ok(tx) => (Some((tx, shared, self.max_queued)), Ok(done_rx)),
            Err(e) => {
                tracing::warn!(
                    error = &e as &dyn std::error::Error,
                    "cannot start the parse side: forwarding only"
                );
                (None, Err(e))
            }
        };
        let (capture, capture_rx) = capture.unzip();
        let mut feeder = Feeder::new(parse, capture, self.shutdown);
        feeder.content_encoding(self.encoding);
        (feeder, TeeHandle { rx, capture: capture_rx })
    }
}

/// Tees `stream` into `sink`, parsed on `pool`, with the defaults (see
/// [`Builder`]).
pub fn tee<S, E, K>(pool: &ParsePool, stream: S, sink: K) -> (TeeStream<S>, TeeHandle<K>)
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Display,
    K: Sink + Send + 'static,
{
    Builder::new(pool).stream(stream, sink)
}
