//! Hand-written vectors, one or more per policy item; each is checked fed
//! whole, char by char, and split in two at every offset.

use super::{Joined, boundaries, feed_pieces};
use crate::{Builder, Config, Outcome, SegmentKind, StartMode};

use SegmentKind::{Answer as A, Markup as M, Thinking as T};

struct Vector {
    name: &'static str,
    config: Config,
    input: &'static str,
    expected: &'static [(SegmentKind, &'static str)],
    outcome: Outcome,
}

fn cfg(f: impl FnOnce(Builder) -> Builder) -> Config {
    f(Builder::new()).config().expect("valid config")
}

const CLOSED: Outcome =
    Outcome { thinking: true, unterminated: false, hold_limit_hit: false, channels: false };
const NONE: Outcome =
    Outcome { thinking: false, unterminated: false, hold_limit_hit: false, channels: false };
const OPEN: Outcome =
    Outcome { thinking: true, unterminated: true, hold_limit_hit: false, channels: false };

fn vectors() -> Vec<Vector> {
    let v =
        |name, config, input, expected, outcome| Vector { name, config, input, expected, outcome };
    vec![
        // 1. start modes
        v(
            "auto_open_tag",
            Config::default(),
            "<think>\nhmm\n</think>\n\nHi",
            &[(M, "<think>"), (T, "\nhmm\n"), (M, "</think>"), (A, "\n\nHi")],
            CLOSED,
        ),
        v(
            "auto_ws_before_open_is_markup",
            Config::default(),
            " \n<think>a</think>b",
            &[(M, " \n<think>"), (T, "a"), (M, "</think>"), (A, "b")],
            CLOSED,
        ),
        v(
            "auto_bare_close_proves_thinking",
            Config::default(),
            "Okay, so 9.8.</think>\n\nYes.",
            &[(T, "Okay, so 9.8."), (M, "</think>"), (A, "\n\nYes.")],
            CLOSED,
        ),
        v(
            "auto_no_tags_is_answer",
            Config::default(),
            "Just an answer.",
            &[(A, "Just an answer.")],
            NONE,
        ),
        v(
            "auto_hold_limit",
            cfg(|b| b.max_hold(4)),
            "abcdef</think>g",
            &[(A, "abcdef</think>g")],
            Outcome { hold_limit_hit: true, ..NONE },
        ),
        v(
            "explicit_no_open_is_answer",
            cfg(|b| b.start(StartMode::Explicit)),
            "thinking?</think>answer",
            &[(A, "thinking?</think>answer")],
            NONE,
        ),
        v(
            "explicit_open",
            cfg(|b| b.start(StartMode::Explicit)),
            "<think>a</think>b",
            &[(M, "<think>"), (T, "a"), (M, "</think>"), (A, "b")],
            CLOSED,
        ),
        v(
            "implicit_starts_in_thinking",
            cfg(|b| b.start(StartMode::Implicit)),
            "reason</think>ans",
            &[(T, "reason"), (M, "</think>"), (A, "ans")],
            CLOSED,
        ),
        v(
            "implicit_echoed_open_is_markup",
            cfg(|b| b.start(StartMode::Implicit)),
            "<think>r</think>a",
            &[(M, "<think>"), (T, "r"), (M, "</think>"), (A, "a")],
            CLOSED,
        ),
        v(
            "implicit_later_open_is_thinking",
            cfg(|b| b.start(StartMode::Implicit)),
            "r<think>s</think>a",
            &[(T, "r<think>s"), (M, "</think>"), (A, "a")],
            CLOSED,
        ),
        // 2. one block
        v(
            "second_block_is_answer",
            Config::default(),
            "<think>a</think>b<think>c</think>d",
            &[(M, "<think>"), (T, "a"), (M, "</think>"), (A, "b<think>c</think>d")],
            CLOSED,
        ),
        v(
            "open_inside_thinking_is_thinking",
            Config::default(),
            "<think>a<think>b</think>c",
            &[(M, "<think>"), (T, "a<think>b"), (M, "</think>"), (A, "c")],
            CLOSED,
        ),
        v(
            "interleaved_blocks",
            cfg(|b| b.interleaved(true)),
            "<think>a</think>b<think>c</think>d",
            &[
                (M, "<think>"),
                (T, "a"),
                (M, "</think>"),
                (A, "b"),
                (M, "<think>"),
                (T, "c"),
                (M, "</think>"),
                (A, "d"),
            ],
            CLOSED,
        ),
        // 3. text before the open tag
        v(
            "text_before_open_is_answer",
            Config::default(),
            "Hi <think>x</think> y",
            &[(A, "Hi <think>x</think> y")],
            NONE,
        ),
        // 4. whitespace
        v(
            "whitespace_verbatim",
            Config::default(),
            "<think>\n a \n</think>\n\nb ",
            &[(M, "<think>"), (T, "\n a \n"), (M, "</think>"), (A, "\n\nb ")],
            CLOSED,
        ),
        v(
            "trim",
            cfg(|b| b.trim(true)),
            "<think>\n a \n</think>\n\nb ",
            &[(M, "<think>\n "), (T, "a"), (M, " \n</think>\n\n"), (A, "b ")],
            CLOSED,
        ),
        v(
            "trim_bare_close",
            cfg(|b| b.trim(true)),
            " a b \n</think>\n c",
            &[(M, " "), (T, "a b"), (M, " \n</think>\n "), (A, "c")],
            CLOSED,
        ),
        v(
            "trim_inner_whitespace_kept",
            cfg(|b| b.trim(true)),
            "<think>a  \n  b</think>c",
            &[(M, "<think>"), (T, "a  \n  b"), (M, "</think>"), (A, "c")],
            CLOSED,
        ),
        // 5. fake tags
        v(
            "fake_tags_released",
            Config::default(),
            "<think>a</th ing><thinking>< think></think>z",
            &[(M, "<think>"), (T, "a</th ing><thinking>< think>"), (M, "</think>"), (A, "z")],
            CLOSED,
        ),
        v(
            "thinking_tag_is_not_open",
            Config::default(),
            "<thinking>x</thinking>",
            &[(A, "<thinking>x</thinking>")],
            NONE,
        ),
        // 6. end of stream
        v(
            "unterminated",
            Config::default(),
            "<think>cut by max_tok",
            &[(M, "<think>"), (T, "cut by max_tok")],
            OPEN,
        ),
        v(
            "partial_tag_at_end_is_text",
            Config::default(),
            "<think>a</thi",
            &[(M, "<think>"), (T, "a</thi")],
            OPEN,
        ),
        v("partial_open_at_end_is_answer", Config::default(), "<thi", &[(A, "<thi")], NONE),
        v("empty", Config::default(), "", &[], NONE),
        // 7. configurable, multi-byte tags
        v(
            "multibyte_tags",
            cfg(|b| b.tags("◁think▷", "◁/think▷")),
            "◁think▷思考◁/think▷答案",
            &[(M, "◁think▷"), (T, "思考"), (M, "◁/think▷"), (A, "答案")],
            CLOSED,
        ),
        v(
            "self_overlapping_prefix",
            cfg(|b| b.tags("<<a", "<<b>")),
            "<<a x<<<b> y",
            &[(M, "<<a"), (T, " x<"), (M, "<<b>"), (A, " y")],
            CLOSED,
        ),
    ]
}

fn as_joined(expected: &[(SegmentKind, &str)]) -> Joined {
    expected.iter().map(|(k, t)| (*k, (*t).to_owned())).collect()
}

#[test]
fn vectors_whole_char_by_char_and_every_split() {
    for v in vectors() {
        let expected = (as_joined(v.expected), v.outcome);
        assert_eq!(feed_pieces(&v.config, &[v.input]), expected, "{} whole", v.name);
        let b = boundaries(v.input);
        let chars: Vec<&str> = b.windows(2).map(|w| &v.input[w[0]..w[1]]).collect();
        assert_eq!(feed_pieces(&v.config, &chars), expected, "{} char by char", v.name);
        for &k in &b {
            let pieces = [&v.input[..k], &v.input[k..]];
            assert_eq!(feed_pieces(&v.config, &pieces), expected, "{} split at {k}", v.name);
        }
    }
}

#[test]
fn vectors_agree_with_naive() {
    for v in vectors() {
        assert_eq!(
            super::naive::split(&v.config, v.input),
            (as_joined(v.expected), v.outcome),
            "{}",
            v.name
        );
    }
}

#[test]
fn splitter_is_reusable_after_finish() {
    let mut splitter = crate::Splitter::new();
    for _ in 0..2 {
        let mut out = Joined::new();
        splitter.feed("<think>a</th", |s| super::push(&mut out, s.kind, s.text));
        splitter.feed("ink>b", |s| super::push(&mut out, s.kind, s.text));
        let outcome = splitter.finish(|s| super::push(&mut out, s.kind, s.text));
        assert_eq!(out, as_joined(&[(M, "<think>"), (T, "a"), (M, "</think>"), (A, "b")]));
        assert_eq!(outcome, CLOSED);
    }
}

#[test]
fn segments_borrow_input_when_no_hold() {
    let input = String::from("<think>abc</think>def");
    let range = input.as_bytes().as_ptr_range();
    let mut splitter = crate::Splitter::new();
    let mut borrowed = 0;
    splitter.feed(&input, |s| {
        if s.kind != M {
            assert!(range.contains(&s.text.as_ptr()), "{:?} was copied", s.text);
            borrowed += 1;
        }
    });
    assert_eq!(borrowed, 2);
}

#[test]
fn closed_blocks_counts_close_tags_across_feeds() {
    let mut splitter = Builder::new().interleaved(true).build().unwrap();
    splitter.feed("r1 </th", |_| {});
    assert_eq!(splitter.closed_blocks(), 0);
    splitter.feed("ink> a <think>r2</think>", |_| {});
    assert_eq!(splitter.closed_blocks(), 2);
    splitter.finish(|_| {});
    assert_eq!(splitter.closed_blocks(), 0, "reset for the next stream");
}

#[test]
fn pending_len_counts_what_is_held() {
    let mut splitter = crate::Splitter::new();
    let mut emitted = 0;
    splitter.feed("R1 thinks</th", |s| emitted += s.text.len());
    assert_eq!((emitted, splitter.pending_len()), (0, "R1 thinks</th".len()));
    splitter.feed("ink>Hi", |s| emitted += s.text.len());
    assert_eq!((emitted, splitter.pending_len()), ("R1 thinks</think>Hi".len(), 0));
}

#[test]
fn config_errors() {
    assert_eq!(Builder::new().tags("", "</x>").config().err(), Some(crate::ConfigError::EmptyTag));
    assert_eq!(
        Builder::new().tags("<x>", "<x>").config().err(),
        Some(crate::ConfigError::SameTags)
    );
    assert_eq!(
        Builder::new().tags(&"x".repeat(65), "</x>").config().err(),
        Some(crate::ConfigError::TagTooLong)
    );
    assert_eq!("sideways".parse::<StartMode>().err(), Some(crate::ConfigError::UnknownStartMode));
}
