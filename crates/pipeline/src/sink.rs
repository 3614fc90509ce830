//! The push-model consumer of records, and the sinks made of sinks:
//! [`FanOut`] to many, [`Stamped`] at one time.

use std::convert::Infallible;
use std::time::Duration;

use crate::Record;

/// Whether a sink wants more records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep sending.
    Continue,
    /// This sink is done: it gets no more records for the rest of the
    /// input, only its [`finish`](Sink::finish). A
    /// [`Pipeline`](crate::Pipeline) remembers it across calls (each later
    /// call returns `Stop` at once), and a [`FanOut`] remembers it per sink.
    Stop,
}

/// A consumer of [`Record`]s. Only [`Sink::record`] is required.
///
/// `Option<S>` is a sink that may be off, [`FanOut`] fans out to several,
/// `&mut S` and `Box<S>` forward, [`Stamped`] stamps every record with one
/// time.
pub trait Sink {
    /// Why a sink failed: a real error type, so that it can be boxed,
    /// sent to another thread and walked by its
    /// [`source`](std::error::Error::source) chain up to whoever prints it.
    /// Sinks that cannot fail use [`Infallible`].
    type Error: std::error::Error + Send + Sync + 'static;

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

// === impl FanOut ===

/// Fans out to several sinks, remembering which of them said
/// [`Flow::Stop`]: a sink that stopped gets no more records (only its
/// `finish`), the others go on, and the fan-out says `Stop` once every sink
/// has. The first error is returned after every sink still on has had the
/// record. No sinks at all is a sink that never stops.
///
/// (A plain `Vec` of sinks has nowhere to remember who stopped, so it is
/// not a sink: wrap it, `FanOut::from(vec)`.)
#[derive(Debug)]
pub struct FanOut<S> {
    sinks: Vec<S>,
    /// Per sink: it said `Stop`.
    stopped: Vec<bool>,
    /// Sinks that have not stopped.
    on: usize,
}

impl<S> FanOut<S> {
    /// A fan-out to no sink yet.
    pub fn new() -> FanOut<S> {
        FanOut { sinks: Vec::new(), stopped: Vec::new(), on: 0 }
    }

    /// Adds a sink (it gets the records from now on).
    pub fn push(&mut self, sink: S) {
        self.sinks.push(sink);
        self.stopped.push(false);
        self.on += 1;
    }

    /// The sinks, in the order they were added.
    pub fn sinks(&self) -> &[S] {
        &self.sinks
    }

    /// Whether sink `i` said [`Flow::Stop`].
    pub fn is_stopped(&self, i: usize) -> bool {
        self.stopped.get(i).copied().unwrap_or(false)
    }

    /// Gives the sinks back.
    pub fn into_inner(self) -> Vec<S> {
        self.sinks
    }
}

impl<S> Default for FanOut<S> {
    fn default() -> Self {
        FanOut::new()
    }
}

impl<S> From<Vec<S>> for FanOut<S> {
    fn from(sinks: Vec<S>) -> Self {
        let on = sinks.len();
        FanOut { stopped: vec![false; on], sinks, on }
    }
}

impl<S: Sink> Sink for FanOut<S> {
    type Error = S::Error;

    fn record(&mut self, record: &Record<'_>) -> Result<Flow, S::Error> {
        if self.sinks.is_empty() {
            return Ok(Flow::Continue);
        }
        let mut first_error = None;
        for (sink, stopped) in self.sinks.iter_mut().zip(&mut self.stopped) {
            if *stopped {
                continue;
            }
            match sink.record(record) {
                Ok(Flow::Continue) => {}
                Ok(Flow::Stop) => {
                    *stopped = true;
                    self.on -= 1;
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None if self.on == 0 => Ok(Flow::Stop),
            None => Ok(Flow::Continue),
        }
    }

    fn finish(&mut self) -> Result<(), S::Error> {
        let mut first_error = None;
        for sink in &mut self.sinks {
            if let Err(e) = sink.finish() {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

// === impl Stamped ===

/// Stamps every record it passes on with one time: the records of a whole
/// JSON body all happen when the body's last byte arrived. With `None`,
/// records pass unchanged.
#[derive(Debug)]
pub struct Stamped<S> {
    inner: S,
    at: Option<Duration>,
}

impl<S> Stamped<S> {
    /// Passes records on to `inner`, stamped `at` (unchanged when `None`).
    pub fn new(inner: S, at: Option<Duration>) -> Stamped<S> {
        Stamped { inner, at }
    }

    /// Gives the sink back.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Sink> Sink for Stamped<S> {
    type Error = S::Error;

    #[inline]
    fn record(&mut self, record: &Record<'_>) -> Result<Flow, S::Error> {
        match self.at {
            Some(at) => self.inner.record(&Record { at: Some(at), ..*record }),
            None => self.inner.record(record),
        }
    }

    fn finish(&mut self) -> Result<(), S::Error> {
        self.inner.finish()
    }
}

// === impl DynSink ===

/// A sink whose type is erased, with its error: for a list of sinks of
/// different types ([`FanOut<DynSink>`]) or a sink chosen at run time.
pub type DynSink = Box<dyn Sink<Error = SinkError> + Send>;

/// Boxes a sink as a [`DynSink`]; its errors become [`SinkError`]s.
pub fn dyn_sink<S>(sink: S) -> DynSink
where
    S: Sink + Send + 'static,
{
    Box::new(Erased(sink))
}

/// The error of a [`DynSink`]: the sink's own error, its type erased.
///
/// It shows as that error does ([`Display`](std::fmt::Display) and
/// [`source`](std::error::Error::source) are the error's own, so nothing
/// is printed twice); [`get_ref`](SinkError::get_ref) gives the error
/// itself, to downcast.
#[derive(Debug)]
pub struct SinkError(Box<dyn std::error::Error + Send + Sync>);

impl SinkError {
    /// Erases `error`'s type.
    pub fn new<E: std::error::Error + Send + Sync + 'static>(error: E) -> SinkError {
        SinkError(Box::new(error))
    }

    /// The sink's own error (`downcast_ref` it to its type).
    pub fn get_ref(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }

    /// The sink's own error, boxed.
    pub fn into_inner(self) -> Box<dyn std::error::Error + Send + Sync> {
        self.0
    }
}

impl std::fmt::Display for SinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SinkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

struct Erased<S>(S);

impl<S: Sink> Sink for Erased<S> {
    type Error = SinkError;
    #[inline]
    fn record(&mut self, record: &Record<'_>) -> Result<Flow, SinkError> {
        self.0.record(record).map_err(SinkError::new)
    }
    fn finish(&mut self) -> Result<(), SinkError> {
        self.0.finish().map_err(SinkError::new)
    }
}

// === impl FnSink ===

/// A sink from a closure that cannot fail.
///
/// The closure's parameter type comes from [`FnSink::new`], so it needs no
/// annotation:
/// ```
/// use thinktee_pipeline::{Event, FnSink, Pipeline};
///
/// let mut texts = 0;
/// let mut sink = FnSink::new(|record| {
///     if let Event::Text { .. } = record.event {
///         texts += 1;
///     }
/// });
/// let mut pipeline = Pipeline::default();
/// pipeline.feed(b"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n", &mut sink).unwrap();
/// pipeline.finish(&mut sink).unwrap();
/// assert_eq!(texts, 1);
/// ```
#[derive(Debug)]
pub struct FnSink<F>(F);

impl<F: FnMut(&Record<'_>)> FnSink<F> {
    /// A sink calling `f` with every record.
    pub fn new(f: F) -> FnSink<F> {
        FnSink(f)
    }

    /// Gives the closure back.
    pub fn into_inner(self) -> F {
        self.0
    }
}

impl<F: FnMut(&Record<'_>)> Sink for FnSink<F> {
    type Error = Infallible;
    #[inline]
    fn record(&mut self, record: &Record<'_>) -> Result<Flow, Infallible> {
        (self.0)(record);
        Ok(Flow::Continue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Event, Pipeline};

    /// Says `Stop` at its `stop_at`-th text record; counts what comes after.
    #[derive(Debug, Default)]
    struct StopAt {
        stop_at: usize,
        texts: usize,
        after_stop: usize,
        finished: usize,
    }

    impl StopAt {
        fn new(stop_at: usize) -> StopAt {
            StopAt { stop_at, ..StopAt::default() }
        }
    }

    impl Sink for StopAt {
        type Error = Infallible;
        fn record(&mut self, record: &Record<'_>) -> Result<Flow, Infallible> {
            if self.texts >= self.stop_at {
                self.after_stop += 1;
                return Ok(Flow::Stop);
            }
            if let Event::Text { .. } = record.event {
                self.texts += 1;
                if self.texts == self.stop_at {
                    return Ok(Flow::Stop);
                }
            }
            Ok(Flow::Continue)
        }
        fn finish(&mut self) -> Result<(), Infallible> {
            self.finished += 1;
            Ok(())
        }
    }

    /// Five events of one text each, then `[DONE]`: one event per read.
    const READS: [&str; 6] = [
        "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"a\"}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"b\"}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"c\"}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"d\"}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"e\"}}]}\n\n",
        "data: [DONE]\n\n",
    ];

    #[test]
    fn a_stop_holds_for_the_rest_of_the_input_not_only_the_call() {
        let mut pipeline = Pipeline::default();
        let mut sink = StopAt::new(2);
        let flows: Vec<Flow> =
            READS.iter().map(|read| pipeline.feed(read.as_bytes(), &mut sink).unwrap()).collect();
        let last = pipeline.finish(&mut sink).unwrap();
        // The first read brings one text, the second the one it stops at.
        assert_eq!(
            flows,
            [Flow::Continue, Flow::Stop, Flow::Stop, Flow::Stop, Flow::Stop, Flow::Stop]
        );
        assert_eq!(last, Flow::Stop);
        assert!(pipeline.is_stopped());
        assert_eq!((sink.texts, sink.after_stop, sink.finished), (2, 0, 1));
    }

    #[test]
    fn a_fan_out_stops_each_sink_for_good_and_itself_once_all_have() {
        let mut pipeline = Pipeline::default();
        let mut fan = FanOut::from(vec![StopAt::new(1), StopAt::new(3), StopAt::new(usize::MAX)]);
        let mut flows = Vec::new();
        for read in READS {
            flows.push(pipeline.feed(read.as_bytes(), &mut fan).unwrap());
        }
        pipeline.finish(&mut fan).unwrap();
        // The third sink never stops: neither does the fan-out.
        assert_eq!(flows, [Flow::Continue; 6]);
        assert_eq!((fan.is_stopped(0), fan.is_stopped(1), fan.is_stopped(2)), (true, true, false));
        let got: Vec<(usize, usize, usize)> =
            fan.into_inner().iter().map(|s| (s.texts, s.after_stop, s.finished)).collect();
        assert_eq!(got, [(1, 0, 1), (3, 0, 1), (5, 0, 1)]);

        // Once the last one stops, so does the fan-out, for good.
        let mut pipeline = Pipeline::default();
        let mut fan = FanOut::from(vec![StopAt::new(1), StopAt::new(2)]);
        let flows: Vec<Flow> =
            READS.iter().map(|read| pipeline.feed(read.as_bytes(), &mut fan).unwrap()).collect();
        assert_eq!(
            flows,
            [Flow::Continue, Flow::Stop, Flow::Stop, Flow::Stop, Flow::Stop, Flow::Stop]
        );
        pipeline.finish(&mut fan).unwrap();
        let got: Vec<(usize, usize, usize)> =
            fan.into_inner().iter().map(|s| (s.texts, s.after_stop, s.finished)).collect();
        assert_eq!(got, [(1, 0, 1), (2, 0, 1)]);
    }
}
