//! Test-only helpers shared by the thinktee crates.
//!
//! - [`CountingAlloc`]: a global allocator wrapper around [`std::alloc::System`]
//!   that counts allocations made by the current thread, and the bytes they
//!   asked for, so a test can assert that a hot path allocates nothing
//!   ([`count_allocations`]) or that work grows in proportion to the input
//!   ([`count_allocated`]).
//!
//! This is the one crate in the workspace that allows `unsafe`: implementing
//! [`GlobalAlloc`] requires it. Every unsafe block only forwards to `System`.
#![allow(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    static BYTES: Cell<u64> = const { Cell::new(0) };
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

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees carry over; counting touches only a
// thread-local `Cell<u64>`, which never allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump(layout.size());
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump(layout.size());
        // SAFETY: forwarded unchanged; the caller upholds `alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from this allocator, i.e. from `System`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump(new_size);
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
