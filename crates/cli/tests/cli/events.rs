//! `thinktee events` against the hand-written SSE fixtures.

use serde_json::{Value, json};

use crate::support::{fixtures, json_lines, root, thinktee};

#[test]
fn events_match_sse_fixtures() {
    let mut checked = 0;
    for stem in fixtures("sse") {
        if root().join(format!("fixtures/sse/{stem}.limits")).exists() {
            continue; // those need non-default limits
        }
        let path = format!("fixtures/sse/{stem}.sse");
        let out = thinktee(&["events", "--comments", &path], b"");
        let expected: Vec<Value> = serde_json::from_slice(
            &std::fs::read(root().join(format!("fixtures/sse/{stem}.expected.json"))).unwrap(),
        )
        .unwrap();
        let mut truncated = false;
        let expected: Vec<Value> = expected
            .into_iter()
            .filter_map(|f| {
                if f.get("truncated").is_some() || f.get("skipped").is_some() {
                    truncated = true;
                    return None;
                }
                if f.get("comment").is_some() {
                    return Some(f);
                }
                Some(json!({"event": f["event"], "data": f["data"], "id": f.get("id").cloned().unwrap_or(Value::Null)}))
            })
            .collect();
        assert_eq!(json_lines(&out.stdout), expected, "{stem}");
        assert_eq!(out.status.code(), Some(if truncated { 1 } else { 0 }), "{stem}");
        checked += 1;
    }
    assert!(checked >= 10);
}

#[test]
fn comments_only_with_flag() {
    let input = b": keep-alive\n\ndata: x\n\n";
    assert_eq!(
        json_lines(&thinktee(&["events"], input).stdout),
        vec![json!({"event":"message","data":"x","id":null})]
    );
    assert_eq!(json_lines(&thinktee(&["events", "--comments"], input).stdout).len(), 2);
}
