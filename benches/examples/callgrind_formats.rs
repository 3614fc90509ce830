//! One read of a generated Responses API, Anthropic Messages, Gemini or
//! Ollama stream, counted by callgrind: thinktee end to end against what a user writes
//! today (the two sides of `benches/formats.rs`).
//!
//! ```text
//! callgrind_formats WHO FORMAT CHUNKING
//!   WHO       thinktee | today
//!   FORMAT    responses | messages | gemini | ollama
//!   CHUNKING  a piece size in bytes, or event (a line for ollama)
//! ```
//!
//! The input (1 MiB) is generated and cut before the count starts; only
//! [`counted`] is measured, under
//! `valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*counted*'`
//! (`scripts/callgrind-formats.sh` runs every case).
//!
//! `callgrind_formats time FORMAT CHUNKING` instead times both sides by
//! hand, alternating them 300 times, and prints the best and the median
//! of each and their ratios: on a loaded machine the best of many
//! alternating runs moves less than a criterion median.

use std::hint::black_box;
use std::process::ExitCode;

use bytes::Bytes;
use thinktee_benches::formats::{gemini_stream, messages_stream, ollama_stream, responses_stream};
use thinktee_benches::{Chunking, cut, line_pieces, shared_pieces};

#[path = "../shared/count.rs"]
mod count;
#[path = "../shared/formats_today.rs"]
mod sides;

use count::Tally;

const INPUT_LEN: usize = 1 << 20;

/// The one function callgrind counts (`--toggle-collect='*counted*'`).
#[inline(never)]
fn counted(who: &str, format: &str, pieces: &[&[u8]], shared: &[Bytes]) -> Tally {
    match (who, format) {
        ("thinktee", "ollama") => count::thinktee_document(pieces),
        ("thinktee", _) => count::thinktee(pieces),
        ("today", "responses") => sides::responses_today(shared),
        ("today", "gemini") => sides::gemini_today(shared),
        ("today", "ollama") => sides::ollama_today(shared),
        ("today", _) => sides::messages_today(shared),
        _ => unreachable!("checked in main"),
    }
}

/// Times thinktee and user today alternately; prints best and median.
fn time(format: &str, chunking: &str, pieces: &[&[u8]], shared: &[Bytes]) {
    use std::time::Instant;
    const ROUNDS: usize = 300;
    let (mut ours, mut theirs) = (Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS));
    for _ in 0..ROUNDS {
        let start = Instant::now();
        black_box(counted("thinktee", format, black_box(pieces), shared));
        ours.push(start.elapsed().as_secs_f64());
        let start = Instant::now();
        black_box(counted("today", format, pieces, black_box(shared)));
        theirs.push(start.elapsed().as_secs_f64());
    }
    for v in [&mut ours, &mut theirs] {
        v.sort_by(f64::total_cmp);
    }
    let ms = |s: f64| s * 1e3;
    let (best, median) = (|v: &[f64]| v[0], |v: &[f64]| v[v.len() / 2]);
    println!(
        "{format} {chunking}: thinktee best {:.3} ms median {:.3} ms; user today best {:.3} ms median {:.3} ms; ratio best {:.2}x median {:.2}x",
        ms(best(&ours)),
        ms(median(&ours)),
        ms(best(&theirs)),
        ms(median(&theirs)),
        best(&theirs) / best(&ours),
        median(&theirs) / median(&ours),
    );
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [who, format, chunking] = args.as_slice() else {
        eprintln!(
            "usage: callgrind_formats thinktee|today|time responses|messages|gemini|ollama SIZE|event"
        );
        return ExitCode::from(2);
    };
    let input = match format.as_str() {
        "responses" => responses_stream(INPUT_LEN),
        "messages" => messages_stream(INPUT_LEN),
        "gemini" => gemini_stream(INPUT_LEN),
        "ollama" => ollama_stream(INPUT_LEN),
        _ => return ExitCode::from(2),
    };
    let chunking = match chunking.as_str() {
        "event" => Chunking::Events,
        n => match n.parse() {
            Ok(n) if n > 0 => Chunking::Bytes(n),
            _ => return ExitCode::from(2),
        },
    };
    if !matches!(who.as_str(), "thinktee" | "today" | "time") {
        return ExitCode::from(2);
    }
    let pieces = match chunking {
        Chunking::Events if format == "ollama" => line_pieces(&input.bytes),
        _ => cut(&input.bytes, chunking),
    };
    let shared = if who == "thinktee" { Vec::new() } else { shared_pieces(&pieces) };
    if who == "time" {
        time(format, &chunking.name(), &pieces, &shared);
        return ExitCode::SUCCESS;
    }
    let found = counted(black_box(who), black_box(format), black_box(&pieces), black_box(&shared));
    let expected = Tally { thinking: input.thinking_bytes, answer: input.answer_bytes };
    let (name, len, events) = (chunking.name(), input.bytes.len(), input.events);
    println!("{who} {format} {name}: {len} bytes in {events} events, {found:?}");
    if found == expected { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
