//! [`UpdateMemo`]: what [`Parser`](crate::Parser) keeps to read Responses
//! API and Messages events faster than [`responses::parse`] and
//! [`messages::parse`], with the same result for every input.
//!
//! Most events of these streams are deltas, each nearly the one before: a
//! Messages `content_block_delta` differs from the last only in its text;
//! a Responses `response.output_text.delta` also in its `sequence_number`
//! and `obfuscation` (values the reader skips unseen). So the memo keeps
//! the last event that gave only a text (and nothing it would have to
//! copy), with where its text and each top-level value the reader skipped
//! sat: its *holes*. The next event is compared with it byte for byte
//! between the holes; in each hole the same scanner reads the new value as
//! the reader did (skipping it, or reading the text). If every piece
//! matches, the result is the kept one with the new text, and no key is
//! looked up.
//!
//! Why this is exact (as in `memo.rs`): a JSON reading is decided token by
//! token, left to right. Identical bytes before a hole give the same tokens
//! and the same reader state there, so the reader would do at the hole
//! what it did in the kept event: skip a value whatever it holds (only its
//! syntax, checked here by the same `skip_value`, and where it ends
//! matter), or read the text (checked and unescaped by the same scanner).
//! Identical bytes after it give the same tokens again. The event's kind
//! came from its own `type` (bytes outside the holes), so the SSE event
//! type changes nothing. The property tests in `tests/differential.rs`
//! check it against the plain readers on sequences of related events.
//!
//! Measured (callgrind, 1 MiB of the formats bench streams through
//! `Pipeline`, `scripts/callgrind-formats.sh`): the pipeline runs 13.7 %
//! fewer instructions on the Responses API stream at event-aligned reads
//! (10.79M to 9.31M), 13.2 % at 1460-byte reads; 23.7 % fewer on Messages
//! (17.03M to 13.00M), 23.9 % at 1460-byte reads.
//!
//! [`responses::parse`]: crate::responses::parse
//! [`messages::parse`]: crate::messages::parse

use std::borrow::Cow;
use std::ops::Range;

use crate::error::Error;
use crate::format::Format;
use crate::memo::span;
use crate::scan::Scanner;
use crate::text::unescape;
use crate::update::{Reasoning, ToolCall, Trace, Update};

/// Events longer than this are read without being kept: keeping them would
/// cost memory for little gain, as their text dominates the reading.
const MAX_KEPT: usize = 4096;

/// The last Responses or Messages event worth reusing, and the trace that
/// reading one notes into.
#[derive(Debug)]
pub(crate) struct UpdateMemo {
    kept: Option<Kept>,
    trace: Trace,
    /// The unescaped text of the last reused event.
    text: String,
    hits: u64,
}

impl Default for UpdateMemo {
    fn default() -> Self {
        UpdateMemo { kept: None, trace: Trace::on(), text: String::new(), hits: 0 }
    }
}

/// An event that gave only a text, and where its holes sat.
#[derive(Debug)]
struct Kept {
    /// The format whose reader read it.
    format: Format,
    src: String,
    /// In order, disjoint: the values the reader skipped unseen and the
    /// text's body (between its quotes).
    holes: Vec<Hole>,
    /// The update with an empty text where the text goes.
    update: Update<'static>,
    slot: Slot,
    /// Whether a reuse has dropped the holes whose values did not change
    /// ([`Kept::refine`]).
    refined: bool,
}

/// What [`Kept::reuse`] found: the new text's body, whether it has escapes
/// (then it was unescaped into the buffer), and which skipped holes held
/// the same bytes as before.
#[derive(Debug)]
struct Reused<'a> {
    text: &'a str,
    escaped: bool,
    unchanged: u64,
}

#[derive(Debug, Clone)]
struct Hole {
    at: Range<usize>,
    text: bool,
}

/// Where in an [`Update`] the text goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Content,
    Reasoning,
    Arguments,
}

impl UpdateMemo {
    /// Reads one event of a `format` stream (Responses or Messages) exactly
    /// as that format's `parse` does. Not inlined: inlined into the
    /// pipeline, it cost chat completions' path 6 % more instructions.
    #[inline(never)]
    pub(crate) fn parse<'a>(
        &'a mut self,
        format: Format,
        event_type: &str,
        data: &'a str,
    ) -> Result<Update<'a>, Error> {
        let buf = &mut self.text;
        if let Some(reused) = self.kept.as_ref().and_then(|kept| kept.reuse(format, data, buf)) {
            self.hits += 1;
            // Borrowed again here, as in `Parser::parse`.
            let Some(kept) = &mut self.kept else { unreachable!("reused an event never kept") };
            if !kept.refined {
                kept.refine(reused.unchanged);
            }
            let text = if reused.escaped { self.text.as_str() } else { reused.text };
            return Ok(kept.build(text));
        }
        let trace = &mut self.trace;
        let update = match format {
            Format::Responses => crate::responses::parse_traced(event_type, data, trace)?,
            _ => crate::messages::parse_traced(event_type, data, trace)?,
        };
        if data.len() <= MAX_KEPT
            && let Some(kept) = Kept::new(format, data, &update, trace, self.kept.take())
        {
            self.kept = Some(kept);
        }
        Ok(update)
    }

    /// How many events were read by reusing an earlier reading.
    pub(crate) fn reused(&self) -> u64 {
        self.hits
    }
}

impl Kept {
    /// What to keep of `update` (read from `data` with `trace` noted), or
    /// `None` if a reuse could not rebuild it without copying. `old` lends
    /// its buffers.
    fn new(
        format: Format,
        data: &str,
        update: &Update<'_>,
        trace: &Trace,
        old: Option<Kept>,
    ) -> Option<Kept> {
        let (texts, body) = trace.texts.clone();
        if !trace.self_typed || texts != 1 {
            return None;
        }
        let Update { id, model, finish_reason, error, tool_call, .. } = update;
        if id.is_some() || model.is_some() || finish_reason.is_some() || error.is_some() {
            return None;
        }
        let arguments = match tool_call {
            None => None,
            Some(call) if call.id.is_none() && call.name.is_none() => call.arguments.as_ref(),
            Some(_) => return None,
        };
        let reasoning = update.reasoning.as_ref().map(|r| &r.text);
        let (slot, text) = match (&update.content, reasoning, arguments) {
            (Some(text), None, None) => (Slot::Content, text),
            (None, Some(text), None) => (Slot::Reasoning, text),
            (None, None, Some(text)) => (Slot::Arguments, text),
            _ => return None,
        };
        // The text must be the one text string read, not a default (an
        // empty `Owned`: unescaping never gives one).
        let from_body = match text {
            Cow::Borrowed(text) => span(data, text) == Some(body.clone()),
            Cow::Owned(text) => !text.is_empty() && unescape(&data[body.clone()]) == *text,
        };
        if !from_body {
            return None;
        }
        let mut empty = update.clone();
        match slot {
            Slot::Content => empty.content = Some(Cow::Borrowed("")),
            Slot::Reasoning => empty.reasoning.as_mut()?.text = Cow::Borrowed(""),
            Slot::Arguments => empty.tool_call.as_mut()?.arguments = Some(Cow::Borrowed("")),
        }
        let (mut src, mut holes) = old.map(|old| (old.src, old.holes)).unwrap_or_default();
        src.clear();
        src.push_str(data);
        holes.clear();
        let skipped = trace.skipped.iter().map(|at| Hole { at: at.clone(), text: false });
        holes.extend(skipped);
        holes.push(Hole { at: body, text: true });
        holes.sort_unstable_by_key(|hole| hole.at.start);
        Some(Kept { format, src, holes, update: empty.into_owned(), slot, refined: false })
    }

    /// If `data`, an event of `format`, is the kept event with only its
    /// holes changed: the new text's body, and whether it has escapes
    /// (then it was unescaped into `buf` on the way).
    #[inline]
    fn reuse<'a>(&self, format: Format, data: &'a str, buf: &mut String) -> Option<Reused<'a>> {
        if format != self.format {
            return None;
        }
        let mut unchanged = 0u64;
        let (old, new) = (self.src.as_bytes(), data.as_bytes());
        // `at`: where the bytes to compare start in the kept event (`from`)
        // and in the new one. Both are character boundaries: each is where
        // a value or the text started or ended.
        let (mut from, mut at) = (0, 0);
        let mut found = None;
        for (i, hole) in self.holes.iter().enumerate() {
            let same = &old[from..hole.at.start];
            if new.get(at..at + same.len())? != same {
                return None;
            }
            at += same.len();
            if hole.text {
                // From the opening quote (the last byte compared), as the
                // reader reads it, to the closing one.
                let mut s = Scanner::at(data, at - 1);
                found = Some(s.text_into(buf).ok()??);
                at = s.pos() - 1;
            } else if !self.refined
                && i < 64
                && new.get(at..at + hole.at.len()) == Some(&old[hole.at.clone()])
            {
                // The value skipped before, byte for byte: accepted as it was.
                // (A number that only starts the same way fails the next
                // comparison: a reuse missed, never a wrong one.)
                unchanged |= 1 << i;
                at += hole.at.len();
            } else {
                let mut s = Scanner::at(data, at);
                s.skip_value().ok()?;
                at = s.pos();
            }
            from = hole.at.end;
        }
        let (text, escaped) = found?;
        (new.get(at..)? == &old[from..]).then_some(Reused { text, escaped, unchanged })
    }

    /// After the first reuse: the skipped values it found unchanged (bits of
    /// `unchanged`) are compared as plain bytes from now on, like the bytes
    /// around them. That is a stricter test, so still exact; if one of them
    /// changes after all (a new item's `item_id`), the event is read in full
    /// and kept afresh.
    ///
    /// Measured (callgrind, formats bench): with `item_id`, `content_index`
    /// and `logprobs` no longer holes, the pipeline runs 11.3 % fewer
    /// instructions on the Responses API stream at event-aligned reads
    /// (9.31M to 8.26M), 10.7 % at 1460-byte reads; Messages, which has no
    /// skipped holes, 0.8 % more.
    fn refine(&mut self, unchanged: u64) {
        let mut i = 0;
        self.holes.retain(|_| {
            let keep = i >= 64 || unchanged & (1 << i) == 0;
            i += 1;
            keep
        });
        self.refined = true;
    }

    /// The kept update with `text` (unescaped) as its text. Built afresh,
    /// not cloned: [`Kept::new`] kept only updates whose other text fields
    /// are all absent. Measured (callgrind, formats bench through
    /// `Pipeline`): 6.5 % fewer instructions on Messages at event-aligned
    /// reads (12.74M to 11.91M), 6.6 % at 1460-byte reads; 3.9 % and 3.7 %
    /// on the Responses API.
    #[inline]
    fn build<'a>(&'a self, text: &'a str) -> Update<'a> {
        let kept = &self.update;
        let text = Cow::Borrowed(text);
        let (mut content, mut reasoning, mut tool_call) = (None, None, None);
        match self.slot {
            Slot::Content => content = Some(text),
            Slot::Reasoning => {
                reasoning = kept.reasoning.as_ref().map(|r| Reasoning { kind: r.kind, text });
            }
            Slot::Arguments => {
                let index = kept.tool_call.as_ref().map_or(0, |call| call.index);
                let call = ToolCall { index, id: None, name: None, arguments: Some(text) };
                tool_call = Some(call);
            }
        }
        Update {
            start: kept.start,
            created: kept.created,
            reasoning,
            content,
            tool_call,
            marks: kept.marks,
            usage: kept.usage,
            end: kept.end,
            keepalive: kept.keepalive,
            ..Update::default()
        }
    }
}
