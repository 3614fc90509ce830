//! The report against numbers worked out by hand from `fixtures/report/`
//! (its README lists the streams), and its bounds.

use std::fs;
use std::path::{Path, PathBuf};

use clap::Parser;

use super::html::CHARTS;
use super::*;
use crate::analyze::ChoiceStat;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/report")
}

/// `--since`, `--until` and `--model` as the command line gives them.
fn select(args: &[&str]) -> SelectArgs {
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        select: SelectArgs,
    }
    Cli::parse_from([&["report"], args].concat()).select
}

/// The `data-value` of card `id`.
fn card(page: &str, id: &str) -> u64 {
    let at =
        page.find(&format!("id=\"card-{id}\" data-value=\"")).unwrap_or_else(|| panic!("{id}"));
    let rest = &page[at..];
    let value = rest.split('"').nth(3).unwrap();
    value.parse().unwrap()
}

fn cards(page: &str) -> Vec<(&'static str, u64)> {
    [
        "streams",
        "models",
        "reasoning",
        "complete",
        "cut-in-reasoning",
        "tool-calls",
        "filtered",
        "errors",
        "cut-elsewhere",
        "tokens",
        "timed",
        "filter-events",
    ]
    .into_iter()
    .map(|id| (id, card(page, id)))
    .collect()
}

#[test]
fn cards_count_the_fixture_as_worked_out_by_hand() {
    let (_, summary, page) = page_for(&[fixture()], &select(&[]));
    // Streams 1-14 of the transcript and the recording's two (README).
    assert_eq!(
        cards(&page),
        [
            ("streams", 16),
            ("models", 5),
            // Streams 1-10 and both recorded ones have reasoning text.
            ("reasoning", 12),
            // 1, 2, 3, 8, 9, 12, 13 and the first recorded one.
            ("complete", 8),
            // 4 (length), 5 (<think> never closed), the second recorded one.
            ("cut-in-reasoning", 3),
            ("tool-calls", 1),
            ("filtered", 1),
            ("errors", 1),
            // 10 (length in the answer), 14 (client went away).
            ("cut-elsewhere", 2),
            // 1-4, 7-10, 13 and both recorded ones; 5 without.
            ("tokens", 11),
            ("timed", 14),
            ("filter-events", 3),
        ]
    );
    assert_eq!((summary.files.recordings, summary.files.transcripts), (1, 1));
    // deepseek-r1: 2,300 reasoning and 450 answer tokens in 4 of 6 streams.
    assert!(page.contains("83.6 % · 4/6 streams"), "{page}");
    // o4-mini: 670 and 600 in all 4.
    assert!(page.contains("52.8 % · 4/4 streams"));
    // deepseek-r1's tax: 1,500, 2,000 and 3,000 ms (nearest rank: the 2nd);
    // six streams with a first token.
    assert!(page.contains("tax p50 2.0 s · n=6"));
    assert!(page.contains("5 of 16 streams lacked reported counts"));
    // hate: safe (prompt of 12) and high (11); violence: safe (11).
    assert!(page.contains("<title>hate</title>hate</text>"));
    assert!(page.contains("<title>high: 1</title>"));
}

#[test]
fn every_chart_is_on_the_page_once_with_its_svg() {
    let (_, _, page) = page_for(&[fixture()], &select(&[]));
    for id in CHARTS {
        let opening = format!("<figure id=\"{id}\"><svg ");
        assert_eq!(page.matches(&opening).count(), 1, "{id}");
    }
    assert_eq!(page.matches("<svg ").count(), CHARTS.len());
    assert_eq!(page.matches("<table id=\"table-slowest\">").count(), 1);
    // Ten rows: totals 8.2 s (stream 4) down to 900 ms (6; 13 is as slow
    // but came later).
    let body = page.split("<tbody>").nth(1).unwrap().split("</tbody>").next().unwrap();
    let rows: Vec<&str> = body.lines().filter(|l| l.starts_with("<tr>")).collect();
    assert_eq!(rows.len(), SLOWEST);
    assert!(rows[0].contains(">8.2 s<") && rows[0].contains(">req-4<"), "{}", rows[0]);
    assert!(rows[9].contains(">900 ms<") && rows[9].contains(">req-6<"), "{}", rows[9]);
    assert!(rows[0].contains("transcripts.jsonl"));
}

#[test]
fn a_page_without_timings_or_tokens_says_so_in_every_chart() {
    let (_, _, page) = page_for(&[fixture().join("recording.sse")], &select(&[]));
    for id in CHARTS {
        assert_eq!(page.matches(&format!("<figure id=\"{id}\"><svg ")).count(), 1, "{id}");
    }
    assert_eq!(page.matches("No timings: none of the 2 streams").count(), 2);
    assert!(page.contains("No content-filter events."));
    assert!(page.contains("No stream with a total duration"));
}

#[test]
fn strings_from_the_input_are_escaped() {
    // The model is `<script>alert(1)</script>`; the path has markup too.
    let dir = std::env::temp_dir()
        .join(format!("thinktee-report-{}", std::process::id()))
        .join("<img src=x onerror=alert(2)>\"'");
    fs::create_dir_all(&dir).unwrap();
    fs::copy(fixture().join("transcripts.jsonl"), dir.join("t.jsonl")).unwrap();
    let (_, _, page) = page_for(std::slice::from_ref(&dir), &select(&[]));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("&lt;img src=x onerror=alert(2)&gt;&quot;&#39;/t.jsonl"));
    let lower = page.to_ascii_lowercase();
    assert_eq!(lower.matches("<script").count(), 0);
    assert_eq!(lower.matches("<img").count(), 0);
    fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn since_until_and_model_choose_the_streams() {
    let cases: [(&[&str], u64); 4] = [
        (&["--model", "o4-mini"], 4),
        // Streams 8-14 started on 2 December; recordings have no time.
        (&["--since", "2026-12-02"], 7),
        (&["--until", "2026-12-02"], 7),
        (&["--since", "2026-12-02", "--model", "gpt-4o"], 2),
    ];
    for (args, streams) in cases {
        let (_, _, page) = page_for(&[fixture()], &select(args));
        assert_eq!(card(&page, "streams"), streams, "{args:?}");
    }
}

// === outcomes ===

fn choice(reasoning: u64, answer: u64, finish: Option<&str>) -> ChoiceStat {
    let mut c = ChoiceStat::new(Some(0));
    c.reasoning_bytes = reasoning;
    c.answer_bytes = answer;
    c.finish_reason = finish.map(str::to_owned);
    c
}

fn stream(outcome: &'static str, choices: Vec<ChoiceStat>) -> StreamStat {
    StreamStat { outcome, choices, ..StreamStat::default() }
}

#[test]
fn outcomes_follow_the_written_precedence() {
    let thought_out = || choice(10, 0, Some("length"));
    let with_tool = || {
        let mut c = choice(10, 0, Some("tool_calls"));
        c.tool_calls = 1;
        c
    };
    // Filtered beats error, error beats a cut in reasoning.
    let mut s = stream("upstream_error", vec![choice(0, 5, Some("content_filter"))]);
    s.errors.push(("api", 1));
    assert_eq!(Class::of(&s), Class::Filtered);
    let mut s = stream("complete", vec![thought_out()]);
    s.errors.push(("invalid_json", 1));
    assert_eq!(Class::of(&s), Class::Error);
    assert_eq!(Class::of(&stream("upstream_timeout", vec![thought_out()])), Class::Error);
    // A cut in reasoning beats a tool call in another choice.
    let mut both = vec![with_tool(), thought_out()];
    both[1].choice = Some(1);
    assert_eq!(Class::of(&stream("complete", both)), Class::CutInReasoning);
    assert_eq!(Class::of(&stream("complete", vec![with_tool()])), Class::ToolCalls);
    // Cut in reasoning: no finish reason, the stream cut, <think> open.
    assert_eq!(Class::of(&stream("incomplete", vec![choice(9, 0, None)])), Class::CutInReasoning);
    let cancelled = stream("client_cancelled", vec![choice(9, 0, Some("stop"))]);
    assert_eq!(Class::of(&cancelled), Class::CutInReasoning);
    let mut open = choice(9, 0, Some("stop"));
    open.unterminated = true;
    assert_eq!(Class::of(&stream("complete", vec![open])), Class::CutInReasoning);
    // Opaque reasoning counts as reasoning.
    let mut encrypted = choice(0, 0, Some("max_output_tokens"));
    encrypted.reasoning_encrypted = true;
    assert_eq!(Class::of(&stream("complete", vec![encrypted])), Class::CutInReasoning);
    // Complete, and the rest.
    assert_eq!(Class::of(&stream("complete", vec![choice(9, 5, Some("stop"))])), Class::Complete);
    assert_eq!(
        Class::of(&stream("complete", vec![choice(9, 5, Some("length"))])),
        Class::CutElsewhere
    );
    assert_eq!(Class::of(&stream("incomplete", vec![choice(0, 5, None)])), Class::CutElsewhere);
    // Thought through, answered nothing, stopped: complete.
    assert_eq!(Class::of(&stream("complete", vec![choice(9, 0, Some("stop"))])), Class::Complete);
}

// === bounds ===

#[test]
fn models_past_the_limit_are_one_row_and_ten_streams_are_the_slowest() {
    let mut report = Report::default();
    let path = Path::new("x.jsonl");
    for i in 0..30u64 {
        let mut s = stream("complete", vec![choice(1, 1, Some("stop"))]);
        s.model = Some(format!("model-{i}"));
        s.stream = i;
        s.total_ms = Some(i as f64);
        report.add(path, &s);
    }
    assert_eq!(report.models.len(), MAX_MODELS);
    assert_eq!(report.models[0].0, "model-0");
    assert_eq!(report.other.as_ref().map(|o| o.streams), Some(30 - MAX_MODELS as u64));
    let rows: Vec<&str> = report.rows().map(|(name, _)| name).collect();
    assert_eq!((rows.len(), rows[MAX_MODELS]), (MAX_MODELS + 1, OTHER_MODEL));
    let slowest: Vec<u64> = report.slowest.iter().map(|s| s.stream).collect();
    assert_eq!(slowest, (20..30).rev().collect::<Vec<_>>());
}

#[test]
fn hostile_the_fold_holds_no_more_when_the_input_grows_tenfold() {
    // One model past the exact samples at 1x already (its distributions
    // are histograms in both runs), 40 others in the first streams (12
    // rows and "other"), 3,000 filter categories (past the key limit),
    // and every stream slower than the last.
    fn fold(n: u64) -> (Report, u64) {
        let path = Path::new("a/long/enough/path/to/a/transcript.jsonl");
        let filter = |i: u64| -> thinktee_pipeline::FilterEvent {
            let line = format!(
                r#"{{"source":"prompt","category":"category-{}","severity":"low","filtered":{}}}"#,
                i % 3_000,
                i.is_multiple_of(2)
            );
            serde_json::from_str(&line).unwrap()
        };
        thinktee_testkit::peak_bytes(|| {
            let mut report = Report::default();
            for i in 0..n {
                let mut s = stream("complete", vec![choice(1, 1, Some("stop"))]);
                s.model = Some(if i < 40 { format!("model-{i}") } else { "main".into() });
                s.request_id = Some(format!("request-{i}"));
                s.ttft_ms = Some((i % 977) as f64);
                s.first_answer_ms = Some((i % 977 + i % 131) as f64);
                s.thinking_ms = Some((i % 131) as f64);
                s.total_ms = Some(i as f64);
                (s.reasoning_tokens, s.answer_tokens) = (Some(i % 1_009), Some(i % 211));
                s.prompt_filters.add(&filter(i));
                report.add(path, &s);
            }
            report
        })
    }
    let n = crate::analyze::EXACT_SAMPLES as u64 + 1_000;
    let ((r1, p1), (r10, p10)) = (fold(n), fold(10 * n));
    assert_eq!((r1.all.streams, r10.all.streams), (n, 10 * n));
    assert_eq!(r10.slowest[0].total_ms, (10 * n - 1) as f64);
    eprintln!("peak heap: {p1} bytes at 1x, {p10} bytes at 10x");
    assert!(p10 * 10 <= p1 * 12, "peak {p10} bytes at 10x vs {p1} at 1x");
}
