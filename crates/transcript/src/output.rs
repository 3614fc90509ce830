//! Where a [`TranscriptSink`](crate::TranscriptSink) puts finished records.

use std::io::Write;

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
}

impl<O: Output + ?Sized> Output for &mut O {
    fn write_stream(&mut self, records: Vec<TranscriptRecord>) -> Result<(), Error> {
        (**self).write_stream(records)
    }

    fn flush(&mut self) -> Result<(), Error> {
        (**self).flush()
    }
}

impl<O: Output + ?Sized> Output for Box<O> {
    fn write_stream(&mut self, records: Vec<TranscriptRecord>) -> Result<(), Error> {
        (**self).write_stream(records)
    }

    fn flush(&mut self) -> Result<(), Error> {
        (**self).flush()
    }
}
