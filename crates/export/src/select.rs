//! `--since`, `--until`, `--model`: which rows a command takes.

use serde::{Deserialize, Serialize};
use thinktee_transcript::TranscriptRecord;

use crate::time::unix_ms_to_us;

/// Which streams to take. The default takes all.
///
/// A time bound takes only streams whose request time is known and in
/// range (`since` inclusive, `until` exclusive): recordings have none, so
/// `--since` or `--until` leaves them out. `model` matches the model the
/// response names or the one the request asked for, exactly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Select {
    /// Request time at or after this (microseconds since the epoch, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_us: Option<i64>,
    /// Request time before this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_us: Option<i64>,
    /// The model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

impl Select {
    /// Takes everything.
    pub fn is_all(&self) -> bool {
        *self == Select::default()
    }

    /// Whether a stream with these facts is taken.
    pub fn matches(
        &self,
        started_unix_ms: Option<u64>,
        model: Option<&str>,
        request_model: Option<&str>,
    ) -> bool {
        if let Some(want) = &self.model
            && model != Some(want.as_str())
            && request_model != Some(want.as_str())
        {
            return false;
        }
        if self.since_us.is_none() && self.until_us.is_none() {
            return true;
        }
        let Some(at) = started_unix_ms.and_then(unix_ms_to_us) else { return false };
        self.since_us.is_none_or(|since| at >= since)
            && self.until_us.is_none_or(|until| at < until)
    }

    /// Whether a transcript record's stream is taken.
    pub fn matches_record(&self, r: &TranscriptRecord) -> bool {
        let request = r.request.as_ref();
        self.matches(
            request.and_then(|q| q.started_unix_ms),
            r.split.model.as_deref(),
            request.and_then(|q| q.model.as_deref()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_bounds_take_only_known_times_in_range() {
        let s = Select { since_us: Some(2_000_000), until_us: Some(3_000_000), model: None };
        assert!(!s.matches(None, None, None));
        assert!(!s.matches(Some(1_999), None, None));
        assert!(s.matches(Some(2_000), None, None));
        assert!(s.matches(Some(2_999), None, None));
        assert!(!s.matches(Some(3_000), None, None));
        assert!(Select::default().matches(None, None, None));
    }

    #[test]
    fn model_matches_the_response_or_the_request() {
        let s = Select { model: Some("m".into()), ..Select::default() };
        assert!(s.matches(None, Some("m"), None));
        assert!(s.matches(None, Some("x"), Some("m")));
        assert!(!s.matches(None, Some("x"), None));
        assert!(!s.matches(None, Some("M"), None));
    }
}
