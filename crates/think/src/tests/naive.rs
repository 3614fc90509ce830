//! A slow, obviously-correct splitter over a whole string, written from the
//! policy text rather than from the state machine.

use super::{Joined, push};
use crate::{Config, Outcome, SegmentKind, StartMode};

struct Naive<'c> {
    config: &'c Config,
    out: Joined,
    outcome: Outcome,
}

/// The first position at or after `from` where one of `tags` starts
/// (earlier tags win at the same position).
fn find_first<'t>(text: &str, from: usize, tags: &[&'t str]) -> Option<(usize, &'t str)> {
    (from..text.len())
        .filter(|&i| text.is_char_boundary(i))
        .find_map(|i| tags.iter().find(|t| text[i..].starts_with(**t)).map(|t| (i, *t)))
}

fn leading_ws(s: &str) -> usize {
    s.len() - s.trim_start().len()
}

pub(crate) fn split(config: &Config, text: &str) -> (Joined, Outcome) {
    let mut n = Naive { config, out: Joined::new(), outcome: Outcome::default() };
    let open = config.open_tag();
    let close = config.close_tag();
    let lead = leading_ws(text);
    let opens_with_tag = text[lead..].starts_with(open);
    match config.start() {
        StartMode::Auto => {
            let first = find_first(text, 0, &[open, close]);
            let held = first.map_or(text.len(), |(p, _)| p);
            match first {
                _ if held > config.max_hold() => {
                    n.outcome.hold_limit_hit = true;
                    n.answer(text, 0);
                }
                Some((p, t)) if t == open && p == lead => n.open_at(text, lead),
                Some((p, t)) if t == close => {
                    n.outcome.thinking = true;
                    n.thinking_closed(&text[..p]);
                    push(&mut n.out, SegmentKind::Markup, close);
                    n.answer(text, p + close.len());
                }
                _ => n.answer(text, 0),
            }
        }
        StartMode::Explicit => {
            if lead > config.max_hold() {
                n.outcome.hold_limit_hit = true;
                n.answer(text, 0);
            } else if opens_with_tag {
                n.open_at(text, lead);
            } else {
                n.answer(text, 0);
            }
        }
        StartMode::Implicit => {
            if text.is_empty() {
            } else if opens_with_tag && lead <= config.max_hold() {
                n.open_at(text, lead);
            } else {
                n.think(text, 0);
            }
        }
    }
    (n.out, n.outcome)
}

impl Naive<'_> {
    /// Whitespace then the open tag at `lead`: both markup.
    fn open_at(&mut self, text: &str, lead: usize) {
        push(&mut self.out, SegmentKind::Markup, &text[..lead]);
        push(&mut self.out, SegmentKind::Markup, self.config.open_tag());
        self.think(text, lead + self.config.open_tag().len());
    }

    /// Thinking from `from` up to the first close tag (or the end).
    fn think(&mut self, text: &str, from: usize) {
        self.outcome.thinking = true;
        let close = self.config.close_tag();
        match find_first(text, from, &[close]) {
            Some((q, _)) => {
                self.thinking_closed(&text[from..q]);
                push(&mut self.out, SegmentKind::Markup, close);
                self.answer(text, q + close.len());
            }
            None => {
                self.outcome.unterminated = true;
                let body = &text[from..];
                if self.config.trim() {
                    let lead = leading_ws(body);
                    push(&mut self.out, SegmentKind::Markup, &body[..lead]);
                    push(&mut self.out, SegmentKind::Thinking, &body[lead..]);
                } else {
                    push(&mut self.out, SegmentKind::Thinking, body);
                }
            }
        }
    }

    /// A closed thinking body: with trim, whitespace at both ends is markup.
    fn thinking_closed(&mut self, body: &str) {
        if self.config.trim() {
            let lead = leading_ws(body);
            let inner = body.trim();
            push(&mut self.out, SegmentKind::Markup, &body[..lead]);
            push(&mut self.out, SegmentKind::Thinking, inner);
            push(&mut self.out, SegmentKind::Markup, &body[lead + inner.len()..]);
        } else {
            push(&mut self.out, SegmentKind::Thinking, body);
        }
    }

    /// Answer from `from`; with `interleaved`, up to the next open tag.
    fn answer(&mut self, text: &str, from: usize) {
        let open = self.config.open_tag();
        let next = if self.config.interleaved() { find_first(text, from, &[open]) } else { None };
        let end = next.map_or(text.len(), |(q, _)| q);
        let body = &text[from..end];
        if self.config.trim() {
            let lead = leading_ws(body);
            push(&mut self.out, SegmentKind::Markup, &body[..lead]);
            push(&mut self.out, SegmentKind::Answer, &body[lead..]);
        } else {
            push(&mut self.out, SegmentKind::Answer, body);
        }
        if next.is_some() {
            push(&mut self.out, SegmentKind::Markup, open);
            self.think(text, end + open.len());
        }
    }
}
