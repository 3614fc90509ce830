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
    fn a_views_rows_come_in_its_order() {
        // fixtures/report/README.md's table: per model, how many streams
        // ended how (the transcript's outcome; the recording's two streams
        // end with [DONE]). In outcomes_by_model's ORDER BY: model (bytes,
        // `<` first), then streams, most first, then outcome.
        let want = [
            ("<script>alert(1)</script>", "complete", 2),
            ("deepseek-r1", "complete", 5),
            ("deepseek-r1", "upstream_error", 1),
            ("gpt-4o", "client_cancelled", 1),
            ("gpt-4o", "complete", 1),
            ("o4-mini", "complete", 4),
            ("qwq-32b", "complete", 2),
        ];
        let want: Vec<Value> = want
            .iter()
            .map(|(model, outcome, streams)| {
                json!({"model": model, "outcome": outcome, "streams": streams})
            })
            .collect();
        let scratch = temp_dir("query-order");
        let out = scratch.join("out");
        let export = thinktee(&["export", "--out", out.to_str().unwrap(), "fixtures/report"], b"");
        assert!(export.status.success());
        let dir = out.to_str().unwrap();
        assert_eq!(query("SELECT * FROM outcomes_by_model", &[dir]), want);
        // Filtered and cut short, still in order.
        let tail = query("SELECT * FROM outcomes_by_model WHERE streams < 4 LIMIT 4", &[dir]);
        let small: Vec<Value> =
            want.iter().filter(|r| r["streams"].as_u64() < Some(4)).cloned().collect();
        assert_eq!(tail, small[..4]);
        // reasoning_share_by_model: streams, most first, then model; the
        // transcript's streams with reported counts (README: all but 5, 6,
        // 11, 12, 14) and both recorded ones.
        let share = query("SELECT model, streams FROM reasoning_share_by_model", &[dir]);
        let want = [("deepseek-r1", 4), ("o4-mini", 4), ("qwq-32b", 2), ("gpt-4o", 1)];
        let want: Vec<Value> =
            want.iter().map(|(model, n)| json!({"model": model, "streams": n})).collect();
        assert_eq!(share, want);
        std::fs::remove_dir_all(&scratch).unwrap();
    }

    #[test]
    fn answers_are_a_table_csv_or_json_lines_and_a_table_on_a_terminal() {
        let scratch = temp_dir("query-formats");
        let out = scratch.join("out");
        let export = thinktee(&["export", "--out", out.to_str().unwrap(), "fixtures/report"], b"");
        assert!(export.status.success());
        let dir = out.to_str().unwrap();
        // fixtures/report/README.md: streams with reported counts per model.
        let sql = "SELECT model, streams FROM reasoning_share_by_model";
        let table = "\
+-------------+---------+
| model       | streams |
+-------------+---------+
| deepseek-r1 | 4       |
| o4-mini     | 4       |
| qwq-32b     | 2       |
| gpt-4o      | 1       |
+-------------+---------+
";
        let csv = "model,streams\ndeepseek-r1,4\no4-mini,4\nqwq-32b,2\ngpt-4o,1\n";
        let json = "{\"model\":\"deepseek-r1\",\"streams\":4}\n{\"model\":\"o4-mini\",\"streams\":4}\n\
                    {\"model\":\"qwq-32b\",\"streams\":2}\n{\"model\":\"gpt-4o\",\"streams\":1}\n";
        let run = |args: &[&str]| {
            let out = thinktee(&[&["query"], args, &[sql, dir]].concat(), b"");
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap()
        };
        assert_eq!(run(&["--format", "table"]), table);
        assert_eq!(run(&["--format", "csv"]), csv);
        assert_eq!(run(&["--format", "json"]), json);
        // Not a terminal: JSON Lines.
        assert_eq!(run(&[]), json);
        // On a terminal (script(1) gives it one): the table.
        let command = format!("{} query '{sql}' '{dir}'", crate::support::BIN);
        let tty = std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .current_dir(crate::support::root())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("script(1), from util-linux");
        assert!(tty.status.success(), "{}", String::from_utf8_lossy(&tty.stderr));
        assert_eq!(String::from_utf8_lossy(&tty.stdout).replace('\r', ""), table);
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
