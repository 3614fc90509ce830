//! Steady-state allocation counts of `Decoder::feed`, measured with the
//! counting global allocator from `thinktee-testkit`.

use thinktee_sse::{Decoder, Frame};
use thinktee_testkit::{CountingAlloc, count_allocations};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const EVENTS: usize = 10_000;

/// A typical chat completion chunk event.
fn typical_event(i: usize) -> Vec<u8> {
    format!(
        "data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\
         \"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" token{i}\"}},\
         \"finish_reason\":null}}]}}\n\n"
    )
    .into_bytes()
}

/// A small deterministic xorshift generator for split points.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Feeds `chunks` and returns (events seen, total data bytes, allocations).
fn measure(decoder: &mut Decoder, chunks: &[&[u8]]) -> (usize, usize, u64) {
    let ((events, bytes), allocations) = count_allocations(|| {
        let (mut events, mut bytes) = (0, 0);
        for chunk in chunks {
            decoder.feed(chunk, |frame| {
                if let Frame::Event(event) = frame {
                    events += 1;
                    bytes += event.data.len();
                }
            });
        }
        (events, bytes)
    });
    (events, bytes, allocations)
}

#[test]
fn the_counter_counts() {
    let (buffer, allocations) = count_allocations(|| Vec::<u8>::with_capacity(16));
    assert_eq!(allocations, 1);
    drop(buffer);
    // An event split across feeds goes through the decoder's buffers, which
    // allocate on first use: the counter must see that.
    let mut decoder = Decoder::new();
    let (_, _, allocations) = measure(&mut decoder, &[b"data: a", b"bc\n\n"]);
    assert!(allocations > 0);
}

#[test]
fn aligned_events_allocate_nothing() {
    let events: Vec<Vec<u8>> = (0..EVENTS).map(typical_event).collect();
    let chunks: Vec<&[u8]> = events.iter().map(Vec::as_slice).collect();
    let mut decoder = Decoder::new();
    measure(&mut decoder, &chunks[..100]); // warm-up

    let (seen, bytes, allocations) = measure(&mut decoder, &chunks);
    assert_eq!(seen, EVENTS);
    assert!(bytes > EVENTS * 100);
    assert_eq!(allocations, 0, "aligned feeds allocated");
}

#[test]
fn many_events_per_chunk_allocate_nothing() {
    let stream: Vec<u8> = (0..EVENTS).flat_map(typical_event).collect();
    let chunks: Vec<&[u8]> = stream.chunks(64 * 1024).collect();
    let mut decoder = Decoder::new();
    measure(&mut decoder, &chunks); // warm-up: buffers reach their size
    decoder.finish(|_| {});
    let (seen, _, allocations) = measure(&mut decoder, &chunks);
    assert_eq!(seen, EVENTS);
    assert_eq!(allocations, 0, "64 KiB feeds allocated");
}

#[test]
fn randomly_split_events_allocate_nothing_after_warm_up() {
    let stream: Vec<u8> = (0..EVENTS).flat_map(typical_event).collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut chunks = Vec::new();
    let mut rest = stream.as_slice();
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at((1 + rng.below(300)).min(rest.len()));
        chunks.push(chunk);
        rest = tail;
    }
    let mut decoder = Decoder::new();
    measure(&mut decoder, &chunks); // warm-up: buffers reach their size
    decoder.finish(|_| {});

    let (seen, _, allocations) = measure(&mut decoder, &chunks);
    assert_eq!(seen, EVENTS);
    assert_eq!(allocations, 0, "randomly split feeds allocated");
}
