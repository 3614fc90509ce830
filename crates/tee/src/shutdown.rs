//! Telling a cut by shutdown from a client that went away.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by a server when it cuts what is still open (its shutdown grace
/// period is over, or it was told to stop at once).
///
/// A tee dropped before its input ended ends it with
/// [`InputEnd::ClientCancelled`](thinktee_pipeline::InputEnd::ClientCancelled):
/// dropping a response body is how a server says its client went away.
/// When the server drops it because it is shutting down, that would be a
/// lie; a tee given this flag ([`Builder::shutdown_flag`](crate::Builder::shutdown_flag))
/// reads it when dropped, and ends with
/// [`InputEnd::Shutdown`](thinktee_pipeline::InputEnd::Shutdown) once it is
/// set. Clones share one flag; it is never cleared.
#[derive(Debug, Clone, Default)]
pub struct ShutdownFlag(Arc<AtomicBool>);

impl ShutdownFlag {
    /// A flag not yet set.
    pub fn new() -> ShutdownFlag {
        ShutdownFlag::default()
    }

    /// From now on, a tee dropped before its end was cut by shutdown.
    pub fn set(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether [`set`](ShutdownFlag::set) was called.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}
