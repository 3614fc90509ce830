//! `thinktee query`: answers that match `split --format json` on the same
//! recordings, over exported Parquet and over the recordings themselves;
//! without the `sql` feature, a clear refusal.

use crate::support::thinktee;

#[test]
fn list_views_prints_every_views_sql() {
    let out = thinktee(&["query", "--list-views"], b"");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for name in [
        "reasoning_share_by_model",
        "time_to_first_answer_by_model",
        "cut_inside_reasoning",
        "outcomes_by_model",
    ] {
        assert!(text.contains(&format!("-- {name}: ")), "{name}");
    }
}

#[cfg(not(feature = "sql"))]
#[test]
fn without_the_sql_feature_query_says_how_to_get_it() {
    let out = thinktee(&["query", "SELECT 1", "fixtures/e2e"], b"");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cargo install --path crates/cli --features sql"), "{stderr}");
}

#[cfg(feature = "sql")]
mod engine {
    use std::path::PathBuf;

    use serde_json::{Value, json};

    use super::*;
    use crate::support::{fixtures, json_lines};

    fn recordings() -> Vec<String> {
        fixtures("e2e").iter().map(|s| format!("fixtures/e2e/{s}.sse")).collect()
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("thinktee-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn query(sql: &str, paths: &[&str]) -> Vec<Value> {
        let args = [&["query", "--format", "json", sql][..], paths].concat();
        let out = thinktee(&args, b"");
        assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
        json_lines(&out.stdout)
    }

    const ROWS: &str = "SELECT source, stream, choice, id, reasoning, content, reasoning_source, \
                        unterminated, date FROM streams ORDER BY source, stream, choice";

    /// split's lines as the query selects them.
    fn expected(split: &[Value]) -> Vec<Value> {
        let mut rows: Vec<Value> = split
            .iter()
            .map(|l| {
                let mut row = json!({});
                for k in [
                    "source",
                    "stream",
                    "choice",
                    "id",
                    "reasoning",
                    "content",
                    "reasoning_source",
                    "unterminated",
                ] {
                    // arrow's JSON writer leaves nulls out.
                    if !l[k].is_null() {
                        row[k] = l[k].clone();
                    }
                }
                row
            })
            .collect();
        rows.sort_by_key(|r| {
            (r["source"].as_str().unwrap().to_owned(), r["stream"].as_u64(), r["choice"].as_u64())
        });
        rows
    }

    #[test]
    fn answers_match_split_over_parquet_and_over_the_recordings() {
        let scratch = temp_dir("query");
        let out = scratch.join("out");
        let paths = recordings();
        let args: Vec<&str> = paths.iter().map(String::as_str).collect();
        let export =
            thinktee(&[&["export", "--out", out.to_str().unwrap()], &args[..]].concat(), b"");
        assert!(export.status.success());
        let split = json_lines(
            &thinktee(&[&["split", "--format", "json"], &args[..]].concat(), b"").stdout,
        );
        let expected = expected(&split);
        // Over the export, and over the recordings themselves.
        assert_eq!(query(ROWS, &[out.to_str().unwrap()]), expected);
        assert_eq!(query(ROWS, &args), expected);
        let count = query("SELECT count(*) AS n FROM streams", &[out.to_str().unwrap()]);
        assert_eq!(count, [json!({"n": split.len()})]);
        let cut = split.iter().filter(|l| l["unterminated"] == json!(true)).count();
        let views =
            query("SELECT count(*) AS n FROM cut_inside_reasoning", &[out.to_str().unwrap()]);
        assert_eq!(views, [json!({"n": cut})]);
        for view in
            ["reasoning_share_by_model", "time_to_first_answer_by_model", "outcomes_by_model"]
        {
            query(&format!("SELECT * FROM {view}"), &[out.to_str().unwrap()]);
        }
        std::fs::remove_dir_all(&scratch).unwrap();
    }

    #[test]
    fn a_bad_query_is_an_error() {
        let out =
            thinktee(&["query", "SELECT nope FROM streams", "fixtures/e2e/crlf_framing.sse"], b"");
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("query failed"));
    }
}
