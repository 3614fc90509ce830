//! Reading a request body into memory within its limits: its size, the
//! client's silence, and a budget shared by every request in flight.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body::Body;
use http_body_util::BodyExt;

use crate::reply::BoxError;

/// Bytes of request bodies held in memory at once, across all requests:
/// the proxy buffers each body to forward it, so without a budget a few
/// slow uploads of the largest allowed size hold that much each.
///
/// A request reserves its `Content-Length` before reading its body, or
/// its bytes as they arrive when it declares none, and gives everything
/// back when it ends, however it ends.
#[derive(Debug)]
pub struct BodyBudget {
    limit: usize,
    reserved: AtomicUsize,
    peak: AtomicUsize,
}

impl BodyBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> BodyBudget {
        BodyBudget { limit, reserved: AtomicUsize::new(0), peak: AtomicUsize::new(0) }
    }

    /// The most bytes that may be reserved at once.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes reserved now.
    pub fn reserved(&self) -> usize {
        self.reserved.load(Ordering::Acquire)
    }

    /// The most bytes that were ever reserved at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Acquire)
    }

    /// Takes `n` more bytes if they fit.
    fn take(&self, n: usize) -> bool {
        let taken = self.reserved.fetch_update(Ordering::AcqRel, Ordering::Acquire, |reserved| {
            reserved.checked_add(n).filter(|&total| total <= self.limit)
        });
        match taken {
            Ok(before) => {
                self.peak.fetch_max(before + n, Ordering::AcqRel);
                true
            }
            Err(_) => false,
        }
    }

    fn give_back(&self, n: usize) {
        self.reserved.fetch_sub(n, Ordering::AcqRel);
    }
}

/// Bytes held against a [`BodyBudget`] (none without a budget), given back
/// on drop.
pub(crate) struct Reservation<'b> {
    budget: Option<&'b BodyBudget>,
    bytes: usize,
}

impl fmt::Debug for Reservation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reservation").field("bytes", &self.bytes).finish()
    }
}

impl<'b> Reservation<'b> {
    fn new(budget: Option<&'b BodyBudget>) -> Reservation<'b> {
        Reservation { budget, bytes: 0 }
    }

    /// Holds at least `total` bytes, or fails and holds what it held.
    fn cover(&mut self, total: usize) -> Result<(), Unread> {
        let Some(more) = total.checked_sub(self.bytes).filter(|&n| n > 0) else { return Ok(()) };
        if self.budget.is_some_and(|budget| !budget.take(more)) {
            return Err(Unread::OverBudget);
        }
        self.bytes = total;
        Ok(())
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if let Some(budget) = self.budget {
            budget.give_back(self.bytes);
        }
    }
}

/// Why a request body was not read.
#[derive(Debug)]
pub(crate) enum Unread {
    /// Declared or found to be over the size limit.
    TooLarge,
    /// No body bytes for this long.
    Stalled(Duration),
    /// The budget cannot hold it now.
    OverBudget,
    /// The client sent something that is not a body, or went away.
    Broken(BoxError),
}

/// What a body may cost.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimits {
    /// The largest body.
    pub(crate) max_bytes: usize,
    /// The longest silence between two body reads (`None`: forever).
    pub(crate) stall: Option<Duration>,
}

/// Reads `body` whole, `declared` being its `Content-Length`. The bytes
/// come back with their reservation, to be held as long as they are.
pub(crate) async fn read_body<'b, B>(
    body: B,
    declared: Option<u64>,
    limits: BodyLimits,
    budget: Option<&'b BodyBudget>,
) -> Result<(Bytes, Reservation<'b>), Unread>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let mut reservation = Reservation::new(budget);
    if let Some(declared) = declared {
        let declared = usize::try_from(declared).map_err(|_| Unread::TooLarge)?;
        if declared > limits.max_bytes {
            return Err(Unread::TooLarge);
        }
        reservation.cover(declared)?;
    }
    let mut body = std::pin::pin!(body);
    let mut chunks = Vec::new();
    let mut total = 0usize;
    loop {
        let frame = match limits.stall {
            Some(stall) => tokio::time::timeout(stall, body.frame())
                .await
                .map_err(|_| Unread::Stalled(stall))?,
            None => body.frame().await,
        };
        let Some(frame) = frame else { break };
        let frame = frame.map_err(|e| Unread::Broken(e.into()))?;
        let Ok(data) = frame.into_data() else { continue }; // trailers
        total = total.saturating_add(data.len());
        if total > limits.max_bytes {
            return Err(Unread::TooLarge);
        }
        reservation.cover(total)?;
        chunks.push(data);
    }
    Ok((concat(chunks, total), reservation))
}

fn concat(mut chunks: Vec<Bytes>, total: usize) -> Bytes {
    if chunks.len() == 1 {
        return chunks.pop().unwrap_or_default();
    }
    let mut whole = BytesMut::with_capacity(total);
    for chunk in chunks {
        whole.extend_from_slice(&chunk);
    }
    whole.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::Full;

    fn limits(max_bytes: usize) -> BodyLimits {
        BodyLimits { max_bytes, stall: None }
    }

    /// A body of several data frames, all ready.
    struct Pieces(std::collections::VecDeque<&'static str>);

    impl Body for Pieces {
        type Data = Bytes;
        type Error = BoxError;
        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
            let piece = self.0.pop_front().map(|p| Bytes::from_static(p.as_bytes()));
            std::task::Poll::Ready(piece.map(|p| Ok(http_body::Frame::data(p))))
        }
    }

    fn chunked(pieces: &[&'static str]) -> Pieces {
        Pieces(pieces.iter().copied().collect())
    }

    /// A client that declared a body and sends none of it.
    struct Silent;

    impl Body for Silent {
        type Data = Bytes;
        type Error = BoxError;
        fn poll_frame(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
            std::task::Poll::Pending
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_declared_length_is_reserved_before_any_byte_arrives() {
        let budget = BodyBudget::new(10);
        let limits = BodyLimits { max_bytes: 8, stall: Some(Duration::from_secs(1)) };
        let stalled = read_body(Silent, Some(6), limits, Some(&budget)).await;
        assert!(matches!(stalled, Err(Unread::Stalled(_))));
        assert_eq!((budget.peak(), budget.reserved()), (6, 0), "held while waiting, given back");
    }

    #[tokio::test]
    async fn a_reservation_is_given_back_on_drop_and_on_refusal() {
        let budget = BodyBudget::new(10);
        let (bytes, held) =
            read_body(Full::new(Bytes::from_static(b"abcdef")), Some(6), limits(8), Some(&budget))
                .await
                .unwrap();
        assert_eq!((&bytes[..], budget.reserved()), (&b"abcdef"[..], 6));
        // A second one does not fit beside it.
        let second =
            read_body(Full::new(Bytes::from_static(b"abcdef")), Some(6), limits(8), Some(&budget))
                .await;
        assert!(matches!(second, Err(Unread::OverBudget)));
        assert_eq!(budget.reserved(), 6, "the refused one gave back what it held");
        drop(held);
        assert_eq!((budget.reserved(), budget.peak()), (0, 6));
    }

    #[tokio::test]
    async fn undeclared_bodies_reserve_as_they_arrive() {
        let budget = BodyBudget::new(5);
        let (bytes, held) =
            read_body(chunked(&["ab", "cd"]), None, limits(8), Some(&budget)).await.unwrap();
        assert_eq!((&bytes[..], budget.reserved()), (&b"abcd"[..], 4));
        drop(held);
        let over = read_body(chunked(&["abc", "def"]), None, limits(8), Some(&budget)).await;
        assert!(matches!(over, Err(Unread::OverBudget)));
        assert_eq!((budget.reserved(), budget.peak()), (0, 4));
    }

    #[tokio::test]
    async fn the_size_limit_comes_before_the_budget() {
        let budget = BodyBudget::new(100);
        let declared = read_body(Full::new(Bytes::new()), Some(9), limits(8), Some(&budget)).await;
        assert!(matches!(declared, Err(Unread::TooLarge)));
        let found = read_body(chunked(&["abcde", "fghi"]), None, limits(8), Some(&budget)).await;
        assert!(matches!(found, Err(Unread::TooLarge)));
        assert_eq!((budget.reserved(), budget.peak()), (0, 5));
    }
}
