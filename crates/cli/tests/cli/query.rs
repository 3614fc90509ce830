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

    /// The columns schema version 2 added.
    const V2: [&str; 6] = [
        "format",
        "tool_calls",
        "reasoning_segments",
        "reasoning_signed",
        "reasoning_redacted",
        "reasoning_encrypted",
    ];

    /// Rewrites every Parquet file under `from` into `to` without the
    /// version 2 columns: what an export of version 1 wrote.
    fn as_version_1(from: &std::path::Path, to: &std::path::Path) {
        use parquet::arrow::ArrowWriter;
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        for day in std::fs::read_dir(from).unwrap() {
            let day = day.unwrap().path();
            if !day.file_name().unwrap().to_string_lossy().starts_with("date=") {
                continue;
            }
            let into = to.join(day.file_name().unwrap());
            std::fs::create_dir_all(&into).unwrap();
            for file in std::fs::read_dir(&day).unwrap() {
                let file = file.unwrap().path();
                let reader =
                    ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&file).unwrap())
                        .unwrap();
                let schema = reader.schema().clone();
                let keep: Vec<usize> = (0..schema.fields().len())
                    .filter(|&i| !V2.contains(&schema.field(i).name().as_str()))
                    .collect();
                let out = std::fs::File::create(into.join(file.file_name().unwrap())).unwrap();
                let mut writer = ArrowWriter::try_new(
                    out,
                    std::sync::Arc::new(schema.project(&keep).unwrap()),
                    None,
                )
                .unwrap();
                for batch in reader.build().unwrap() {
                    writer.write(&batch.unwrap().project(&keep).unwrap()).unwrap();
                }
                writer.close().unwrap();
            }
        }
    }

    #[test]
    fn files_of_schema_version_1_read_with_nulls_in_the_newer_columns() {
        let scratch = temp_dir("query-v1");
        let (new, old) = (scratch.join("new"), scratch.join("old"));
        let paths = recordings();
        let args: Vec<&str> = paths.iter().map(String::as_str).collect();
        let export =
            thinktee(&[&["export", "--out", new.to_str().unwrap()], &args[..]].concat(), b"");
        assert!(export.status.success());
        as_version_1(&new, &old);
        let n = query("SELECT count(*) AS n FROM streams", &[new.to_str().unwrap()])[0]["n"]
            .as_u64()
            .unwrap();
        let counts = format!(
            "SELECT count(*) AS n, {} FROM streams",
            V2.iter().map(|c| format!("count({c}) AS {c}")).collect::<Vec<_>>().join(", ")
        );
        let mut expected = json!({"n": n});
        for c in V2 {
            expected[c] = json!(0);
        }
        assert_eq!(query(&counts, &[old.to_str().unwrap()]), [expected.clone()]);
        // Both versions at once: the newer columns of the old rows are null.
        for c in V2 {
            expected[c] = json!(n);
        }
        expected["n"] = json!(2 * n);
        assert_eq!(query(&counts, &[new.to_str().unwrap(), old.to_str().unwrap()]), [expected]);
        for view in ["reasoning_share_by_model", "cut_inside_reasoning", "outcomes_by_model"] {
            query(&format!("SELECT * FROM {view}"), &[old.to_str().unwrap()]);
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
