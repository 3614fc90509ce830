//! `--since`, `--until` and `--model`, shared by `analyze` and `export`.

use thinktee_export::{Select, parse_time};

/// Which streams a command takes.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct SelectArgs {
    /// Only streams whose request started at or after this time
    /// (YYYY-MM-DD or RFC 3339, UTC unless an offset is given). Streams
    /// without a request time (recordings) are left out.
    #[arg(long, value_name = "TIME", value_parser = parse_us)]
    since: Option<i64>,
    /// Only streams whose request started before this time.
    #[arg(long, value_name = "TIME", value_parser = parse_us)]
    until: Option<i64>,
    /// Only streams of this model (as the response names it, or as the
    /// request asked for it).
    #[arg(long, value_name = "MODEL")]
    model: Option<String>,
}

fn parse_us(s: &str) -> Result<i64, String> {
    parse_time(s).map_err(|e| e.to_string())
}

impl SelectArgs {
    pub(crate) fn select(&self) -> Select {
        Select { since_us: self.since, until_us: self.until, model: self.model.clone() }
    }
}
