//! The fast parser against the serde_json-driven reference it replaced.
//!
//! Random JSON texts, valid and mutated, shaped like chunks (every known key
//! at every level, values of the right type or of any type, unknown fields,
//! tricky strings and numbers, random whitespace and escaped keys) must give:
//!
//! - the same [`Payload`] (or the same error kind) as `reference::parse`,
//!   and the same for `parse_event("error", ..)`;
//! - an error of kind `invalid_json` exactly when serde_json rejects the
//!   text as a `serde_json::Value`, except where the crate is documented to
//!   be more lenient than `Value` (lone surrogates in text and skipped
//!   values, out-of-range numbers in skipped values, nesting deeper than
//!   serde_json's recursion limit in skipped values), which `IgnoredAny`
//!   still checks: accepted implies `IgnoredAny` accepts.
//!
//! And [`Parser`], which reuses the previous parse when only a text string
//! changed, must give what [`parse`] gives on every payload of a sequence of
//! related ones: one chunk-shaped template whose text value takes new
//! bodies (valid, or holding a quote, a backslash, a raw control character
//! or a broken escape), now and then mutated elsewhere or interleaved with
//! an unrelated payload.
//!
//! So must [`Parser::parse_responses`] and [`Parser::parse_messages`],
//! which reuse the previous reading when only the text and values the
//! reader skips changed, against [`responses::parse`] and
//! [`messages::parse`]: on sequences of events made from one Responses API
//! or Messages template whose text and skipped values take new values
//! (valid or broken), under varying SSE event types, now and then mutated
//! elsewhere or interleaved with an unrelated payload.
//!
//! So must [`Parser::parse_gemini`] and [`Parser::parse_ollama`], which
//! also reuse the previous reading when only the text, the values the
//! reader skips and the counts it reads (Gemini's `usageMetadata`)
//! changed, against [`gemini::parse`] and [`ollama::parse`], on sequences
//! made the same way from Gemini chunks and Ollama lines.

mod reference;

use proptest::prelude::*;
use serde::de::IgnoredAny;
use thinktee_chunk::{
    Error, Parser, Payload, gemini, messages, ollama, parse, parse_event, responses,
};

/// A JSON tree whose leaves are kept as raw text, so it can hold what
/// serde_json would never write (lone surrogate escapes, odd numbers).
#[derive(Debug, Clone)]
enum J {
    Lit(&'static str),
    Num(String),
    /// A string literal's body, escapes and all.
    Str(String),
    Arr(Vec<J>),
    /// Keys are raw literal bodies too.
    Obj(Vec<(String, J)>),
}

impl J {
    fn write(&self, out: &mut String, ws: &mut impl Iterator<Item = u8>) {
        fn space(out: &mut String, ws: &mut impl Iterator<Item = u8>) {
            match ws.next().unwrap_or(0) % 8 {
                0 => out.push(' '),
                1 => out.push_str("\n\t "),
                2 => out.push('\r'),
                _ => {}
            }
        }
        match self {
            J::Lit(l) => out.push_str(l),
            J::Num(n) => out.push_str(n),
            J::Str(s) => {
                out.push('"');
                out.push_str(s);
                out.push('"');
            }
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    space(out, ws);
                    item.write(out, ws);
                    space(out, ws);
                }
                out.push(']');
            }
            J::Obj(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    space(out, ws);
                    out.push('"');
                    out.push_str(k);
                    out.push('"');
                    space(out, ws);
                    out.push(':');
                    space(out, ws);
                    v.write(out, ws);
                }
                space(out, ws);
                out.push('}');
            }
        }
    }
}

/// Pieces of string bodies: plain, multi-byte, every escape, pairs and lone
/// surrogates, and the occasional invalid one.
fn str_body() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        120 => "[a-z <>/_.]{0,12}",
        20 => "[é中🙂\u{2028}\u{7f}]{1,3}",
        50 => prop::sample::select(vec![
            "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u00e9", "\\u0041",
            "\\ud83d\\ude00", "\\uD83D\\uDE00", "\\u4E2d",
        ])
        .prop_map(str::to_owned),
        1 => prop::sample::select(vec![
            "\\ud800", "\\udc00", "\\ud800\\n", "\\ud800\\u0041", "\\ud800\\ud800",
        ])
        .prop_map(str::to_owned),
    ];
    prop::collection::vec(piece, 0..4).prop_map(|p| p.concat())
}

/// Mostly plain strings, sometimes tricky ones.
fn some_str() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "", "stop", "length", "content_filter", "tool_calls", "error", "assistant",
            "chat.completion", "chat.completion.chunk", "reasoning.text", "reasoning.summary",
            "reasoning.encrypted", "safe", "high", "self-harm", "x", "text", "thinking",
            "redacted_thinking", "function",
        ])
        .prop_map(str::to_owned),
        3 => str_body(),
    ]
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        40 => (0u64..2000).prop_map(|n| n.to_string()),
        10 => any::<u64>().prop_map(|n| n.to_string()),
        10 => any::<i64>().prop_map(|n| n.to_string()),
        20 => prop::sample::select(vec![
            "0", "-0", "1.5", "-1", "1e2", "1E+2", "2.5e-3", "0e999", "18446744073709551615",
            "18446744073709551616", "99999999999999999999999", "-9223372036854775808",
            "-9223372036854775809", "1.7976931348623157e308", "4294967296", "65536", "-1.5",
        ])
        .prop_map(str::to_owned),
        1 => prop::sample::select(vec!["1e400", "-1e400", "1.8e308"]).prop_map(str::to_owned),
    ]
}

/// Every key the crate reads anywhere, plus unknown ones.
const KEYS: &[&str] = &[
    "id",
    "object",
    "model",
    "created",
    "choices",
    "usage",
    "prompt_filter_results",
    "prompt_annotations",
    "error",
    "index",
    "delta",
    "message",
    "finish_reason",
    "content_filter_results",
    "content_filter_result",
    "content_filter_offsets",
    "role",
    "content",
    "reasoning",
    "reasoning_content",
    "reasoning_details",
    "type",
    "text",
    "summary",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "completion_tokens_details",
    "prompt_tokens_details",
    "reasoning_tokens",
    "cached_tokens",
    "prompt_cache_hit_tokens",
    "prompt_cache_miss_tokens",
    "filtered",
    "severity",
    "detected",
    "details",
    "check_offset",
    "start_offset",
    "end_offset",
    "code",
    "param",
    "status",
    "innererror",
    "inner_error",
    "hate",
    "self-harm",
    "content_filter_raw",
    "custom_blocklists",
    "logprobs",
    "tool_calls",
    "thinking_blocks",
    "thinking",
    "signature",
    "function",
    "name",
    "arguments",
    "data",
    "x",
];

/// A key as written: usually plain, sometimes with an escape, rarely with a
/// lone surrogate.
fn key() -> impl Strategy<Value = String> {
    (prop::sample::select(KEYS), 0u8..40, 0u16..400).prop_map(|(k, how, rare)| match how {
        _ if rare == 0 => format!("{k}\\ud800"),
        0 => k.replacen('e', "\\u0065", 1),
        1 => k.replacen('_', "\\u005F", 1),
        2 => format!("{k}\\n"),
        _ => k.to_owned(),
    })
}

/// Any JSON value; objects use the crate's keys.
fn any_value() -> impl Strategy<Value = J> {
    let leaf = prop_oneof![
        prop::sample::select(vec!["null", "true", "false"]).prop_map(J::Lit),
        number().prop_map(J::Num),
        some_str().prop_map(J::Str),
    ];
    leaf.prop_recursive(4, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(J::Arr),
            prop::collection::vec((key(), inner), 0..5).prop_map(J::Obj),
        ]
    })
}

/// An object of the given shape: known entries (each maybe replaced by any
/// value), unknown ones, in a random order, sometimes a key twice.
fn obj(fields: Vec<(&'static str, BoxedStrategy<J>)>) -> BoxedStrategy<J> {
    let entries: Vec<BoxedStrategy<Option<(String, J)>>> = fields
        .into_iter()
        .map(|(k, v)| {
            prop_oneof![
                1 => Just(None),
                6 => v.prop_map(move |v| Some((k.to_owned(), v))),
                1 => any_value().prop_map(move |v| Some((k.to_owned(), v))),
            ]
            .boxed()
        })
        .collect();
    (entries, prop::collection::vec((key(), any_value()), 0..2), any::<u64>(), 0u8..8)
        .prop_map(|(known, extra, seed, dup)| {
            let mut all: Vec<(String, J)> = known.into_iter().flatten().collect();
            all.extend(extra);
            // A cheap shuffle driven by `seed`.
            let mut rng = seed | 1;
            for i in (1..all.len()).rev() {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                all.swap(i, (rng % (i as u64 + 1)) as usize);
            }
            if dup == 0 && !all.is_empty() {
                all.push(all[0].clone());
            }
            J::Obj(all)
        })
        .boxed()
}

fn s() -> BoxedStrategy<J> {
    some_str().prop_map(J::Str).boxed()
}

fn n() -> BoxedStrategy<J> {
    number().prop_map(J::Num).boxed()
}

/// A choice `index`: mostly a valid one (a payload with an invalid one is
/// refused whole, which would hide the rest of it), sometimes any number.
fn index() -> BoxedStrategy<J> {
    prop_oneof![4 => (0u32..4).prop_map(|n| J::Num(n.to_string())), 1 => n()].boxed()
}

fn b() -> BoxedStrategy<J> {
    prop::sample::select(vec!["true", "false", "null"]).prop_map(J::Lit).boxed()
}

fn arr(item: BoxedStrategy<J>) -> BoxedStrategy<J> {
    prop::collection::vec(prop_oneof![6 => item, 1 => any_value()], 0..3).prop_map(J::Arr).boxed()
}

fn offsets() -> BoxedStrategy<J> {
    obj(vec![("check_offset", n()), ("start_offset", n()), ("end_offset", n())])
}

fn verdict() -> BoxedStrategy<J> {
    let entry = obj(vec![("filtered", b()), ("id", s())]);
    prop_oneof![
        4 => obj(vec![
            ("filtered", b()),
            ("severity", s()),
            ("detected", b()),
            ("id", s()),
            ("code", prop_oneof![s(), n()].boxed()),
            ("message", s()),
            ("details", arr(entry.clone())),
        ]),
        1 => arr(entry),
        1 => b(),
        1 => s(),
    ]
    .boxed()
}

fn results() -> BoxedStrategy<J> {
    (prop::collection::vec((prop::sample::select(KEYS), verdict()), 0..3))
        .prop_map(|v| J::Obj(v.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
        .boxed()
}

/// A typed `content` part (Mistral): `text`, or `thinking` holding text
/// parts or a string.
fn content_part() -> BoxedStrategy<J> {
    let text_part = obj(vec![("type", s()), ("text", s())]);
    obj(vec![("type", s()), ("text", s()), ("thinking", prop_oneof![s(), arr(text_part)].boxed())])
}

fn message() -> BoxedStrategy<J> {
    let item = obj(vec![("type", s()), ("text", s()), ("summary", s()), ("signature", s())]);
    let block = obj(vec![("type", s()), ("thinking", s()), ("signature", s()), ("data", s())]);
    let function =
        obj(vec![("name", s()), ("arguments", prop_oneof![3 => s(), 1 => any_value()].boxed())]);
    let call = obj(vec![("index", index()), ("id", s()), ("type", s()), ("function", function)]);
    obj(vec![
        ("role", s()),
        ("content", prop_oneof![s(), arr(content_part())].boxed()),
        ("reasoning", s()),
        ("reasoning_content", s()),
        ("reasoning_details", arr(item)),
        ("thinking_blocks", arr(block)),
        ("tool_calls", arr(call)),
    ])
}

fn choice() -> BoxedStrategy<J> {
    obj(vec![
        ("index", index()),
        ("delta", message()),
        ("message", message()),
        ("finish_reason", s()),
        ("content_filter_results", results()),
        ("content_filter_result", results()),
        ("content_filter_offsets", offsets()),
    ])
}

fn api_error() -> BoxedStrategy<J> {
    let inner =
        obj(vec![("content_filter_result", results()), ("content_filter_results", results())]);
    obj(vec![
        ("message", s()),
        ("code", prop_oneof![s(), n()].boxed()),
        ("type", s()),
        ("param", s()),
        ("status", n()),
        ("innererror", inner.clone()),
        ("inner_error", inner),
    ])
}

fn chunk() -> BoxedStrategy<J> {
    let details = obj(vec![("reasoning_tokens", n()), ("cached_tokens", n())]);
    let usage = obj(vec![
        ("prompt_tokens", n()),
        ("completion_tokens", n()),
        ("total_tokens", n()),
        ("completion_tokens_details", details.clone()),
        ("prompt_tokens_details", details),
        ("prompt_cache_hit_tokens", n()),
        ("prompt_cache_miss_tokens", n()),
    ]);
    let prompt_entry = obj(vec![
        ("content_filter_results", results()),
        ("content_filter_result", results()),
        ("content_filter_offsets", offsets()),
    ]);
    obj(vec![
        ("id", s()),
        ("object", s()),
        ("created", n()),
        ("model", s()),
        ("choices", arr(choice())),
        ("usage", usage),
        ("prompt_filter_results", arr(prompt_entry.clone())),
        ("prompt_annotations", arr(prompt_entry)),
        ("error", api_error()),
    ])
}

/// What an edit inserts (or, first byte only, overwrites with).
const SNIPPETS: &[&str] = &[
    "{", "}", "[", "]", "\"", ",", ":", "\\", " ", "0", "-", "e", "E", "n", "u", "l", ".", "\\x",
    "\\u12G4", "\\u12", "\u{1}", "\t", "\\ud800", "1e999", "01", "1.", "+1", ".5", "nul", "tru",
    "/", "\u{c}",
];

/// `text` with one edit at `at` (modulo its length + 1): its byte replaced
/// by `snippet`'s first (`how` 0), removed (1), or `snippet` inserted.
fn edited(text: String, at: usize, snippet: &str, how: u8) -> String {
    let mut bytes = text.into_bytes();
    let at = at % (bytes.len() + 1);
    match how {
        0 if at < bytes.len() => bytes[at] = snippet.as_bytes()[0],
        1 if at < bytes.len() => {
            bytes.remove(at);
        }
        _ => bytes.splice(at..at, snippet.bytes()).for_each(drop),
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A rendered chunk, maybe mutated: a byte replaced, inserted or removed, or
/// the text cut short.
fn text() -> impl Strategy<Value = String> {
    let top = prop_oneof![8 => chunk(), 1 => api_error(), 1 => any_value()];
    let edit = prop_oneof![
        6 => Just(None),
        1 => (any::<usize>(), prop::sample::select(SNIPPETS), 0u8..3).prop_map(Some),
    ];
    (top, prop::collection::vec(any::<u8>(), 64), edit, 0u8..20).prop_map(|(j, ws, edit, cut)| {
        let mut out = String::new();
        j.write(&mut out, &mut ws.into_iter().cycle());
        if let Some((at, snippet, how)) = edit {
            out = edited(out, at, snippet, how);
        }
        if cut == 0 {
            let mut at = out.len() / 2;
            while !out.is_char_boundary(at) {
                at -= 1;
            }
            out.truncate(at);
        }
        out
    })
}

/// Where a template's text value goes; never produced by the generators.
const HOLE: &str = "\u{1}HOLE\u{1}";

/// A text body for the hole: usually valid, sometimes broken so that the
/// string would end early, swallow its closing quote, or not be JSON.
fn hole_body() -> impl Strategy<Value = String> {
    let breaker = prop::sample::select(vec![
        "\"",
        "\\",
        "\u{1}",
        "\u{1f}",
        "\\u12",
        "\\x",
        "\",\"x\":\"",
        "\\\"",
        "\"}]}",
        "\\u",
    ]);
    prop_oneof![
        6 => str_body(),
        1 => (str_body(), breaker, str_body()).prop_map(|(a, b, c)| format!("{a}{b}{c}")),
        1 => (str_body(), Just("\\")).prop_map(|(a, b)| format!("{a}{b}")),
    ]
}

/// A chunk with one choice whose `delta` (or `message`) holds the hole as
/// `content`, `reasoning` or `reasoning_content`, maybe next to other
/// fields of any shape.
fn hole_chunk() -> BoxedStrategy<J> {
    let texts = prop::sample::select(vec!["content", "reasoning", "reasoning_content"]);
    let lean = (prop::option::of(s()), texts.clone()).prop_map(|(role, key)| {
        let mut entries = vec![(key.to_owned(), J::Str(HOLE.to_owned()))];
        entries.extend(role.map(|r| ("role".to_owned(), r)));
        J::Obj(entries)
    });
    let busy = (message(), texts, any::<usize>()).prop_map(|(m, key, at)| match m {
        J::Obj(mut entries) => {
            let at = at % (entries.len() + 1);
            entries.insert(at, (key.to_owned(), J::Str(HOLE.to_owned())));
            J::Obj(entries)
        }
        other => other,
    });
    let delta = prop_oneof![3 => lean, 1 => busy].boxed();
    let choice = obj(vec![
        ("index", index()),
        ("delta", delta.clone()),
        ("logprobs", Just(J::Lit("null")).boxed()),
        ("finish_reason", s()),
    ]);
    let message_choice = obj(vec![("index", index()), ("message", delta), ("finish_reason", s())]);
    let choices = prop_oneof![
        6 => choice.clone().prop_map(|c| J::Arr(vec![c])),
        1 => message_choice.prop_map(|c| J::Arr(vec![c])),
        1 => (choice, super_choice()).prop_map(|(a, b)| J::Arr(vec![a, b])),
    ]
    .boxed();
    let any_shape = obj(vec![
        ("id", s()),
        ("object", s()),
        ("created", n()),
        ("model", s()),
        ("choices", choices),
        ("usage", obj(vec![("prompt_tokens", n()), ("completion_tokens", n())])),
    ]);
    prop_oneof![1 => any_shape, 1 => streamed_chunk()].boxed()
}

/// A chunk as streams send them, plain values in the usual order.
fn streamed_chunk() -> BoxedStrategy<J> {
    let plain = || "[a-z0-9-]{0,12}".prop_map(J::Str);
    let finish = prop_oneof![3 => Just(J::Lit("null")), 1 => some_str().prop_map(J::Str)];
    let key = prop::sample::select(vec!["content", "reasoning", "reasoning_content"]);
    (plain(), number(), plain(), key, prop::option::of(plain()), finish)
        .prop_map(|(id, created, model, key, role, finish)| {
            let mut delta = vec![];
            delta.extend(role.map(|r| ("role".to_owned(), r)));
            delta.push((key.to_owned(), J::Str(HOLE.to_owned())));
            let choice = J::Obj(vec![
                ("index".to_owned(), J::Num("0".to_owned())),
                ("delta".to_owned(), J::Obj(delta)),
                ("logprobs".to_owned(), J::Lit("null")),
                ("finish_reason".to_owned(), finish),
            ]);
            J::Obj(vec![
                ("id".to_owned(), id),
                ("object".to_owned(), J::Str("chat.completion.chunk".to_owned())),
                ("created".to_owned(), J::Num(created)),
                ("model".to_owned(), model),
                ("choices".to_owned(), J::Arr(vec![choice])),
            ])
        })
        .boxed()
}

/// Any choice, for chunks with two.
fn super_choice() -> BoxedStrategy<J> {
    choice()
}

/// What the next payload of a sequence is.
#[derive(Debug, Clone)]
enum Next {
    /// The template with this body in the hole.
    Fill(String),
    /// Filled, then one edit anywhere (as in [`text`]).
    Edited(String, usize, &'static str, u8),
    /// Something unrelated.
    Other(String),
}

fn next() -> impl Strategy<Value = Next> {
    prop_oneof![
        10 => hole_body().prop_map(Next::Fill),
        2 => (hole_body(), any::<usize>(), prop::sample::select(SNIPPETS), 0u8..3)
            .prop_map(|(b, at, snippet, how)| Next::Edited(b, at, snippet, how)),
        1 => text().prop_map(Next::Other),
    ]
}

/// A template and the payloads made from it.
fn sequence() -> impl Strategy<Value = Vec<String>> {
    (hole_chunk(), prop::collection::vec(any::<u8>(), 64), prop::collection::vec(next(), 1..10))
        .prop_map(|(j, ws, nexts)| {
            let mut template = String::new();
            j.write(&mut template, &mut ws.into_iter().cycle());
            nexts
                .into_iter()
                .map(|next| match next {
                    Next::Fill(body) => template.replace(HOLE, &body),
                    Next::Edited(body, at, snippet, how) => {
                        edited(template.replace(HOLE, &body), at, snippet, how)
                    }
                    Next::Other(text) => text,
                })
                .collect()
        })
}

/// Feeds `payloads` to one [`Parser`]; each result must be [`parse`]'s.
/// Returns how many were reused.
fn check_sequence(payloads: &[String]) -> Result<u64, TestCaseError> {
    let mut parser = Parser::new();
    for (i, text) in payloads.iter().enumerate() {
        let stateless = parse(text);
        let streamed = parser.parse(text);
        match (&streamed, &stateless) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "payload {} {:?}", i, text),
            _ => prop_assert_eq!(kind(&streamed), kind(&stateless), "payload {} {:?}", i, text),
        }
    }
    Ok(parser.reused())
}

// === typed events (Responses API, Messages) ===

/// Where a typed-event template's `i`th skipped value goes; never produced
/// by the generators.
fn skip_marker(i: usize) -> String {
    format!("\u{2}SKIP{i}\u{2}")
}

/// As many skipped values as a template can hold.
const SKIPS: usize = 4;

/// A value for a skipped hole: any value, a number (the Responses API's
/// `sequence_number`), a string (`obfuscation`), or something broken.
fn skipped_value() -> impl Strategy<Value = String> {
    let rendered = any_value().prop_map(|j| {
        let mut out = String::new();
        j.write(&mut out, &mut std::iter::empty());
        out
    });
    prop_oneof![
        8 => number(),
        8 => str_body().prop_map(|b| format!("\"{b}\"")),
        3 => rendered,
        1 => prop::sample::select(vec![
            "", "[", "{", "\"", "\"a", "01", "1.", "-", "[1,]", "{\"a\"}", "nul", "\"\\x\"", "1 2",
            "\"a\",\"b\":1", "}", "]",
        ])
        .prop_map(str::to_owned),
    ]
}

/// The `i`th skipped hole, as a template value.
fn skip(i: usize) -> BoxedStrategy<J> {
    Just(J::Num(skip_marker(i))).boxed()
}

/// The text hole, as a template value.
fn hole() -> BoxedStrategy<J> {
    Just(J::Str(HOLE.to_owned())).boxed()
}

/// A string value out of `values`.
fn one_of(values: Vec<&'static str>) -> BoxedStrategy<J> {
    prop::sample::select(values).prop_map(|v| J::Str(v.to_owned())).boxed()
}

/// A Responses API event: mostly a delta of one of the kinds, with the
/// text in `delta` and skipped values where deltas have them.
fn responses_template() -> BoxedStrategy<J> {
    obj(vec![
        (
            "type",
            one_of(vec![
                "response.output_text.delta",
                "response.reasoning_summary_text.delta",
                "response.reasoning_text.delta",
                "response.function_call_arguments.delta",
                "response.refusal.delta",
                "response.output_text.done",
                "response.output_item.added",
                "response.completed",
                "error",
            ]),
        ),
        ("sequence_number", skip(0)),
        ("item_id", skip(1)),
        ("output_index", index()),
        ("content_index", skip(2)),
        ("delta", hole()),
        ("logprobs", skip(3)),
        ("obfuscation", skip(2)),
    ])
}

/// A Messages event: mostly a `content_block_delta` whose delta holds the
/// text under one of the keys, or a block start holding it.
fn messages_template() -> BoxedStrategy<J> {
    let delta_type = one_of(vec![
        "text_delta",
        "thinking_delta",
        "input_json_delta",
        "signature_delta",
        "citations_delta",
    ]);
    let delta = prop_oneof![
        obj(vec![("type", delta_type.clone()), ("text", hole())]),
        obj(vec![("type", delta_type.clone()), ("thinking", hole())]),
        obj(vec![("type", delta_type.clone()), ("partial_json", hole()), ("x", skip(1))]),
        obj(vec![("type", delta_type), ("signature", hole())]),
    ]
    .boxed();
    let block = prop_oneof![
        obj(vec![("type", one_of(vec!["text", "thinking"])), ("text", hole())]),
        obj(vec![
            ("type", one_of(vec!["thinking", "text"])),
            ("thinking", hole()),
            ("signature", one_of(vec!["", "EqQBCgIYAhIM"])),
        ]),
    ]
    .boxed();
    obj(vec![
        (
            "type",
            one_of(vec![
                "content_block_delta",
                "content_block_start",
                "message_delta",
                "message_stop",
                "ping",
                "error",
            ]),
        ),
        ("index", index()),
        ("delta", delta),
        ("content_block", block),
        ("extra", skip(0)),
    ])
}

/// A Gemini chunk: mostly one candidate with one part holding the text
/// (thought or not), and the usage counts as holes (read by the reader,
/// unlike skipped values, but with any value the same way).
fn gemini_template() -> BoxedStrategy<J> {
    let part = prop_oneof![
        4 => obj(vec![
            ("text", hole()),
            ("thought", b()),
            ("thoughtSignature", one_of(vec!["", "CiQB0e2K"])),
        ]),
        1 => obj(vec![("text", s()), ("thought", b())]),
        1 => obj(vec![("functionCall", obj(vec![("name", s()), ("args", any_value().boxed())]))]),
    ];
    let parts = prop_oneof![
        3 => part.clone().prop_map(|p| J::Arr(vec![p])),
        1 => prop::collection::vec(part, 0..3).prop_map(J::Arr),
    ];
    let content = obj(vec![("parts", parts.boxed()), ("role", one_of(vec!["model"]))]);
    let finish = prop_oneof![3 => Just(J::Lit("null")), 1 => one_of(vec!["STOP", "SAFETY"])];
    let candidate =
        obj(vec![("content", content), ("finishReason", finish.boxed()), ("index", index())]);
    let candidates = prop_oneof![
        3 => candidate.clone().prop_map(|c| J::Arr(vec![c])),
        1 => prop::collection::vec(candidate, 0..3).prop_map(J::Arr),
    ];
    let usage = obj(vec![
        ("promptTokenCount", skip(0)),
        ("candidatesTokenCount", skip(1)),
        ("totalTokenCount", skip(2)),
        ("thoughtsTokenCount", skip(3)),
        ("cachedContentTokenCount", skip(1)),
        ("promptTokensDetails", any_value().boxed()),
    ]);
    obj(vec![
        ("candidates", candidates.boxed()),
        ("usageMetadata", usage),
        ("modelVersion", s()),
        ("responseId", s()),
        ("error", api_error()),
    ])
}

/// An Ollama line: mostly one whose `message` holds the text as its
/// `thinking` or `content`, with `created_at` and durations skipped.
fn ollama_template() -> BoxedStrategy<J> {
    let text = || prop_oneof![2 => hole(), 1 => one_of(vec!["", "x"])].boxed();
    let message = obj(vec![
        ("role", one_of(vec!["assistant"])),
        ("content", text()),
        ("thinking", text()),
        ("tool_calls", arr(any_value().boxed())),
    ]);
    let done = prop_oneof![4 => Just(J::Lit("false")), 1 => b()].boxed();
    obj(vec![
        ("model", s()),
        ("created_at", skip(0)),
        ("message", message),
        ("response", text()),
        ("thinking", one_of(vec!["", "hm"])),
        ("done", done),
        ("done_reason", prop_oneof![3 => Just(J::Lit("null")), 1 => s()].boxed()),
        ("total_duration", skip(1)),
        ("eval_count", prop_oneof![3 => Just(J::Lit("null")), 1 => n()].boxed()),
        ("type", prop_oneof![6 => Just(J::Lit("null")), 1 => s()].boxed()),
    ])
}

/// A Gemini chunk or an Ollama line as streams send them.
fn streamed_line() -> BoxedStrategy<(Typed, J)> {
    let text = |t: &str| J::Str(t.to_owned());
    let skipped = |i| J::Num(skip_marker(i));
    let gemini = (prop::bool::ANY, prop::bool::ANY).prop_map(move |(thought, details)| {
        let mut part = vec![("text".to_owned(), text(HOLE))];
        if thought {
            part.push(("thought".to_owned(), J::Lit("true")));
        }
        let content = J::Obj(vec![
            ("parts".to_owned(), J::Arr(vec![J::Obj(part)])),
            ("role".to_owned(), text("model")),
        ]);
        let candidate =
            J::Obj(vec![("content".to_owned(), content), ("index".to_owned(), J::Lit("0"))]);
        let mut usage = vec![
            ("promptTokenCount".to_owned(), skipped(0)),
            ("candidatesTokenCount".to_owned(), skipped(1)),
            ("totalTokenCount".to_owned(), skipped(2)),
        ];
        if details {
            let detail = J::Obj(vec![
                ("modality".to_owned(), text("TEXT")),
                ("tokenCount".to_owned(), J::Lit("52")),
            ]);
            usage.push(("promptTokensDetails".to_owned(), J::Arr(vec![detail])));
        }
        usage.push(("thoughtsTokenCount".to_owned(), skipped(3)));
        let j = J::Obj(vec![
            ("candidates".to_owned(), J::Arr(vec![candidate])),
            ("usageMetadata".to_owned(), J::Obj(usage)),
            ("modelVersion".to_owned(), text("gemini-2.5-flash")),
            ("responseId".to_owned(), text("mCq0aL2xGoSd1dkPnq2o6Ag")),
        ]);
        (Typed::Gemini, j)
    });
    let ollama = prop::bool::ANY.prop_map(move |thinking| {
        let message = if thinking {
            vec![
                ("role".to_owned(), text("assistant")),
                ("content".to_owned(), text("")),
                ("thinking".to_owned(), text(HOLE)),
            ]
        } else {
            vec![("role".to_owned(), text("assistant")), ("content".to_owned(), text(HOLE))]
        };
        let j = J::Obj(vec![
            ("model".to_owned(), text("qwen3:8b")),
            ("created_at".to_owned(), skipped(0)),
            ("message".to_owned(), J::Obj(message)),
            ("done".to_owned(), J::Lit("false")),
        ]);
        (Typed::Ollama, j)
    });
    prop_oneof![gemini, ollama].boxed()
}

/// A delta as streams send it (`type` first, the usual keys in the usual
/// order), and the reader for it.
fn streamed_event() -> BoxedStrategy<(Typed, J)> {
    let text = |t: &str| J::Str(t.to_owned());
    let (number, skipped) = (|n: &str| J::Num(n.to_owned()), |i| J::Num(skip_marker(i)));
    let responses = prop::sample::select(vec![
        "response.output_text.delta",
        "response.reasoning_summary_text.delta",
        "response.function_call_arguments.delta",
    ])
    .prop_map(move |t| {
        let j = J::Obj(vec![
            ("type".to_owned(), text(t)),
            ("sequence_number".to_owned(), skipped(0)),
            ("item_id".to_owned(), skipped(1)),
            ("output_index".to_owned(), number("1")),
            ("content_index".to_owned(), skipped(2)),
            ("delta".to_owned(), text(HOLE)),
            ("logprobs".to_owned(), skipped(3)),
            ("obfuscation".to_owned(), skipped(2)),
        ]);
        (Typed::Responses, j)
    });
    let messages = prop::sample::select(vec![
        ("text_delta", "text"),
        ("thinking_delta", "thinking"),
        ("input_json_delta", "partial_json"),
    ])
    .prop_map(move |(t, key)| {
        let delta = J::Obj(vec![("type".to_owned(), text(t)), (key.to_owned(), text(HOLE))]);
        let j = J::Obj(vec![
            ("type".to_owned(), text("content_block_delta")),
            ("index".to_owned(), number("0")),
            ("delta".to_owned(), delta),
        ]);
        (Typed::Messages, j)
    });
    // Now and then `type` again, as `null`: the kind read first no longer
    // counts, the SSE event type decides.
    (prop_oneof![responses, messages], 0u8..4)
        .prop_map(|((typed, j), retyped)| match j {
            J::Obj(mut entries) if retyped == 0 => {
                entries.push(("type".to_owned(), J::Lit("null")));
                (typed, J::Obj(entries))
            }
            j => (typed, j),
        })
        .boxed()
}

/// What the next event of a typed sequence is.
#[derive(Debug, Clone)]
enum NextEvent {
    /// The template with this text and these skipped values.
    Fill(String, Vec<String>),
    /// Filled, then one edit anywhere (as in [`text`]).
    Edited(String, Vec<String>, usize, &'static str, u8),
    /// Something unrelated.
    Other(String),
}

fn next_event() -> impl Strategy<Value = (bool, &'static str, NextEvent)> {
    let skips = || prop::collection::vec(skipped_value(), SKIPS);
    let event_type = prop_oneof![
        4 => Just("message"),
        2 => Just("content_block_delta"),
        2 => Just("response.output_text.delta"),
        1 => Just("error"),
        1 => Just("response.completed"),
    ];
    let next = prop_oneof![
        20 => (hole_body(), skips()).prop_map(|(b, v)| NextEvent::Fill(b, v)),
        2 => (hole_body(), skips(), any::<usize>(), prop::sample::select(SNIPPETS), 0u8..3)
            .prop_map(|(b, v, at, snippet, how)| NextEvent::Edited(b, v, at, snippet, how)),
        1 => text().prop_map(NextEvent::Other),
    ];
    // Now and then read with the other format's reader.
    (prop::bool::weighted(0.05), event_type, next)
}

/// Which reader a typed sequence is for.
#[derive(Debug, Clone, Copy)]
enum Typed {
    Responses,
    Messages,
    Gemini,
    Ollama,
}

impl Typed {
    /// The reader read with now and then instead.
    fn other(self) -> Typed {
        match self {
            Typed::Responses => Typed::Messages,
            Typed::Messages => Typed::Responses,
            Typed::Gemini => Typed::Ollama,
            Typed::Ollama => Typed::Gemini,
        }
    }
}

/// A typed template and the events (with their SSE event types) made from
/// it.
fn typed_sequence() -> impl Strategy<Value = Vec<(Typed, &'static str, String)>> {
    let template = prop_oneof![
        1 => responses_template().prop_map(|j| (Typed::Responses, j)),
        1 => messages_template().prop_map(|j| (Typed::Messages, j)),
        1 => gemini_template().prop_map(|j| (Typed::Gemini, j)),
        1 => ollama_template().prop_map(|j| (Typed::Ollama, j)),
        3 => streamed_event(),
        3 => streamed_line(),
        // Read with the other format's reader.
        1 => streamed_event().prop_map(|(typed, j)| (typed.other(), j)),
        1 => streamed_line().prop_map(|(typed, j)| (typed.other(), j)),
    ];
    (template, prop::collection::vec(any::<u8>(), 64), prop::collection::vec(next_event(), 1..10))
        .prop_map(|((typed, j), ws, nexts)| {
            let mut template = String::new();
            j.write(&mut template, &mut ws.into_iter().cycle());
            let fill = |body: &str, values: &[String]| {
                let mut out = template.replace(HOLE, body);
                for (i, value) in values.iter().enumerate() {
                    out = out.replace(&skip_marker(i), value);
                }
                out
            };
            nexts
                .into_iter()
                .map(|(other, event_type, next)| {
                    let data = match next {
                        NextEvent::Fill(body, values) => fill(&body, &values),
                        NextEvent::Edited(body, values, at, snippet, how) => {
                            edited(fill(&body, &values), at, snippet, how)
                        }
                        NextEvent::Other(text) => text,
                    };
                    let typed = if other { typed.other() } else { typed };
                    (typed, event_type, data)
                })
                .collect()
        })
}

/// Feeds typed `events` to one [`Parser`], each with its reader; each
/// result must be the plain reader's. Returns how many were reused.
fn check_typed_sequence(events: &[(Typed, &str, String)]) -> Result<u64, TestCaseError> {
    let mut parser = Parser::new();
    for (i, (typed, event_type, data)) in events.iter().enumerate() {
        let at = format!("event {i} {event_type} {data:?}");
        match *typed {
            Typed::Responses => same(
                &parser.parse_responses(event_type, data),
                &responses::parse(event_type, data),
                &at,
            )?,
            Typed::Messages => same(
                &parser.parse_messages(event_type, data),
                &messages::parse(event_type, data),
                &at,
            )?,
            Typed::Gemini => same(&parser.parse_gemini(data), &gemini::parse(data), &at)?,
            Typed::Ollama => same(&parser.parse_ollama(data), &ollama::parse(data), &at)?,
        }
    }
    Ok(parser.reused())
}

/// The same reading, or the same variant of error.
fn same<T: PartialEq + std::fmt::Debug>(
    streamed: &Result<T, Error>,
    stateless: &Result<T, Error>,
    at: &str,
) -> Result<(), TestCaseError> {
    let kind = |r: &Result<T, Error>| r.as_ref().err().map(std::mem::discriminant);
    match (streamed, stateless) {
        (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "{}", at),
        _ => prop_assert_eq!(kind(streamed), kind(stateless), "{}", at),
    }
    Ok(())
}

/// The payload, or which variant of error: error texts are not compared.
fn kind<'r, 'a>(
    r: &'r Result<Payload<'a>, Error>,
) -> Result<&'r Payload<'a>, std::mem::Discriminant<Error>> {
    r.as_ref().map_err(std::mem::discriminant)
}

fn check(text: &str) -> Result<(), TestCaseError> {
    let fast = parse(text);
    let slow = reference::parse(text);
    prop_assert_eq!(kind(&fast), kind(&slow), "parse {:?}", text);
    let fast_event = parse_event("error", text);
    let slow_event = reference::parse_event("error", text);
    prop_assert_eq!(kind(&fast_event), kind(&slow_event), "parse_event {:?}", text);

    if text.trim_ascii() == "[DONE]" {
        return Ok(());
    }
    let value_ok = serde_json::from_str::<serde_json::Value>(text).is_ok();
    let ignored_ok = serde_json::from_str::<IgnoredAny>(text).is_ok();
    let json_error = matches!(fast, Err(Error::Json(_)));
    if value_ok {
        prop_assert!(!json_error, "serde_json reads {:?} but we did not: {:?}", text, fast);
    }
    if !json_error {
        prop_assert!(ignored_ok, "accepted {:?}, which is not JSON", text);
    }
    if value_ok == ignored_ok {
        // No leniency in play: accepted iff serde_json accepts.
        prop_assert_eq!(json_error, !value_ok, "{:?}", text);
    }
    Ok(())
}

/// 4096 cases unless `PROPTEST_CASES` says otherwise; failures are not
/// persisted (the examples test below keeps the interesting ones).
fn config() -> ProptestConfig {
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() {
        ProptestConfig::default().cases
    } else {
        4096
    };
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn same_as_reference_on_chunk_like_json(text in text()) {
        check(&text)?;
    }

    #[test]
    fn parser_reusing_a_parse_is_the_same_as_parse(payloads in sequence()) {
        check_sequence(&payloads)?;
    }

    #[test]
    fn parser_reusing_a_typed_event_is_the_same_as_its_reader(
        events in typed_sequence(),
    ) {
        check_typed_sequence(&events)?;
    }

    #[test]
    fn same_as_reference_on_jsonish_noise(text in r#"[\[\]{}":,0-9a-z_\\ .eE+-]{0,64}"#) {
        check(&text)?;
    }
}

/// The generator reaches every outcome often enough to mean something.
#[test]
fn generator_covers_every_outcome() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let strategy = text();
    let (mut chunks, mut choices, mut json, mut shape, mut api) = (0, 0, 0, 0, 0);
    for _ in 0..2000 {
        let text = strategy.new_tree(&mut runner).unwrap().current();
        match parse(&text) {
            Ok(Payload::Chunk(c) | Payload::Completion(c)) => {
                chunks += 1;
                choices += usize::from(!c.choices.is_empty());
            }
            Ok(Payload::Error(_)) => api += 1,
            Ok(Payload::Done) => {}
            Err(Error::Json(_)) => json += 1,
            Err(_) => shape += 1,
        }
    }
    eprintln!("chunks {chunks} (with choices {choices}) api {api} json {json} shape {shape}");
    assert!(chunks >= 400 && choices >= 200 && json >= 200 && shape >= 50 && api >= 20);
}

/// The sequences reuse often enough for the property to test reuse, and
/// fall back often enough to test the fallback.
#[test]
fn sequences_exercise_reuse() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let strategy = sequence();
    let (mut payloads, mut reused) = (0, 0);
    for _ in 0..1000 {
        let sequence = strategy.new_tree(&mut runner).unwrap().current();
        payloads += sequence.len() as u64;
        reused += check_sequence(&sequence).unwrap();
    }
    eprintln!("{reused} of {payloads} payloads reused");
    assert!(reused * 5 >= payloads && reused * 5 <= payloads * 4, "{reused} of {payloads}");
}

/// The typed sequences reuse often enough for the property to test reuse,
/// and fall back often enough to test the fallback.
#[test]
fn typed_sequences_exercise_reuse() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let strategy = typed_sequence();
    let (mut events, mut reused) = (0, 0);
    for _ in 0..1000 {
        let sequence = strategy.new_tree(&mut runner).unwrap().current();
        events += sequence.len() as u64;
        reused += check_typed_sequence(&sequence).unwrap();
    }
    eprintln!("{reused} of {events} typed events reused");
    assert!(reused * 10 >= events && reused * 5 <= events * 4, "{reused} of {events}");
}

#[test]
fn same_as_reference_on_examples() {
    let deep_skip = format!(r#"{{"choices":[{{"x":{}1{}}}]}}"#, "[".repeat(5000), "]".repeat(5000));
    let deep_choices = format!(r#"{{"choices":{}{}}}"#, "[".repeat(5000), "]".repeat(5000));
    let cases = [
        r#"{"choices":[{"delta":{"content":"a\ud800b"}}]}"#,
        r#"{"id":"\ud800","choices":[]}"#,
        r#"{"choices":[],"x":"\ud800","y":1e999}"#,
        r#"{"choices":[],"created":1e999}"#,
        r#"{"choices":[],"created":-0}"#,
        r#"{"choices":[],"id":{"\ud800":1}}"#,
        r#"{"choices":[],"id":{"a":{"\ud800":1}}}"#,
        r#"{"choices":[{"index":1},{"index":2}],"choices":[{"index":3}]}"#,
        r#"{"choices":[{"index":"1","delta":{"content":"x"}}]}"#,
        r#"{"choices":[{"index":1.0},{"index":-1}],"usage":{"total_tokens":1}}"#,
        r#"{"choices":[{"index":null}],"x":}"#,
        r#"{"choices":[{"index":[1]}],"choices":[{"index":4294967295}]}"#,
        r#"{"choices":[{"index":{"a":1},"index":0}]}"#,
        r#"{"choices":[{"message":{}}],"choices":[{"delta":{}}]}"#,
        r#"{"choices":[],"usage":{"prompt_tokens":1},"usage":null}"#,
        r#"{"error":{"code":1.5e3,"status":70000},"error":"late"}"#,
        r#"{"prompt_filter_results":[{"content_filter_results":{"hate":3,"x":null,"y":"m","z":true}}],"prompt_annotations":[{"content_filter_offsets":{"check_offset":2},"content_filter_result":{"a":[{"id":"b"},1]}}]}"#,
        r#"{"\u0063hoices":[{"d\u0065lta":{"reasoning_details":[{"type":"reasoning.text","text":"a"},{"type":"reasoning.summary","summary":"b"}]}}]}"#,
        " {\"choices\" : [ ] } \n",
        "{\"choices\":[]}\u{c}",
        r#"{"choices":[],}"#,
        r#"{"choices":[1,]}"#,
        "",
        "[DONE]",
        "\"\\ud800\"",
        "{\"message\":\"m\",\"error\":null}",
        &deep_skip,
        &deep_choices,
    ];
    for text in cases {
        check(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    }
}

/// A reused typed event keeps what its kept one said besides the text: a
/// signed thinking block's mark, a tool call's index.
#[test]
fn typed_reuse_keeps_marks_and_indexes() {
    let events: Vec<(Typed, &str, String)> = ["Let", " me", " see\\n"]
        .iter()
        .flat_map(|text| {
            [
                (
                    Typed::Messages,
                    "content_block_start",
                    format!(
                        r#"{{"type":"content_block_start","index":0,"content_block":{{"type":"thinking","thinking":"{text}","signature":"EqQB"}}}}"#
                    ),
                ),
                (
                    Typed::Responses,
                    "response.function_call_arguments.delta",
                    format!(
                        r#"{{"type":"response.function_call_arguments.delta","sequence_number":7,"item_id":"fc_1","output_index":3,"delta":"{text}"}}"#
                    ),
                ),
            ]
        })
        .collect();
    let (messages, responses): (Vec<_>, Vec<_>) =
        events.into_iter().partition(|(typed, _, _)| matches!(typed, Typed::Messages));
    assert_eq!(check_typed_sequence(&messages).unwrap(), 2);
    assert_eq!(check_typed_sequence(&responses).unwrap(), 2);
}

/// The Gemini and Ollama sequences reuse too (the count above is over all
/// formats).
#[test]
fn gemini_and_ollama_sequences_exercise_reuse() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let strategy = typed_sequence();
    let (mut events, mut reused) = (0, 0);
    let mut sequences = 0;
    while sequences < 400 {
        let sequence = strategy.new_tree(&mut runner).unwrap().current();
        if !matches!(sequence[0].0, Typed::Gemini | Typed::Ollama) {
            continue;
        }
        sequences += 1;
        events += sequence.len() as u64;
        reused += check_typed_sequence(&sequence).unwrap();
    }
    eprintln!("{reused} of {events} Gemini and Ollama events reused");
    assert!(reused * 10 >= events && reused * 5 <= events * 4, "{reused} of {events}");
}

/// A reused Gemini chunk reads its new counts (its usage normalised from
/// them: completion = candidates + thoughts), a reused Ollama line skips its
/// new `created_at` and keeps the empty `content` beside its thinking.
#[test]
fn typed_reuse_reads_counts_and_skips_created_at() {
    let mut parser = Parser::new();
    for (text, candidates, total) in [("Let", 3, 60), (" me", 6, 63), (" see\\n", 9, 66)] {
        let data = format!(
            r#"{{"candidates": [{{"content": {{"parts": [{{"text": "{text}"}}],"role": "model"}},"index": 0}}],"usageMetadata": {{"promptTokenCount": 12,"candidatesTokenCount": {candidates},"totalTokenCount": {total},"thoughtsTokenCount": 45}},"modelVersion": "gemini-2.5-flash","responseId": "mCq0"}}"#
        );
        let r = parser.parse_gemini(&data).unwrap();
        assert_eq!(r.id.as_deref(), Some("mCq0"));
        let c = &r.candidates[0];
        assert_eq!(
            (c.thought.as_deref(), c.text.as_deref()),
            (None, Some(&*text.replace("\\n", "\n")))
        );
        let u = r.usage.unwrap();
        assert_eq!(
            (u.prompt_tokens, u.completion_tokens, u.reasoning_tokens, u.total_tokens),
            (Some(12), Some(candidates + 45), Some(45), Some(total))
        );
    }
    for (text, at) in [("Okay", "00.1"), (", the", "00.2"), (" user", "01.25")] {
        let data = format!(
            r#"{{"model":"qwen3:8b","created_at":"2025-06-05T12:00:{at}Z","message":{{"role":"assistant","content":"","thinking":"{text}"}},"done":false}}"#
        );
        let l = parser.parse_ollama(&data).unwrap();
        assert_eq!(
            (l.model.as_deref(), l.thinking.as_deref(), l.content.as_deref(), l.done),
            (Some("qwen3:8b"), Some(text), Some(""), false)
        );
        assert!(l.surely_ollama);
    }
    assert_eq!(parser.reused(), 4);
}
