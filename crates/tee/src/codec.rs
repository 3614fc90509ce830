//! A tokio-util [`Decoder`] over the thinktee SSE decoder.

use std::collections::VecDeque;
use std::io;

use bytes::BytesMut;
use thinktee_sse::OwnedFrame;
use tokio_util::codec::Decoder;

/// Decodes server-sent events from a byte stream into owned frames, for
/// [`FramedRead`](tokio_util::codec::FramedRead).
///
/// Every byte is handed to [`thinktee_sse::Decoder`] exactly once (it keeps
/// its own partial-line state, so nothing is rescanned); the frames those
/// bytes complete are queued and handed out one per `decode` call. At the
/// end of the input, [`decode_eof`](Decoder::decode_eof) finishes the SSE
/// decoder, so an unfinished last event comes out as
/// [`OwnedFrame::Truncated`]. There are no fatal errors: broken limits are
/// [`OwnedFrame::Skipped`] frames and the stream goes on.
#[derive(Debug, Default)]
pub struct SseCodec {
    decoder: thinktee_sse::Decoder,
    queue: VecDeque<OwnedFrame>,
    /// The SSE decoder was finished and no byte came since.
    finished: bool,
}

impl SseCodec {
    /// A codec with the default SSE limits.
    pub fn new() -> SseCodec {
        SseCodec::default()
    }

    /// A codec around a configured decoder (see [`thinktee_sse::Builder`]).
    pub fn with_decoder(decoder: thinktee_sse::Decoder) -> SseCodec {
        SseCodec { decoder, queue: VecDeque::new(), finished: false }
    }
}

impl Decoder for SseCodec {
    type Item = OwnedFrame;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> io::Result<Option<OwnedFrame>> {
        if !src.is_empty() {
            self.finished = false;
            let queue = &mut self.queue;
            self.decoder.feed(src, |frame| queue.push_back(frame.to_owned_frame()));
            src.clear();
        }
        Ok(self.queue.pop_front())
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> io::Result<Option<OwnedFrame>> {
        if let Some(frame) = self.decode(src)? {
            return Ok(Some(frame));
        }
        if !self.finished {
            self.finished = true;
            let queue = &mut self.queue;
            self.decoder.finish(|frame| queue.push_back(frame.to_owned_frame()));
        }
        Ok(self.queue.pop_front())
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use thinktee_sse::parse_all;
    use tokio_util::codec::FramedRead;
    use tokio_util::io::StreamReader;

    use super::*;

    async fn frames(input: &[u8], piece: usize) -> Vec<OwnedFrame> {
        let pieces: Vec<io::Result<bytes::Bytes>> =
            input.chunks(piece).map(|c| Ok(bytes::Bytes::copy_from_slice(c))).collect();
        let reader = StreamReader::new(futures_util::stream::iter(pieces));
        FramedRead::new(reader, SseCodec::new()).map(|f| f.unwrap()).collect().await
    }

    #[tokio::test]
    async fn framed_read_matches_the_whole_input_decoder_for_any_piece_size() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/e2e");
        for stem in ["crlf_framing", "cr_only_framing", "sse_field_variants", "truncated_no_done"] {
            let input = std::fs::read(dir.join(format!("{stem}.sse"))).unwrap();
            let whole = parse_all(&input);
            assert!(!whole.is_empty());
            for piece in [1, 2, 7, 64, input.len()] {
                assert_eq!(frames(&input, piece).await, whole, "{stem} in {piece}-byte pieces");
            }
        }
    }

    #[tokio::test]
    async fn an_unfinished_last_event_is_truncated_at_eof() {
        let got = frames(b"data: a\n\ndata: b", 3).await;
        assert_eq!(got.len(), 2);
        assert!(matches!(&got[0], OwnedFrame::Event(e) if e.data == "a"));
        assert!(matches!(&got[1], OwnedFrame::Truncated(t) if t == "data: b"));
    }
}
