//! Where a [`TranscriptSink`](crate::TranscriptSink) puts finished records.

use std::io::Write;
use std::time::Duration;

use crate::error::Error;
use crate::record::TranscriptRecord;
use crate::writer::JsonlWriter;

/// A destination for the records of finished streams.
///
/// `Vec<TranscriptRecord>` keeps them in memory; [`JsonlWriter`] writes
/// JSON Lines; the tee crate's writer task sends them to a shared writer.
pub trait Output {
    /// Takes the records of one stream that just ended (one per choice) and
    /// makes them as durable as the output can: a file output writes and
    /// flushes them before returning.
    fn write_stream(&mut self, records: Vec<TranscriptRecord>) -> Result<(), Error>;

    /// Flushes anything still buffered.
    fn flush(&mut self) -> Result<(), Error> {
        Ok(())
    }

    /// Starts a new file now, if the output has files (`SIGUSR1`).
    fn rotate(&mut self) -> Result<(), Error> {
        Ok(())
    }

    /// How long until [`tick`](Output::tick) has work to do even if no
    /// stream ends (a file rotated at UTC midnight); `None`: never.
    fn next_tick(&self) -> Option<Duration> {
        None
    }

    /// Does the time-driven work that is due.
    fn tick(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

impl Output for Vec<TranscriptRecord> {
    fn write_stream(&mut self, mut records: Vec<TranscriptRecord>) -> Result<(), Error> {
        self.append(&mut records);
        Ok(())
    }
}

impl<W: Write> Output for JsonlWriter<W> {
    fn write_stream(&mut self, records: Vec<TranscriptRecord>) -> Result<(), Error> {
        self.write_stream_records(&records)
    }

    fn flush(&mut self) -> Result<(), Error> {
        JsonlWriter::flush(self)
    }

    fn rotate(&mut self) -> Result<(), Error> {
        JsonlWriter::rotate(self)
    }

    fn next_tick(&self) -> Option<Duration> {
        JsonlWriter::next_tick(self)
    }

    fn tick(&mut self) -> Result<(), Error> {
        JsonlWriter::tick(self)
    }
}

impl<O: Output + ?Sized> Output for &mut O {
    fn write_stream(&mut self, records: Vec<TranscriptRecord>) -> Result<(), Error> {
        (**self).write_stream(records)
    }

    fn flush(&mut self) -> Result<(), Error> {
        (**self).flush()
    }

    fn rotate(&mut self) -> Result<(), Error> {
        (**self).rotate()
    }

    fn next_tick(&self) -> Option<Duration> {
        (**self).next_tick()
    }

    fn tick(&mut self) -> Result<(), Error> {
        (**self).tick()
    }
}

impl<O: Output + ?Sized> Output for Box<O> {
    fn write_stream(&mut self, records: Vec<TranscriptRecord>) -> Result<(), Error> {
        (**self).write_stream(records)
    }

    fn flush(&mut self) -> Result<(), Error> {
        (**self).flush()
    }

    fn rotate(&mut self) -> Result<(), Error> {
        (**self).rotate()
    }

    fn next_tick(&self) -> Option<Duration> {
        (**self).next_tick()
    }

    fn tick(&mut self) -> Result<(), Error> {
        (**self).tick()
    }
}
