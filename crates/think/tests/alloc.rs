//! Feeding allocates nothing in the steady state.

use thinktee_testkit::{CountingAlloc, count_allocations};
use thinktee_think::{Builder, Segment, Splitter, StartMode};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// A realistic R1 stream: a think block, the close tag cut across deltas,
/// then the answer, in small deltas.
fn deltas() -> Vec<String> {
    let mut text = String::from("<think>\n");
    for i in 0..500 {
        text.push_str(&format!("Step {i}: compare 9.{i} and 9.8 < 10; so on. "));
    }
    text.push_str("\n</think>\n\n");
    for i in 0..500 {
        text.push_str(&format!("Answer part {i} with <b>html</b> and </th fakes. "));
    }
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut at = 0;
    let mut step = 1;
    while at < bytes.len() {
        let mut end = (at + step).min(bytes.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        out.push(text[at..end].to_owned());
        at = end;
        step = step % 13 + 1;
    }
    out
}

#[test]
fn feeding_allocates_nothing() {
    let deltas = deltas();
    for splitter in [Splitter::new(), Builder::new().start(StartMode::Explicit).build().unwrap()] {
        let mut splitter = splitter;
        let mut bytes = 0usize;
        let ((), allocations) = count_allocations(|| {
            for d in &deltas {
                splitter.feed(d, |s: Segment<'_>| bytes += s.text.len());
            }
            splitter.finish(|s: Segment<'_>| bytes += s.text.len());
        });
        assert_eq!(bytes, deltas.iter().map(String::len).sum::<usize>(), "lossless");
        assert_eq!(allocations, 0, "feeding {} deltas allocated", deltas.len());
    }
}

#[test]
fn trim_mode_allocates_only_while_warming_up() {
    let deltas = deltas();
    let mut splitter = Builder::new().trim(true).build().unwrap();
    // First stream warms the whitespace hold buffer up.
    for d in &deltas {
        splitter.feed(d, |_| {});
    }
    splitter.finish(|_| {});
    let ((), allocations) = count_allocations(|| {
        for d in &deltas {
            splitter.feed(d, |_| {});
        }
        splitter.finish(|_| {});
    });
    assert_eq!(allocations, 0);
}

#[test]
fn the_counter_counts() {
    let (v, allocations) = count_allocations(|| vec![1u8; 10]);
    assert_eq!(v.len(), 10);
    assert!(allocations >= 1, "the counting allocator is installed");
}
