//! Hand-written vectors for the presets, tool-call markup and harmony
//! channels (from `FORMATS-MORE.md` section 4); each is checked fed whole,
//! char by char, and split in two at every offset. The naive reference
//! knows only tags, so these are not compared with it.

use super::{Joined, boundaries, feed_pieces};
use crate::{Builder, Config, Outcome, Preset, SegmentKind};

use SegmentKind::{Answer as A, Markup as M, Thinking as T, ToolCall as C};

const CLOSED: Outcome =
    Outcome { thinking: true, unterminated: false, hold_limit_hit: false, channels: false };
const NONE: Outcome =
    Outcome { thinking: false, unterminated: false, hold_limit_hit: false, channels: false };
const CHANNELS: Outcome = Outcome { channels: true, ..CLOSED };

fn check(
    name: &str,
    config: &Config,
    input: &str,
    expected: &[(SegmentKind, &str)],
    outcome: Outcome,
) {
    let expected: Joined = expected.iter().map(|(k, t)| (*k, (*t).to_owned())).collect();
    let expected = (expected, outcome);
    assert_eq!(feed_pieces(config, &[input]), expected, "{name} whole");
    let b = boundaries(input);
    let chars: Vec<&str> = b.windows(2).map(|w| &input[w[0]..w[1]]).collect();
    assert_eq!(feed_pieces(config, &chars), expected, "{name} char by char");
    for &k in &b {
        assert_eq!(
            feed_pieces(config, &[&input[..k], &input[k..]]),
            expected,
            "{name} split at {k}"
        );
    }
}

#[test]
fn tag_presets() {
    let kimi = Config::preset(Preset::Kimi);
    check(
        "kimi",
        &kimi,
        "◁think▷hm◁/think▷Hi",
        &[(M, "◁think▷"), (T, "hm"), (M, "◁/think▷"), (A, "Hi")],
        CLOSED,
    );
    let magistral = Config::preset(Preset::Magistral);
    check(
        "magistral",
        &magistral,
        "[THINK]hm[/THINK]Hi",
        &[(M, "[THINK]"), (T, "hm"), (M, "[/THINK]"), (A, "Hi")],
        CLOSED,
    );
    let granite = Config::preset(Preset::Granite);
    check(
        "granite",
        &granite,
        "Here is my thought process: 2+2.\nHere is my response: 4",
        &[
            (M, "Here is my thought process:"),
            (T, " 2+2.\n"),
            (M, "Here is my response:"),
            (A, " 4"),
        ],
        CLOSED,
    );
    let stripped = Config::preset(Preset::GptOss);
    check(
        "gpt-oss stripped",
        &stripped,
        "analysisUser asks 2+2.assistantfinal4",
        &[(M, "analysis"), (T, "User asks 2+2."), (M, "assistantfinal"), (A, "4")],
        CLOSED,
    );
}

#[test]
fn qwen3_tool_call_ends_thinking() {
    let qwen = Config::preset(Preset::Qwen3);
    let call = "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>";
    check(
        "qwen3 call in thinking",
        &qwen,
        &format!("<think>I need f.\n{call}"),
        &[(M, "<think>"), (T, "I need f.\n"), (C, call)],
        CLOSED,
    );
    check(
        "qwen3 call after answer",
        &qwen,
        &format!("<think>a</think>Calling.{call}Done"),
        &[(M, "<think>"), (T, "a"), (M, "</think>"), (A, "Calling."), (C, call), (A, "Done")],
        CLOSED,
    );
    // DeepSeek's preset: a call inside thinking stays thinking text.
    let r1 = Config::default();
    let ds = "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>f<｜tool▁sep｜>{}<｜tool▁call▁end｜><｜tool▁calls▁end｜>";
    check(
        "r1 call after thinking",
        &r1,
        &format!("a</think>b{ds}"),
        &[(T, "a"), (M, "</think>"), (A, "b"), (C, ds)],
        CLOSED,
    );
    check("r1 call only", &r1, ds, &[(C, ds)], NONE);
    // Cut off by the end: still markup for its reader to refuse.
    check("qwen3 unterminated call", &qwen, "<tool_call>{\"na", &[(C, "<tool_call>{\"na")], NONE);
}

#[test]
fn held_markup_past_the_hold_limit_is_answer_to_the_end() {
    let config = Builder::new().preset(Preset::Qwen3).max_hold(16).config().unwrap();
    check(
        "qwen3 call over the limit",
        &config,
        "<tool_call>{\"name\": 1}</tool_call><tool_call>",
        &[(C, "<tool_call>{\"nam"), (A, "e\": 1}</tool_call><tool_call>")],
        Outcome { hold_limit_hit: true, ..NONE },
    );
}

#[test]
fn harmony_channels() {
    let header = "<|channel|>analysis<|message|>";
    let final_header = "<|start|>assistant<|channel|>final<|message|>";
    let input = format!("{header}User asks 2+2.<|end|>{final_header}4<|return|>");
    let end_and_final = format!("<|end|>{final_header}"); // adjacent markup, joined
    for preset in Preset::ALL {
        check(
            preset.as_str(),
            &Config::preset(preset),
            &input,
            &[(M, header), (T, "User asks 2+2."), (M, &end_and_final), (A, "4"), (M, "<|return|>")],
            CHANNELS,
        );
    }
    let call = "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\":\"Paris\"}<|call|>";
    check(
        "harmony call",
        &Config::preset(Preset::GptOss),
        &format!("{header}Need weather.<|end|>{call}"),
        &[(M, header), (T, "Need weather."), (M, "<|end|>"), (C, call)],
        CHANNELS,
    );
    check(
        "harmony cut inside analysis",
        &Config::preset(Preset::GptOss),
        &format!("  {header}hmm <|en"),
        &[(M, &format!("  {header}")), (T, "hmm <|en")],
        Outcome { unterminated: true, ..CHANNELS },
    );
    // A header that does not parse is answer, and so is its body.
    check(
        "harmony bad header",
        &Config::preset(Preset::GptOss),
        "<|channel|><|message|>x",
        &[(A, "<|channel|><|message|>x")],
        Outcome { thinking: false, ..CHANNELS },
    );
    // Not at the start: plain text.
    check(
        "harmony later",
        &Config::default(),
        "Hi <|channel|>final<|message|>",
        &[(A, "Hi <|channel|>final<|message|>")],
        NONE,
    );
}

#[test]
fn kimi_k2_section_ends_thinking() {
    let section = "<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>{\"city\":\"Paris\"}<|tool_call_end|><|tool_calls_section_end|>";
    check(
        "kimi-k2 section in thinking",
        &Config::preset(Preset::KimiK2),
        &format!("<think>Need weather.{section}"),
        &[(M, "<think>"), (T, "Need weather."), (C, section)],
        CLOSED,
    );
    check(
        "kimi-k2 section after the answer",
        &Config::preset(Preset::KimiK2),
        &format!("<think>a</think>b{section}c"),
        &[(M, "<think>"), (T, "a"), (M, "</think>"), (A, "b"), (C, section), (A, "c")],
        CLOSED,
    );
}

#[test]
fn gpt_oss_stripped_call_ends_thinking_and_runs_to_the_end() {
    let call = "assistantcommentary to=functions.get_weather json{\"city\":\"Paris\"}";
    check(
        "gpt-oss stripped call",
        &Config::preset(Preset::GptOss),
        &format!("analysisNeed Paris weather.{call}"),
        &[(M, "analysis"), (T, "Need Paris weather."), (C, call)],
        CLOSED,
    );
    // `assistantcommentary` with no recipient is not a call.
    check(
        "gpt-oss stripped preamble",
        &Config::preset(Preset::GptOss),
        "analysisa assistantcommentary b assistantfinalc",
        &[(M, "analysis"), (T, "a assistantcommentary b "), (M, "assistantfinal"), (A, "c")],
        CLOSED,
    );
}

#[test]
fn bad_harmony_headers_are_counted_per_stream() {
    let input = "<|channel|>analysis<|message|>a<|end|><|start|>assistant<|channel|> <|message|>b<|end|><|channel|><|message|>c";
    for cut in 0..=input.len() {
        if !input.is_char_boundary(cut) {
            continue;
        }
        let mut s = crate::Splitter::with_config(Config::preset(Preset::GptOss));
        s.feed(&input[..cut], |_| {});
        s.feed(&input[cut..], |_| {});
        assert_eq!(s.bad_headers(), 2, "split at {cut}");
        s.finish(|_| {});
        assert_eq!(s.bad_headers(), 0, "a new stream starts with none");
    }
}

#[test]
fn presets_parse_by_name() {
    for preset in Preset::ALL {
        assert_eq!(preset.as_str().parse::<Preset>(), Ok(preset));
    }
    assert!("r1".parse::<Preset>().is_err());
    assert_eq!(Config::default(), Config::preset(Preset::DeepseekR1));
}
