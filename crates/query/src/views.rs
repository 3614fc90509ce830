//! Named views over `streams` that answer the usual questions. Their SQL
//! is plain enough for DataFusion and DuckDB alike.

/// A named view.
#[derive(Debug, Clone, Copy)]
pub struct View {
    /// Its name in SQL.
    pub name: &'static str,
    /// The question it answers.
    pub doc: &'static str,
    /// Its query, over `streams`.
    pub sql: &'static str,
}

/// Every view, in the order `--list-views` shows them.
pub const VIEWS: &[View] = &[
    View {
        name: "reasoning_share_by_model",
        doc: "Share of output tokens spent reasoning, per model (reported counts only).",
        sql: "SELECT model,
       count(*) AS streams,
       sum(CASE WHEN reasoning_tokens > 0 THEN 1 ELSE 0 END) AS streams_reasoning,
       sum(reasoning_tokens) AS reasoning_tokens,
       sum(output_tokens) AS output_tokens,
       round(100.0 * sum(reasoning_tokens) / sum(output_tokens), 1) AS reasoning_pct
FROM streams
WHERE first_of_stream AND NOT tokens_estimated
GROUP BY model
ORDER BY streams DESC, model",
    },
    View {
        name: "time_to_first_answer_by_model",
        doc: "Median time to the first token and to the first answer, per model: the thinking tax.",
        sql: "SELECT model,
       count(*) AS streams,
       median(time_to_first_token_us) / 1000.0 AS first_token_ms,
       median(time_to_first_answer_us) / 1000.0 AS first_answer_ms,
       (median(time_to_first_answer_us) - median(time_to_first_token_us)) / 1000.0 AS thinking_tax_ms,
       max(time_to_first_answer_us) / 1000.0 AS first_answer_ms_max
FROM streams
WHERE first_of_stream AND time_to_first_answer_us IS NOT NULL
GROUP BY model
ORDER BY streams DESC, model",
    },
    View {
        name: "cut_inside_reasoning",
        doc: "Choices whose thinking never ended (cut by a length limit, an error or a disconnect).",
        sql: "SELECT date, source, stream, choice, model, finish_reason, outcome,
       reasoning_bytes, content_bytes
FROM streams
WHERE unterminated
ORDER BY source, stream, choice",
    },
    View {
        name: "outcomes_by_model",
        doc: "How streams ended, per model.",
        sql: "SELECT model, outcome, count(*) AS streams
FROM streams
WHERE first_of_stream
GROUP BY model, outcome
ORDER BY model, streams DESC, outcome",
    },
];
