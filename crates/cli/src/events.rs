//! `thinktee events`: every dispatched SSE event as one JSON line.

use std::io::{self, BufWriter, Write};

use serde_json::json;
use thinktee_sse::{Decoder, Frame};

use crate::Outcome;
use crate::input::for_each_input;

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
        let mut decoder = Decoder::new();
        let mut buf = Vec::new();
        let mut result: io::Result<()> = Ok(());
        let mut bad = false;
        let name = input.name.clone();
        let mut on_frame = |frame: Frame<'_>| {
            if result.is_err() {
                return;
            }
            let line = match frame {
                Frame::Event(ev) => json!({"event": ev.event, "data": ev.data, "id": ev.id}),
                Frame::Comment(text) if args.comments => json!({ "comment": text }),
                Frame::Comment(_) => return,
                Frame::Skipped(e) => {
                    bad = true;
                    eprintln!("thinktee: {name}: event skipped: {e}");
                    return;
                }
                Frame::Truncated(raw) => {
                    bad = true;
                    eprintln!(
                        "thinktee: {name}: input ended inside an event ({} bytes not dispatched)",
                        raw.len()
                    );
                    return;
                }
            };
            result = serde_json::to_writer(&mut *out, &line)
                .map_err(io::Error::from)
                .and_then(|()| out.write_all(b"\n"));
        };
        while input.read_piece(&mut buf)? {
            decoder.feed(&buf, &mut on_frame);
        }
        decoder.finish(&mut on_frame);
        result?;
        Ok(if bad { Outcome::HadErrors } else { Outcome::Clean })
    })
}
