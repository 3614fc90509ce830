//! `thinktee events`: every dispatched SSE event as one JSON line.

use std::io::{self, BufWriter, Write};

use serde_json::json;
use thinktee_pipeline::{Framer, Part};
use thinktee_sse::{Decoder, Frame};

use crate::Outcome;
use crate::input::{for_each_input, pump};

/// `thinktee events [--comments] [PATH|-]...`
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Also print comment lines (keep-alives) as {"comment": "..."}.
    #[arg(long)]
    comments: bool,
    /// SSE recordings; `-` is stdin.
    paths: Vec<String>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<Outcome> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for_each_input(&args.paths, &mut out, |mut input, out| {
        // Framed as `split` frames it, so the same input is the same
        // document here: a JSON body is said to be one, not read as SSE.
        let mut framer = Framer::new();
        let printer = Printer {
            comments: args.comments,
            name: input.name.clone(),
            result: Ok(()),
            bad: false,
        };
        let mut events = Events { decoder: Decoder::new(), printer, json: false };
        let read = pump(&mut input, out, |piece, out| {
            framer.feed(piece, |part| events.part(part, out));
            Ok(std::mem::replace(&mut events.printer.result, Ok(()))?)
        })?;
        framer.finish(|part| events.part(part, out));
        events.decoder.finish(|frame| events.printer.frame(frame, out));
        events.printer.result?;
        let bad = events.printer.bad || events.json || read == Outcome::HadErrors;
        Ok(if bad { Outcome::HadErrors } else { Outcome::Clean })
    })
}

/// One input's decoder and printer.
struct Events {
    decoder: Decoder,
    printer: Printer,
    /// The input held JSON bodies, not events.
    json: bool,
}

impl Events {
    fn part(&mut self, part: Part<'_>, out: &mut impl Write) {
        let name = &self.printer.name;
        match part {
            Part::Sse(bytes) => self.decoder.feed(bytes, |frame| self.printer.frame(frame, out)),
            Part::Body { .. } | Part::Item { .. } | Part::ArrayEnd if self.json => {}
            Part::Body { .. } | Part::Item { .. } | Part::ArrayEnd => {
                self.json = true;
                eprintln!("thinktee: {name}: a JSON document, not an event stream");
            }
            Part::Error(e) => {
                eprintln!("thinktee: {name}: {e}");
                self.printer.bad = true;
            }
        }
    }
}

/// Prints frames as JSON lines.
struct Printer {
    comments: bool,
    name: String,
    /// The first write error (nothing more is printed).
    result: io::Result<()>,
    bad: bool,
}

impl Printer {
    fn frame(&mut self, frame: Frame<'_>, out: &mut impl Write) {
        if self.result.is_err() {
            return;
        }
        let name = &self.name;
        let line = match frame {
            Frame::Event(ev) => json!({"event": ev.event, "data": ev.data, "id": ev.id}),
            Frame::Comment(text) if self.comments => json!({ "comment": text }),
            Frame::Comment(_) => return,
            Frame::Skipped(e) => {
                self.bad = true;
                eprintln!("thinktee: {name}: event skipped: {e}");
                return;
            }
            Frame::Truncated(raw) => {
                self.bad = true;
                eprintln!(
                    "thinktee: {name}: input ended inside an event ({} bytes not dispatched)",
                    raw.len()
                );
                return;
            }
        };
        self.result = serde_json::to_writer(&mut *out, &line)
            .map_err(io::Error::from)
            .and_then(|()| out.write_all(b"\n"));
    }
}
