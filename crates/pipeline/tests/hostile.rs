//! Hostile inputs (issue 13): many choices, odd choice indexes, floods of
//! errors, huge ids. Every bound is asserted by counting records, errors
//! and allocations (this binary's allocator counts them), never by time.

use thinktee_pipeline::{
    Collector, ErrorKind, Event, FnSink, MAX_CHOICES, MAX_ERRORS_PER_KIND, MAX_META_LEN, Options,
    Pipeline, SplitChoice, StreamEnd,
};
use thinktee_testkit::{CountingAlloc, count_allocations};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// One event: one delta of choice `index` (raw JSON) with `text`.
fn delta(index: &str, text: &str) -> String {
    format!(
        "data: {{\"choices\":[{{\"index\":{index},\"delta\":{{\"content\":\"{text}\"}}}}]}}\n\n"
    )
}

const DONE: &str = "data: [DONE]\n\n";

fn collect(input: &[u8]) -> Vec<SplitChoice> {
    let mut collector = Collector::new();
    let mut pipeline = Pipeline::default();
    let Ok(_) = pipeline.feed(input, &mut collector);
    let Ok(_) = pipeline.finish(&mut collector);
    collector.drain().collect()
}

/// Each stream's end, and the kinds of the error records, as a sink sees them.
fn ends_and_errors(input: &[u8]) -> (Vec<StreamEnd>, Vec<ErrorKind>) {
    let (mut ends, mut errors) = (Vec::new(), Vec::new());
    let mut sink = FnSink::new(|r| match r.event {
        Event::StreamEnd(end) => ends.push(end.clone()),
        Event::Error(e) => errors.push(e.kind),
        _ => {}
    });
    let mut pipeline = Pipeline::default();
    let Ok(_) = pipeline.feed(input, &mut sink);
    let Ok(_) = pipeline.finish(&mut sink);
    (ends, errors)
}

#[test]
fn hostile_too_many_choices_is_one_error_then_counted() {
    // Every choice twice, in two rounds: 40 choices past the limit send 80
    // deltas between them.
    let extra = 40;
    let mut input = String::new();
    for _round in 0..2 {
        for index in 0..MAX_CHOICES + extra {
            input.push_str(&delta(&index.to_string(), "x"));
        }
    }
    input.push_str(DONE);

    let records = collect(input.as_bytes());
    assert_eq!(records.len(), MAX_CHOICES, "one record per tracked choice");
    let choices: Vec<Option<u32>> = records.iter().map(|r| r.choice).collect();
    let tracked: Vec<Option<u32>> = (0..MAX_CHOICES as u32).map(Some).collect();
    assert_eq!(choices, tracked, "the first choices seen are the ones tracked");
    assert!(records.iter().all(|r| r.content == "xx"));
    let kinds: Vec<ErrorKind> = records[0].errors.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [ErrorKind::TooManyChoices]);
    assert_eq!(records[0].untracked_deltas, 2 * extra as u64);

    let (ends, errors) = ends_and_errors(input.as_bytes());
    assert_eq!(errors, [ErrorKind::TooManyChoices], "one error, not one per untracked choice");
    assert_eq!((ends[0].errors, ends[0].untracked_deltas), (1, 2 * extra as u64));

    // Past the limit a choice costs no memory: feeding 2,000 more untracked
    // choices allocates nothing that grows with them.
    let mut pipeline = Pipeline::default();
    let mut sink = FnSink::new(|_| {});
    let tracked_part: String =
        (0..=MAX_CHOICES).map(|index| delta(&index.to_string(), "x")).collect();
    let Ok(_) = pipeline.feed(tracked_part.as_bytes(), &mut sink);
    let untracked: Vec<String> =
        (MAX_CHOICES + 1..MAX_CHOICES + 2001).map(|index| delta(&index.to_string(), "x")).collect();
    let ((), allocations) = count_allocations(|| {
        for event in &untracked {
            let Ok(_) = pipeline.feed(event.as_bytes(), &mut sink);
        }
    });
    assert!(allocations <= 8, "{allocations} allocations for 2,000 untracked choices");
}

#[test]
fn hostile_choice_limit_is_an_option() {
    let input: String = (0..5).map(|i| delta(&i.to_string(), "x")).chain([DONE.into()]).collect();
    let mut collector = Collector::new();
    let mut pipeline = Pipeline::new(Options { max_choices: Some(2), ..Options::default() });
    let Ok(_) = pipeline.feed(input.as_bytes(), &mut collector);
    let Ok(_) = pipeline.finish(&mut collector);
    let records: Vec<SplitChoice> = collector.drain().collect();
    assert_eq!(records.len(), 2);
    assert_eq!((records[0].errors.len(), records[0].untracked_deltas), (1, 3));
}

#[test]
fn hostile_invalid_choice_index_is_an_error_never_choice_0() {
    let bad = [
        "\"1\"",
        "\"0\"",
        "-1",
        "-0",
        "1.5",
        "1.0",
        "1e0",
        "null",
        "4294967296",
        "true",
        "{}",
        "[0]",
    ];
    for index in bad {
        let input = [delta("0", "a"), delta(index, "EVIL"), delta("0", "b"), DONE.into()].concat();
        let records = collect(input.as_bytes());
        assert_eq!(records.len(), 1, "{index}: {records:?}");
        let r = &records[0];
        assert_eq!((r.choice, r.content.as_str()), (Some(0), "ab"), "{index}");
        let kinds: Vec<ErrorKind> = r.errors.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [ErrorKind::InvalidChoiceIndex], "{index}");
    }
    // Absent is choice 0, as some providers send it; u32::MAX is a choice.
    let input = [
        "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n".into(),
        delta("4294967295", "z"),
    ]
    .concat();
    let records = collect(input.as_bytes());
    let got: Vec<(Option<u32>, &str)> =
        records.iter().map(|r| (r.choice, r.content.as_str())).collect();
    assert_eq!(got, [(Some(0), "a"), (Some(u32::MAX), "z")]);
    assert!(records[0].errors.is_empty());
}

#[test]
fn hostile_errors_are_kept_once_per_stream_and_capped_per_kind() {
    let choices = 300;
    let mut input: String = (0..choices).map(|i| delta(&i.to_string(), "x")).collect();
    for _ in 0..1000 {
        input.push_str("data: {oops\n\n");
    }
    for _ in 0..20 {
        input.push_str("data: [1]\n\n");
    }
    input.push_str("data: {\"error\":{\"message\":\"upstream\"}}\n\n");
    input.push_str(DONE);
    // A second stream starts with nothing of the first one's errors.
    input.push_str(&delta("0", "y"));

    let records = collect(input.as_bytes());
    assert_eq!(records.len(), choices + 1);
    let first = &records[0];
    let count = |kind| first.errors.iter().filter(|e| e.kind == kind).count();
    assert_eq!(count(ErrorKind::InvalidJson), MAX_ERRORS_PER_KIND);
    assert_eq!(count(ErrorKind::UnknownShape), MAX_ERRORS_PER_KIND);
    assert_eq!(count(ErrorKind::Api), 1);
    assert_eq!(first.errors.len(), 2 * MAX_ERRORS_PER_KIND + 1);
    let omitted: Vec<_> = first.errors_omitted.iter().map(|(k, n)| (*k, *n)).collect();
    assert_eq!(omitted, [(ErrorKind::InvalidJson, 1000 - 8), (ErrorKind::UnknownShape, 20 - 8)]);
    for r in &records[1..choices] {
        assert!(r.errors.is_empty() && r.errors_omitted.is_empty(), "choice {:?}", r.choice);
    }
    let second = &records[choices];
    assert_eq!((second.stream, second.errors.len()), (1, 0));
    assert!(second.errors_omitted.is_empty());

    // The sink still sees every error (the stream's count is exact).
    let (ends, errors) = ends_and_errors(input.as_bytes());
    assert_eq!((ends[0].errors, errors.len()), (1021, 1021));
}

#[test]
fn hostile_prompt_filters_are_on_the_first_record_only() {
    let filters = "data: {\"choices\":[],\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":{\"hate\":{\"filtered\":false,\"severity\":\"safe\"}}}]}\n\n";
    let input = [filters.into(), delta("1", "b"), delta("0", "a"), DONE.into()].concat();
    let records = collect(input.as_bytes());
    let filters: Vec<(Option<u32>, usize)> =
        records.iter().map(|r| (r.choice, r.filters.len())).collect();
    assert_eq!(filters, [(Some(0), 1), (Some(1), 0)]);
}

#[test]
fn hostile_huge_id_and_model_are_cut_once() {
    // 64 KiB of 3-byte characters: the cut falls inside one.
    let huge = "é€".repeat(13_000);
    let first = format!(
        "data: {{\"id\":\"{huge}\",\"model\":\"{huge}\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"a\"}}}}]}}\n\n"
    );
    let input: String = std::iter::once(first)
        .chain((1..100).map(|i| delta(&i.to_string(), "x")))
        .chain([DONE.into()])
        .collect();
    let records = collect(input.as_bytes());
    assert_eq!(records.len(), 100);
    for r in &records {
        for meta in [r.id.as_deref(), r.model.as_deref()] {
            let meta = meta.expect("kept");
            assert!(meta.len() <= MAX_META_LEN && meta.len() > MAX_META_LEN - 4, "{}", meta.len());
            assert!(huge.starts_with(meta));
        }
    }
}
