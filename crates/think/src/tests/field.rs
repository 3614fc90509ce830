//! `FieldMarkup` against a naive whole-string reading of its rule, fed
//! whole, a char at a time, cut at every boundary and at random points;
//! and `Config::may_hold_call` against what `FieldMarkup` finds.

use proptest::prelude::*;

use super::{Joined, boundaries, push};
use crate::markup::{DEEPSEEK_CALLS_CLOSE as DS_CLOSE, DEEPSEEK_CALLS_OPEN as DS_OPEN};
use crate::{Builder, Config, FieldMarkup, Preset, Segment, SegmentKind};

const T: SegmentKind = SegmentKind::Thinking;
const A: SegmentKind = SegmentKind::Answer;
const C: SegmentKind = SegmentKind::ToolCall;

/// The rule, read off a field's whole text: from each open marker, markup
/// runs to the end of the first close marker that starts within
/// `max_hold` bytes of it; with no close marker at all and fewer than
/// `max_hold + close.len()` bytes left, to the end (cut short); otherwise
/// `max_hold` bytes (back to a char boundary) are markup and the rest of
/// the field is text.
fn naive(config: &Config, kind: SegmentKind, text: &str) -> (Joined, bool) {
    let mut out = Joined::new();
    let Some((open, close)) = config.call_markers() else {
        push(&mut out, kind, text);
        return (out, false);
    };
    let find = |from: usize, marker: &str| {
        (from..text.len()).find(|&i| text.is_char_boundary(i) && text[i..].starts_with(marker))
    };
    let max = config.max_hold();
    let mut pos = 0;
    while let Some(p) = find(pos, open) {
        push(&mut out, kind, &text[pos..p]);
        match find(p + open.len(), close) {
            Some(s) if s - p <= max => {
                out.push((C, text[p..s + close.len()].to_owned()));
                pos = s + close.len();
            }
            None if text.len() - p < max + close.len() => {
                out.push((C, text[p..].to_owned()));
                return (out, false);
            }
            _ => {
                let mut cut = p + max;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                if cut > p {
                    out.push((C, text[p..cut].to_owned()));
                }
                push(&mut out, kind, &text[cut..]);
                return (out, true);
            }
        }
    }
    push(&mut out, kind, &text[pos..]);
    (out, false)
}

/// Feeds `pieces` into a fresh `FieldMarkup`, joining adjacent segments of
/// a kind (calls are kept apart: each is one segment).
fn feed(config: &Config, kind: SegmentKind, pieces: &[&str]) -> (Joined, bool) {
    let mut m = FieldMarkup::new(config, kind);
    let mut out = Joined::new();
    let mut take = |s: Segment<'_>| {
        assert!(!s.text.is_empty());
        if s.kind == C {
            out.push((C, s.text.to_owned()));
        } else {
            push(&mut out, s.kind, s.text);
        }
    };
    for piece in pieces {
        m.feed(piece, &mut take);
    }
    let hit = m.finish(&mut take);
    assert!(m.idle(), "finish leaves it ready for another stream");
    (out, hit)
}

/// Whole, a char at a time, and in two pieces at every char boundary: all
/// equal to `want`.
fn check(config: &Config, kind: SegmentKind, text: &str, want: &[(SegmentKind, &str)]) {
    let want: Joined = want.iter().map(|&(k, t)| (k, t.to_owned())).collect();
    let (whole, _) = feed(config, kind, &[text]);
    assert_eq!(whole, want, "{text:?} whole");
    assert_eq!(naive(config, kind, text).0, want, "{text:?}: the naive reading");
    let chars: Vec<String> = text.chars().map(String::from).collect();
    let chars: Vec<&str> = chars.iter().map(String::as_str).collect();
    assert_eq!(feed(config, kind, &chars).0, want, "{text:?} a char at a time");
    for cut in boundaries(text) {
        let (a, b) = text.split_at(cut);
        assert_eq!(feed(config, kind, &[a, b]).0, want, "{text:?} cut at {cut}");
    }
}

fn ds_call(name: &str, args: &str) -> String {
    format!("{DS_OPEN}<｜tool▁call▁begin｜>{name}<｜tool▁sep｜>{args}<｜tool▁call▁end｜>{DS_CLOSE}")
}

#[test]
fn deepseek_tool_tokens_in_reasoning_and_in_answer() {
    let r1 = Config::default();
    let call = ds_call("get_weather", "{\"city\":\"Paris\"}");
    check(
        &r1,
        T,
        &format!("Need the weather.{call}Then answer."),
        &[(T, "Need the weather."), (C, &call), (T, "Then answer.")],
    );
    check(&r1, A, &format!("{call}{call}"), &[(C, &call), (C, &call)]);
    // Near-markers and `<` in prose are text, however cut.
    check(
        &r1,
        T,
        "a < b, <｜tool▁call▁begin｜> alone, <｜tool▁calls x <",
        &[(T, "a < b, <｜tool▁call▁begin｜> alone, <｜tool▁calls x <")],
    );
    // Cut off by the end: markup for its reader to refuse.
    check(
        &r1,
        A,
        "ok<｜tool▁calls▁begin｜><｜tool▁call▁be",
        &[(A, "ok"), (C, "<｜tool▁calls▁begin｜><｜tool▁call▁be")],
    );
}

#[test]
fn other_presets_and_overlapping_markers() {
    let qwen = Config::preset(Preset::Qwen3);
    check(
        &qwen,
        T,
        "x<tool_call>{}</tool_call>y",
        &[(T, "x"), (C, "<tool_call>{}</tool_call>"), (T, "y")],
    );
    // A marker that overlaps itself: `<<<a` holds `<<a` from its second byte.
    let odd = Builder::new().call_markers(Some(("<<a", "<<b"))).config().unwrap();
    check(&odd, A, "<<<a1<<<b2", &[(A, "<"), (C, "<<a1<<<b"), (A, "2")]);
    check(&odd, A, "<<<<", &[(A, "<<<<")]);
    // No call markers: nothing is looked for.
    let kimi = Config::preset(Preset::Kimi);
    check(&kimi, T, &ds_call("f", "{}"), &[(T, &ds_call("f", "{}"))]);
}

#[test]
fn markup_past_the_hold_limit_gives_up_on_the_field() {
    let small = Builder::new().preset(Preset::Qwen3).max_hold(16).config().unwrap();
    let text = "<tool_call>{\"name\": 1}</tool_call><tool_call>{}</tool_call>";
    check(
        &small,
        T,
        text,
        &[(C, "<tool_call>{\"nam"), (T, "e\": 1}</tool_call><tool_call>{}</tool_call>")],
    );
    assert!(feed(&small, T, &[text]).1, "hold_limit_hit");
    // A close marker that starts right at the limit still closes.
    let at_limit = "<tool_call>12345</tool_call>x";
    check(&small, A, at_limit, &[(C, "<tool_call>12345</tool_call>"), (A, "x")]);
    assert!(!feed(&small, A, &[at_limit]).1);
    // With no close marker, markup cut short by the end stays whole while
    // a close marker could still have started within the limit.
    let cut_short = "<tool_call>12345</tool_cal";
    check(&small, A, cut_short, &[(C, cut_short)]);
}

#[test]
fn may_hold_call_is_one_byte_search_plus_the_next() {
    let r1 = Config::default();
    for (text, may) in [
        ("plain prose", false),
        ("a < b", false),
        ("中文，标点。", false),
        ("ends with <", true),
        ("<｜", true),
        ("x<｜tool", true),
        ("", false),
    ] {
        assert_eq!(r1.may_hold_call(text), may, "{text:?}");
    }
    assert!(!Config::preset(Preset::Kimi).may_hold_call("<｜tool▁calls▁begin｜>"));
    let one = Builder::new().call_markers(Some(("§", "§§"))).config().unwrap();
    assert!(one.may_hold_call("a§b") && !one.may_hold_call("ab"));
}

/// Fragments that make markers, their pieces and near-misses likely.
fn fragment() -> impl Strategy<Value = String> {
    let pieces: Vec<String> = [DS_OPEN, DS_CLOSE, "<tool_call>", "</tool_call>", "<<a", "<<b"]
        .iter()
        .flat_map(|m| {
            let b = boundaries(m);
            b.iter()
                .flat_map(|&i| b.iter().filter(move |&&j| j > i).map(move |&j| m[i..j].to_owned()))
                .collect::<Vec<_>>()
        })
        .collect();
    prop_oneof![
        3 => prop::sample::select(vec!["a", "<", " ", "，", "思", "{}", "<｜", "▁", "\n"]).prop_map(str::to_owned),
        2 => prop::sample::select(vec![DS_OPEN, DS_CLOSE, "<tool_call>", "</tool_call>", "<<a", "<<b"]).prop_map(str::to_owned),
        2 => prop::sample::select(pieces),
    ]
}

fn config() -> impl Strategy<Value = Config> {
    let markers = prop::sample::select(vec![
        Preset::DeepseekR1.call_markers().unwrap(),
        Preset::Qwen3.call_markers().unwrap(),
        ("<<a", "<<b"),
    ]);
    (markers, prop::option::of(0usize..40)).prop_map(|(markers, hold)| {
        let b = Builder::new().call_markers(Some(markers));
        match hold {
            Some(h) => b.max_hold(h),
            None => b,
        }
        .config()
        .unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn agrees_with_the_naive_reading_however_cut(
        config in config(),
        text in prop::collection::vec(fragment(), 0..16).prop_map(|v| v.concat()),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let b = boundaries(&text);
        let mut at: Vec<usize> = cuts.iter().map(|i| b[i.index(b.len())]).collect();
        at.sort_unstable();
        at.dedup();
        let mut pieces = Vec::new();
        let mut from = 0;
        for &cut in &at {
            pieces.push(&text[from..cut]);
            from = cut;
        }
        pieces.push(&text[from..]);
        let got = feed(&config, A, &pieces);
        prop_assert_eq!(&got, &naive(&config, A, &text));
        // Lossless: the segments give back the text.
        let joined: String = got.0.iter().map(|(_, t)| t.as_str()).collect();
        prop_assert_eq!(joined, text);
    }

    #[test]
    fn text_may_hold_call_clears_is_all_text(
        config in config(),
        text in prop::collection::vec(fragment(), 0..8).prop_map(|v| v.concat()),
    ) {
        if !config.may_hold_call(&text) {
            let mut m = FieldMarkup::new(&config, T);
            let mut seen = Vec::new();
            m.feed(&text, |s| seen.push((s.kind, s.text.to_owned())));
            prop_assert!(m.idle());
            let want: Vec<(SegmentKind, String)> =
                if text.is_empty() { vec![] } else { vec![(T, text.clone())] };
            prop_assert_eq!(seen, want);
        }
    }
}
