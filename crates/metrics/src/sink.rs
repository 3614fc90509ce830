//! The metrics sink.

use std::convert::Infallible;
use std::time::Duration;

use serde::Serialize;
use thinktee_pipeline::{ChoiceMap, Event, Flow, Record, SegmentKind, Sink, Usage};

use crate::gaps::{GapRecorder, Gaps};

/// Token counts of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct Tokens {
    /// Prompt tokens (from usage only).
    pub prompt: Option<u64>,
    /// Completion tokens, reasoning included.
    pub completion: Option<u64>,
    /// Reasoning tokens.
    pub reasoning: Option<u64>,
    /// Answer tokens: completion minus reasoning.
    pub answer: Option<u64>,
    /// Cached prompt tokens (`cached_tokens`, or DeepSeek's cache hits).
    pub cached: Option<u64>,
    /// No usage came with the stream: counts are one token per delta chunk.
    pub estimated: bool,
}

/// Metrics of one choice.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ChoiceMetrics {
    /// The choice index.
    pub choice: u32,
    /// Time to the first thinking text.
    pub time_to_first_thinking_ms: Option<f64>,
    /// Time to the first answer text.
    pub time_to_first_answer_ms: Option<f64>,
    /// From the first thinking text to the end of thinking (close tag, or
    /// the first answer text in field mode).
    pub thinking_duration_ms: Option<f64>,
    /// Bytes of thinking text.
    pub thinking_bytes: u64,
    /// Bytes of answer text.
    pub answer_bytes: u64,
    /// Chunks that carried thinking text.
    pub thinking_chunks: u64,
    /// Chunks that carried answer text.
    pub answer_chunks: u64,
}

/// Metrics of one stream.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct StreamMetrics {
    /// The stream index within the input.
    pub stream: u64,
    /// Time to the first byte of the response body (when the feeder said).
    pub time_to_first_byte_ms: Option<f64>,
    /// Time to the first chunk.
    pub time_to_first_chunk_ms: Option<f64>,
    /// Time to the first token: the first non-empty text of any kind and
    /// any choice (thinking, answer, or tool-call arguments).
    #[serde(default)]
    pub time_to_first_token_ms: Option<f64>,
    /// Time to the first thinking text of any choice.
    pub time_to_first_thinking_ms: Option<f64>,
    /// Time to the first answer text of any choice.
    pub time_to_first_answer_ms: Option<f64>,
    /// From the first thinking text to the last end of thinking.
    pub thinking_duration_ms: Option<f64>,
    /// Time to the end of the stream.
    pub total_duration_ms: Option<f64>,
    /// Chunks (data events parsed as chunks).
    pub chunks: u64,
    /// Bytes of chunk data.
    pub data_bytes: u64,
    /// Bytes of thinking text, all choices.
    pub thinking_bytes: u64,
    /// Bytes of answer text, all choices.
    pub answer_bytes: u64,
    /// Gaps between consecutive chunks.
    pub gaps: Option<Gaps>,
    /// Token counts.
    pub tokens: Tokens,
    /// Per choice, by index.
    pub choices: Vec<ChoiceMetrics>,
}

#[derive(Debug, Default)]
struct ChoiceAcc {
    first_thinking: Option<Duration>,
    first_answer: Option<Duration>,
    thinking_end: Option<Duration>,
    thinking_bytes: u64,
    answer_bytes: u64,
    thinking_chunks: u64,
    answer_chunks: u64,
    last_thinking_chunk: u64,
    last_answer_chunk: u64,
}

#[derive(Debug, Default)]
struct StreamAcc {
    first_byte: Option<Duration>,
    first_chunk: Option<Duration>,
    first_token: Option<Duration>,
    chunks: u64,
    data_bytes: u64,
    gaps: GapRecorder,
    usage: Option<Usage>,
    choices: ChoiceMap<ChoiceAcc>,
}

/// Measures every stream it is fed; see the crate docs.
#[derive(Debug, Default)]
pub struct MetricsSink {
    current: StreamAcc,
    finished: Vec<StreamMetrics>,
    /// The gaps of the stream that ended last.
    last_gaps: GapRecorder,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn min_opt(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl MetricsSink {
    /// A sink with nothing measured.
    pub fn new() -> MetricsSink {
        MetricsSink::default()
    }

    /// The first byte of the current stream's body arrived at `at`.
    /// Later calls for the same stream are ignored. Without a call, the
    /// first timestamped read fed ([`Event::Input`]) counts.
    pub fn observe_first_byte(&mut self, at: Duration) {
        self.current.first_byte.get_or_insert(at);
    }

    /// Metrics of every stream that ended since the last drain.
    pub fn drain(&mut self) -> std::vec::Drain<'_, StreamMetrics> {
        self.finished.drain(..)
    }

    /// Each gap between consecutive chunks of the stream that ended last,
    /// in ascending order (microsecond resolution): at most
    /// [`MAX_GAP_SAMPLES`](crate::MAX_GAP_SAMPLES), for a sink that records
    /// every gap (an OpenTelemetry histogram). Empty before a stream ended.
    pub fn last_gaps(&self) -> impl ExactSizeIterator<Item = Duration> + '_ {
        self.last_gaps.samples()
    }

    /// Gaps of the stream that ended last past
    /// [`MAX_GAP_SAMPLES`](crate::MAX_GAP_SAMPLES): counted in `max`, not
    /// kept.
    pub fn last_gaps_not_kept(&self) -> u64 {
        self.last_gaps.not_kept()
    }

    fn choice(&mut self, choice: u32) -> &mut ChoiceAcc {
        self.current.choices.get_or_insert_with(choice, ChoiceAcc::default)
    }

    fn end(&mut self, stream: u64, at: Option<Duration>) {
        let mut acc = std::mem::take(&mut self.current);
        let sorted: Vec<(u32, ChoiceAcc)> = acc.choices.drain_sorted().collect();
        let choices: Vec<ChoiceMetrics> = sorted
            .iter()
            .map(|(choice, c)| ChoiceMetrics {
                choice: *choice,
                time_to_first_thinking_ms: c.first_thinking.map(ms),
                time_to_first_answer_ms: c.first_answer.map(ms),
                thinking_duration_ms: match (c.first_thinking, c.thinking_end) {
                    (Some(a), Some(b)) => Some(ms(b.saturating_sub(a))),
                    _ => None,
                },
                thinking_bytes: c.thinking_bytes,
                answer_bytes: c.answer_bytes,
                thinking_chunks: c.thinking_chunks,
                answer_chunks: c.answer_chunks,
            })
            .collect();
        let accs = || sorted.iter().map(|(_, c)| c);
        let first_thinking = accs().fold(None, |m, c| min_opt(m, c.first_thinking));
        let first_answer = accs().fold(None, |m, c| min_opt(m, c.first_answer));
        let thinking_end = accs().filter_map(|c| c.thinking_end).max();
        let sum = |f: fn(&ChoiceAcc) -> u64| accs().map(f).sum::<u64>();
        let tokens = match acc.usage {
            Some(u) => Tokens {
                prompt: u.prompt_tokens,
                completion: u.completion_tokens,
                reasoning: u.reasoning_tokens,
                answer: match (u.completion_tokens, u.reasoning_tokens) {
                    (Some(c), Some(r)) => Some(c.saturating_sub(r)),
                    _ => None,
                },
                cached: u.cached_tokens.or(u.cache_hit_tokens),
                estimated: false,
            },
            None => {
                let reasoning = sum(|c| c.thinking_chunks);
                let answer = sum(|c| c.answer_chunks);
                Tokens {
                    prompt: None,
                    completion: Some(reasoning + answer),
                    reasoning: Some(reasoning),
                    answer: Some(answer),
                    cached: None,
                    estimated: true,
                }
            }
        };
        self.finished.push(StreamMetrics {
            stream,
            time_to_first_byte_ms: acc.first_byte.map(ms),
            time_to_first_chunk_ms: acc.first_chunk.map(ms),
            time_to_first_token_ms: acc.first_token.map(ms),
            time_to_first_thinking_ms: first_thinking.map(ms),
            time_to_first_answer_ms: first_answer.map(ms),
            thinking_duration_ms: match (first_thinking, thinking_end) {
                (Some(a), Some(b)) => Some(ms(b.saturating_sub(a))),
                _ => None,
            },
            total_duration_ms: at.map(ms),
            chunks: acc.chunks,
            data_bytes: acc.data_bytes,
            thinking_bytes: sum(|c| c.thinking_bytes),
            answer_bytes: sum(|c| c.answer_bytes),
            gaps: acc.gaps.summary(),
            tokens,
            choices,
        });
        self.last_gaps = acc.gaps;
    }
}

impl Sink for MetricsSink {
    type Error = Infallible;

    fn record(&mut self, record: &Record<'_>) -> Result<Flow, Infallible> {
        let at = record.at;
        match record.event {
            Event::Input { .. } => {
                if let Some(at) = at {
                    self.current.first_byte.get_or_insert(at);
                }
            }
            Event::Chunk(info) => {
                let s = &mut self.current;
                s.chunks += 1;
                s.data_bytes += info.bytes as u64;
                if let Some(at) = at {
                    s.first_chunk.get_or_insert(at);
                    s.gaps.observe(at);
                }
            }
            Event::Text { choice, kind, text, .. } => {
                if matches!(kind, SegmentKind::Thinking | SegmentKind::Answer) {
                    self.current.first_token = self.current.first_token.or(at);
                }
                let seq = self.current.chunks;
                let c = self.choice(choice);
                match kind {
                    SegmentKind::Thinking => {
                        c.thinking_bytes += text.len() as u64;
                        if c.last_thinking_chunk != seq {
                            c.last_thinking_chunk = seq;
                            c.thinking_chunks += 1;
                        }
                        c.first_thinking = c.first_thinking.or(at);
                    }
                    SegmentKind::Answer => {
                        c.answer_bytes += text.len() as u64;
                        if c.last_answer_chunk != seq {
                            c.last_answer_chunk = seq;
                            c.answer_chunks += 1;
                        }
                        c.first_answer = c.first_answer.or(at);
                    }
                    // Tool-call markup reaches sinks as markup and calls.
                    SegmentKind::Markup | SegmentKind::ToolCall => {}
                }
            }
            Event::ToolCall { arguments, .. } if !arguments.is_empty() => {
                self.current.first_token = self.current.first_token.or(at);
            }
            Event::ThinkingEnd { choice } => {
                let c = self.choice(choice);
                c.thinking_end = c.thinking_end.or(at);
            }
            Event::Usage(usage) => self.current.usage = Some(*usage),
            Event::StreamEnd(_) => self.end(record.stream, at),
            _ => {}
        }
        Ok(Flow::Continue)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use thinktee_pipeline::Pipeline;

    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Feeds `(at_ms, bytes)` pieces and returns the metrics of each stream.
    fn measure(pieces: &[(u64, &str)]) -> Vec<StreamMetrics> {
        let mut pipeline = Pipeline::default();
        let mut sink = MetricsSink::new();
        for (at, bytes) in pieces {
            pipeline.feed_at(bytes.as_bytes(), ms(*at), &mut sink).unwrap();
        }
        pipeline.finish_at(pieces.last().map(|p| ms(p.0)), &mut sink).unwrap();
        sink.drain().collect()
    }

    const DONE: &str = "data: [DONE]\n\n";

    #[test]
    fn field_mode_thinking_ends_at_first_answer_and_usage_wins() {
        let m = &measure(&[
            (
                50,
                "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"reasoning_content\":\"\"}}]}\n\n",
            ),
            (100, "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"Compare\"}}]}\n\n"),
            (150, "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\" 9.11\"}}]}\n\n"),
            (400, "data: {\"choices\":[{\"delta\":{\"content\":\"9.8\"}}]}\n\n"),
            (
                420,
                "data: {\"choices\":[{\"delta\":{\"content\":\"\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":18,\"completion_tokens\":240,\"completion_tokens_details\":{\"reasoning_tokens\":231},\"prompt_cache_hit_tokens\":5}}\n\n",
            ),
            (430, DONE),
        ])[0];
        assert_eq!(m.time_to_first_byte_ms, Some(50.0), "the first read fed");
        assert_eq!(m.time_to_first_chunk_ms, Some(50.0));
        assert_eq!(m.time_to_first_thinking_ms, Some(100.0));
        assert_eq!(m.time_to_first_answer_ms, Some(400.0));
        assert_eq!(m.thinking_duration_ms, Some(300.0));
        assert_eq!(m.total_duration_ms, Some(430.0));
        assert_eq!((m.chunks, m.thinking_bytes, m.answer_bytes), (5, 12, 3));
        assert_eq!(
            m.tokens,
            Tokens {
                prompt: Some(18),
                completion: Some(240),
                reasoning: Some(231),
                answer: Some(9),
                cached: Some(5),
                estimated: false
            }
        );
        let gaps = m.gaps.unwrap();
        assert_eq!((gaps.count, gaps.max_ms, gaps.p50_ms), (4, 250.0, 50.0));
    }

    #[test]
    fn tag_mode_thinking_ends_at_the_close_tag_even_cut_across_chunks() {
        let chunk =
            |c: &str| format!("data: {{\"choices\":[{{\"delta\":{{\"content\":\"{c}\"}}}}]}}\n\n");
        let (a, b, c, d) =
            (chunk("hm, R1 has no open tag"), chunk(" so</th"), chunk("ink>"), chunk("Hi"));
        let m = &measure(&[(10, &a), (20, &b), (35, &c), (60, &d), (70, DONE)])[0];
        // Undecided text, decided at the close tag, is timed when it came.
        assert_eq!(m.time_to_first_thinking_ms, Some(10.0));
        assert_eq!(m.thinking_duration_ms, Some(25.0));
        assert_eq!(m.time_to_first_answer_ms, Some(60.0));
        assert_eq!(m.choices[0].thinking_chunks, 1);
        assert!(m.tokens.estimated);
        assert_eq!((m.tokens.reasoning, m.tokens.answer), (Some(1), Some(1)));
    }

    #[test]
    fn held_undecided_text_is_timed_when_it_arrived() {
        // `auto` mode holds text that may turn out to be thinking (R1 sends
        // no open tag); a plain answer is only decided at the end, but its
        // first answer time is when it came, not when it was decided.
        let chunk =
            |c: &str| format!("data: {{\"choices\":[{{\"delta\":{{\"content\":\"{c}\"}}}}]}}\n\n");
        let (a, b) = (chunk("Plain answer"), chunk(", no tags."));
        let m = &measure(&[(30, &a), (80, &b), (500, DONE)])[0];
        assert_eq!(m.time_to_first_answer_ms, Some(30.0));
        assert_eq!(m.time_to_first_thinking_ms, None);

        // The same for thinking proved by a late close tag.
        let (a, b, c) = (chunk("R1 reasons"), chunk(" on"), chunk("</think>Hi"));
        let m = &measure(&[(30, &a), (80, &b), (300, &c), (310, DONE)])[0];
        assert_eq!(m.time_to_first_thinking_ms, Some(30.0));
        assert_eq!(m.thinking_duration_ms, Some(270.0));
        assert_eq!(m.time_to_first_answer_ms, Some(300.0));
    }

    #[test]
    fn first_token_is_the_first_text_of_any_kind() {
        // Tool-call arguments count; a call's empty first piece does not.
        let m = &measure(&[
            (10, "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":null}}]}\n\n"),
            (
                20,
                "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}}]}\n\n",
            ),
            (
                35,
                "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{}\"}}]}}]}\n\n",
            ),
            (50, "data: {\"choices\":[{\"delta\":{\"content\":\"done\"}}]}\n\n"),
            (60, DONE),
        ])[0];
        assert_eq!(m.time_to_first_chunk_ms, Some(10.0));
        assert_eq!(m.time_to_first_token_ms, Some(35.0));
        assert_eq!(m.time_to_first_answer_ms, Some(50.0));
        let m = &measure(&[
            (5, "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"\"}}]}\n\n"),
            (15, "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"hm\"}}]}\n\n"),
            (60, DONE),
        ])[0];
        assert_eq!(m.time_to_first_token_ms, Some(15.0));
    }

    #[test]
    fn first_byte_is_the_first_read_even_a_keep_alive() {
        let m = &measure(&[
            (10, ": keep-alive\n\n"),
            (50, "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n"),
            (60, DONE),
        ])[0];
        assert_eq!((m.time_to_first_byte_ms, m.time_to_first_chunk_ms), (Some(10.0), Some(50.0)));
    }

    #[test]
    fn choices_are_measured_separately() {
        let c = |i: u32, t: &str| {
            format!(
                "data: {{\"choices\":[{{\"index\":{i},\"delta\":{{\"content\":\"{t}\"}}}}]}}\n\n"
            )
        };
        let pieces = [c(1, "<think>b"), c(0, "<think>a"), c(0, "</think>A"), c(1, "</think>B")];
        let m = &measure(&[
            (1, &pieces[0]),
            (2, &pieces[1]),
            (3, &pieces[2]),
            (9, &pieces[3]),
            (10, DONE),
        ])[0];
        assert_eq!(m.choices.len(), 2);
        assert_eq!((m.choices[0].choice, m.choices[0].thinking_duration_ms), (0, Some(1.0)));
        assert_eq!((m.choices[1].choice, m.choices[1].thinking_duration_ms), (1, Some(8.0)));
        assert_eq!(
            m.thinking_duration_ms,
            Some(8.0),
            "first thinking of any choice to the last end"
        );
    }

    #[test]
    fn without_timestamps_durations_are_none() {
        let mut pipeline = Pipeline::default();
        let mut sink = MetricsSink::new();
        pipeline
            .run_document(b"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n", &mut sink)
            .unwrap();
        let m = sink.drain().next().unwrap();
        assert_eq!((m.time_to_first_chunk_ms, m.total_duration_ms, m.gaps), (None, None, None));
        assert_eq!(m.answer_bytes, 1);
    }

    #[test]
    fn the_last_stream_s_gaps_are_kept_for_a_sink_that_records_each() {
        let chunk = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n";
        let mut pipeline = Pipeline::default();
        let mut sink = MetricsSink::new();
        assert_eq!(sink.last_gaps().len(), 0);
        for at in [0, 300, 400] {
            pipeline.feed_at(chunk.as_bytes(), ms(at), &mut sink).unwrap();
        }
        pipeline.feed_at(DONE.as_bytes(), ms(450), &mut sink).unwrap();
        // Gaps of 300 and 100 ms, in ascending order.
        assert_eq!(sink.last_gaps().collect::<Vec<_>>(), [ms(100), ms(300)]);
        assert_eq!(sink.last_gaps_not_kept(), 0);
        assert_eq!(sink.drain().next().unwrap().gaps.unwrap().count, 2);
    }
}
