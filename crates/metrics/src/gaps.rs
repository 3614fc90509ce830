//! Inter-chunk gaps and their percentiles.

use std::time::Duration;

use serde::Serialize;

/// Most gaps kept per stream (256 KiB of samples); later gaps still count
/// towards `max` and are counted as not kept.
pub const MAX_GAP_SAMPLES: usize = 1 << 16;

/// Gaps between consecutive chunks of one stream, in microseconds.
#[derive(Debug, Clone, Default)]
pub(crate) struct GapRecorder {
    last: Option<Duration>,
    samples: Vec<u32>,
    max: u32,
    /// Gaps past [`MAX_GAP_SAMPLES`].
    not_kept: u64,
}

/// Percentiles of the gaps between consecutive chunks, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct Gaps {
    /// Median gap.
    pub p50_ms: f64,
    /// 99th-percentile gap.
    pub p99_ms: f64,
    /// Longest gap.
    pub max_ms: f64,
    /// Number of gaps measured.
    pub count: u64,
}

impl GapRecorder {
    pub(crate) fn observe(&mut self, at: Duration) {
        if let Some(last) = self.last {
            let gap = u32::try_from(at.saturating_sub(last).as_micros()).unwrap_or(u32::MAX);
            self.max = self.max.max(gap);
            if self.samples.len() < MAX_GAP_SAMPLES {
                self.samples.push(gap);
            } else {
                self.not_kept += 1;
            }
        }
        self.last = Some(at);
    }

    /// Percentiles (nearest rank) of what was observed; `None` with no gap.
    pub(crate) fn summary(&mut self) -> Option<Gaps> {
        if self.samples.is_empty() {
            return None;
        }
        self.samples.sort_unstable();
        let rank = |p: f64| {
            let n = self.samples.len();
            let i = ((p * n as f64).ceil() as usize).clamp(1, n) - 1;
            f64::from(self.samples[i]) / 1000.0
        };
        Some(Gaps {
            p50_ms: rank(0.50),
            p99_ms: rank(0.99),
            max_ms: f64::from(self.max) / 1000.0,
            count: self.samples.len() as u64,
        })
    }

    /// The gaps kept (in ascending order once `summary` ran).
    pub(crate) fn samples(&self) -> impl ExactSizeIterator<Item = Duration> + '_ {
        self.samples.iter().map(|&us| Duration::from_micros(u64::from(us)))
    }

    /// Gaps past [`MAX_GAP_SAMPLES`], not kept.
    pub(crate) fn not_kept(&self) -> u64 {
        self.not_kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut g = GapRecorder::default();
        for ms in [0u64, 10, 30, 60, 100] {
            g.observe(Duration::from_millis(ms));
        }
        // gaps: 10, 20, 30, 40 ms
        let s = g.summary().unwrap();
        assert_eq!((s.p50_ms, s.p99_ms, s.max_ms, s.count), (20.0, 40.0, 40.0, 4));
    }

    #[test]
    fn one_chunk_has_no_gap() {
        let mut g = GapRecorder::default();
        g.observe(Duration::from_millis(5));
        assert_eq!(g.summary(), None);
    }
}
