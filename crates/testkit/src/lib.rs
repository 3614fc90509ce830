//! Helpers shared by the thinktee crates' tests, and by the demo.
//!
//! - [`network_pieces`]: a recording cut as a network might deliver it, at
//!   every blank line and inside every event (the tee tests and
//!   `thinktee demo` pace these pieces over time).
//! - [`CountingAlloc`]: a global allocator wrapper around [`std::alloc::System`]
//!   that counts allocations made by the current thread, and the bytes they
//!   asked for, so a test can assert that a hot path allocates nothing
//!   ([`count_allocations`]) or that work grows in proportion to the input
//!   ([`count_allocated`]); it also tracks the thread's live heap bytes, so
//!   [`peak_bytes`] can say how much memory a run held at most.
//!
//! This is the one crate in the workspace that allows `unsafe`: implementing
//! [`GlobalAlloc`] requires it. Every unsafe block only forwards to `System`.
#![allow(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ops::Range;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    static BYTES: Cell<u64> = const { Cell::new(0) };
    /// Bytes allocated minus bytes freed by this thread (frees of memory
    /// another thread allocated make it go down: measure single-threaded work).
    static LIVE: Cell<i64> = const { Cell::new(0) };
    /// The highest `LIVE` since the last reset.
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

/// Counts heap allocations (including reallocations) per thread.
///
/// Install it in a test binary with
/// `#[global_allocator] static ALLOC: CountingAlloc = CountingAlloc;`
/// and measure with [`count_allocations`].
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc;

/// Counts one allocation (or reallocation) of `bytes` bytes.
fn bump(bytes: usize) {
    // `try_with` because the thread-local may already be torn down while a
    // thread exits; those allocations are not part of any measurement.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
    let _ = BYTES.try_with(|c| c.set(c.get() + bytes as u64));
}

fn live(delta: i64) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees carry over; counting touches only a
// thread-local `Cell<u64>`, which never allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump(layout.size());
        live(layout.size() as i64);
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump(layout.size());
        live(layout.size() as i64);
        // SAFETY: forwarded unchanged; the caller upholds `alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        live(-(layout.size() as i64));
        // SAFETY: forwarded unchanged; `ptr` came from this allocator, i.e. from `System`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump(new_size);
        live(new_size as i64 - layout.size() as i64);
        // SAFETY: forwarded unchanged; `ptr` came from `System` with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` and returns its result with the number of allocations the
/// current thread made meanwhile. Only meaningful when [`CountingAlloc`] is
/// the global allocator of the test binary; otherwise the count is 0.
pub fn count_allocations<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = ALLOCATIONS.with(Cell::get);
    let value = f();
    let after = ALLOCATIONS.with(Cell::get);
    (value, after - before)
}

/// Runs `f` and returns its result with the most heap bytes the current
/// thread held meanwhile beyond what it held when `f` started. Only
/// meaningful when [`CountingAlloc`] is the global allocator and `f` does
/// its work on the calling thread; otherwise the count is 0 or partial.
pub fn peak_bytes<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let start = LIVE.with(Cell::get);
    let outer = PEAK.with(|peak| peak.replace(start));
    let value = f();
    let peak = PEAK.with(|peak| peak.replace(outer.max(peak.get())));
    (value, (peak - start).max(0) as u64)
}

/// What [`count_allocated`] measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allocated {
    /// Allocations, reallocations included.
    pub count: u64,
    /// Bytes asked for: the size of each allocation, and the new size of
    /// each reallocation.
    pub bytes: u64,
}

/// Runs `f` and returns its result with what the current thread allocated
/// meanwhile: how many allocations and how many bytes. Only meaningful when
/// [`CountingAlloc`] is the global allocator of the test binary; otherwise
/// both are 0.
pub fn count_allocated<T>(f: impl FnOnce() -> T) -> (T, Allocated) {
    let before = (ALLOCATIONS.with(Cell::get), BYTES.with(Cell::get));
    let value = f();
    let after = (ALLOCATIONS.with(Cell::get), BYTES.with(Cell::get));
    (value, Allocated { count: after.0 - before.0, bytes: after.1 - before.1 })
}

/// Where to cut a recording of server-sent events so it arrives as a body
/// over a network might: after every blank line (`\n\n`, `\r\r` or
/// `\r\n\r\n`) and in the middle of every event. The ranges cover `bytes`
/// in order, none empty.
pub fn network_pieces(bytes: &[u8]) -> Vec<Range<usize>> {
    let mut cuts = vec![0];
    let mut start = 0;
    for i in 1..bytes.len() {
        let blank =
            matches!(&bytes[i - 1..=i], b"\n\n" | b"\r\r") || bytes[..=i].ends_with(b"\r\n\r\n");
        if blank {
            cuts.push(start + (i + 1 - start) / 2);
            cuts.push(i + 1);
            start = i + 1;
        }
    }
    cuts.push(start + (bytes.len() - start) / 2);
    cuts.push(bytes.len());
    cuts.dedup();
    cuts.windows(2).map(|w| w[0]..w[1]).collect()
}

#[cfg(test)]
mod tests {
    use super::network_pieces;

    #[test]
    fn cut_after_blank_lines_and_inside_events() {
        // Written by hand: "data: a\n\n" is 0..9, cut in the middle at 4;
        // "data: bb\r\n\r\n" is 9..21, its middle 15; the unfinished
        // "data:c" is 21..27, its middle 24.
        let input = b"data: a\n\ndata: bb\r\n\r\ndata:c";
        assert_eq!(network_pieces(input), [0..4, 4..9, 9..15, 15..21, 21..24, 24..27]);
        // CR alone ends lines too: "a\r\r" is one event.
        assert_eq!(network_pieces(b"a\r\rb"), [0..1, 1..3, 3..4]);
        assert_eq!(network_pieces(b""), Vec::<std::ops::Range<usize>>::new());
    }
}
