//! The push-model consumer of records.

use std::convert::Infallible;

use crate::Record;

/// Whether a sink wants more records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep sending.
    Continue,
    /// This sink is done; the pipeline stops sending it records for the
    /// rest of the current call.
    Stop,
}

/// A consumer of [`Record`]s. Only [`Sink::record`] is required.
///
/// `Option<S>` is a sink that may be off, `Vec<S>` fans out to several,
/// `&mut S` and `Box<S>` forward.
pub trait Sink {
    /// Why a sink failed.
    type Error;

    /// Takes one record.
    fn record(&mut self, record: &Record<'_>) -> Result<Flow, Self::Error>;

    /// The input ended; flush anything buffered.
    fn finish(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl<S: Sink + ?Sized> Sink for &mut S {
    type Error = S::Error;
    #[inline]
    fn record(&mut self, record: &Record<'_>) -> Result<Flow, S::Error> {
        (**self).record(record)
    }
    fn finish(&mut self) -> Result<(), S::Error> {
        (**self).finish()
    }
}

impl<S: Sink + ?Sized> Sink for Box<S> {
    type Error = S::Error;
    #[inline]
    fn record(&mut self, record: &Record<'_>) -> Result<Flow, S::Error> {
        (**self).record(record)
    }
    fn finish(&mut self) -> Result<(), S::Error> {
        (**self).finish()
    }
}

impl<S: Sink> Sink for Option<S> {
    type Error = S::Error;
    #[inline]
    fn record(&mut self, record: &Record<'_>) -> Result<Flow, S::Error> {
        match self {
            Some(s) => s.record(record),
            None => Ok(Flow::Continue),
        }
    }
    fn finish(&mut self) -> Result<(), S::Error> {
        match self {
            Some(s) => s.finish(),
            None => Ok(()),
        }
    }
}

/// Fans out to every sink. Stops only when all of them stopped; the first
/// error is returned after every sink has had the record.
impl<S: Sink> Sink for Vec<S> {
    type Error = S::Error;
    fn record(&mut self, record: &Record<'_>) -> Result<Flow, S::Error> {
        let mut flow = Flow::Stop;
        let mut first_error = None;
        for sink in self.iter_mut() {
            match sink.record(record) {
                Ok(Flow::Continue) => flow = Flow::Continue,
                Ok(Flow::Stop) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None if self.is_empty() => Ok(Flow::Continue),
            None => Ok(flow),
        }
    }
    fn finish(&mut self) -> Result<(), S::Error> {
        let mut first_error = None;
        for sink in self.iter_mut() {
            if let Err(e) = sink.finish() {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// A sink from a closure that cannot fail.
#[derive(Debug)]
pub struct FnSink<F>(pub F);

impl<F: FnMut(&Record<'_>)> Sink for FnSink<F> {
    type Error = Infallible;
    #[inline]
    fn record(&mut self, record: &Record<'_>) -> Result<Flow, Infallible> {
        (self.0)(record);
        Ok(Flow::Continue)
    }
}
