//! `thinktee split`: per-choice reasoning and answer of recorded streams.

use std::io::{self, BufWriter, IsTerminal, Write};

use anyhow::Context;
use serde::Serialize;
use thinktee_pipeline::{
    Collector, DocumentError, DocumentReader, Options, Pipeline, SplitChoice, SplitterConfig,
    StartMode,
};
use thinktee_think::Preset;

use crate::Outcome;
use crate::input::{for_each_input, pump};
use crate::term::{Style, escape};

/// Output format of `split`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Thinking dimmed (on a terminal, unless NO_COLOR is set), answer
    /// plain, controls escaped (the default on a terminal).
    Text,
    /// One JSON object per choice per line (the default otherwise).
    Json,
}

/// Splitter policy flags, shared by every command that splits (split,
/// analyze, export, proxy).
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct SplitterArgs {
    /// The markers of a model family (the help text names them).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "deepseek-r1",
        value_parser = parse_preset,
        help = "Markers of a model family: deepseek-r1 (<think>, DeepSeek tool tokens), \
                qwen3 (<think>, <tool_call>, which ends thinking), kimi (◁think▷), \
                magistral ([THINK]), granite (\"Here is my thought process:\"), gpt-oss \
                (harmony channels). --tags, --start and --interleaved override it. Output \
                that starts with a harmony header is read as harmony channels whatever the \
                preset."
    )]
    pub(crate) preset: Preset,
    /// How the start of the output is read: auto, explicit or implicit
    /// (default: auto; explicit for `proxy --normalize`).
    #[arg(long, value_parser = parse_start)]
    pub(crate) start: Option<StartMode>,
    /// Open and close tags, comma-separated (default: the preset's).
    #[arg(long, value_name = "OPEN,CLOSE")]
    pub(crate) tags: Option<String>,
    /// Accept thinking blocks after the first one.
    #[arg(long)]
    pub(crate) interleaved: bool,
    /// Move whitespace around the tags and at the start of the answer into markup.
    #[arg(long)]
    pub(crate) trim: bool,
}

fn parse_start(s: &str) -> Result<StartMode, String> {
    s.parse().map_err(|e| format!("{e}"))
}

fn parse_preset(s: &str) -> Result<Preset, String> {
    s.parse().map_err(|e| format!("{e}"))
}

impl SplitterArgs {
    /// The policy: the preset's, then what the flags set (start mode
    /// `auto` unless given).
    pub(crate) fn config(&self) -> anyhow::Result<SplitterConfig> {
        self.config_with_start(self.start.unwrap_or_default())
    }

    /// The policy with start mode `start`.
    pub(crate) fn config_with_start(&self, start: StartMode) -> anyhow::Result<SplitterConfig> {
        let mut builder = thinktee_think::Builder::new()
            .preset(self.preset)
            .start(start)
            .interleaved(self.interleaved)
            .trim(self.trim);
        if let Some(tags) = &self.tags {
            let (open, close) = tags
                .split_once(',')
                .context("--tags takes OPEN,CLOSE (two tags separated by a comma)")?;
            builder = builder.tags(open, close);
        }
        builder.config().map_err(|e| anyhow::anyhow!("--tags: {e}"))
    }
}

/// `thinktee split [OPTIONS] [PATH|-]...`
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    splitter: SplitterArgs,
    /// Output format (default: text on a terminal, json otherwise).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Recorded streams (chat completions, Responses API, Anthropic
    /// Messages: told apart by their events), JSON bodies or JSON Lines;
    /// `-` is stdin.
    paths: Vec<String>,
}

#[derive(Serialize)]
struct Line<'a> {
    source: &'a str,
    #[serde(flatten)]
    record: &'a SplitChoice,
}

pub(crate) fn run(args: Args) -> anyhow::Result<Outcome> {
    let config = args.splitter.config()?;
    let format =
        args.format.unwrap_or(if io::stdout().is_terminal() { Format::Text } else { Format::Json });
    let style = Style::stdout();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for_each_input(&args.paths, &mut out, |mut input, out| {
        let options = Options { splitter: config.clone(), ..Options::default() };
        let mut reader = DocumentReader::new(Pipeline::new(options));
        let mut collector = Collector::new();
        let mut had_errors = false;
        let name = input.name.clone();
        let mut print = |collector: &mut Collector,
                         errors: std::vec::Drain<'_, DocumentError>,
                         out: &mut BufWriter<_>|
         -> anyhow::Result<()> {
            for record in collector.drain() {
                had_errors |= !record.errors.is_empty();
                match format {
                    Format::Json => {
                        serde_json::to_writer(&mut *out, &Line { source: &name, record: &record })
                            .map_err(io::Error::from)?;
                        out.write_all(b"\n")?;
                    }
                    Format::Text => print_text(out, &style, &name, &record)?,
                }
            }
            out.flush()?;
            for e in errors {
                had_errors = true;
                eprintln!("thinktee: {name}: {e}");
            }
            Ok(())
        };
        let read = pump(&mut input, out, |piece, out| {
            let Ok(_) = reader.feed(piece, &mut collector);
            print(&mut collector, reader.errors(), out)
        })?;
        let Ok(_) = reader.finish(&mut collector);
        print(&mut collector, reader.errors(), out)?;
        Ok(if had_errors || read == Outcome::HadErrors {
            Outcome::HadErrors
        } else {
            Outcome::Clean
        })
    })
}

/// One record as text: untrusted text escaped ([`escape`]), styled only
/// when `style` says.
fn print_text(out: &mut impl Write, style: &Style, path: &str, r: &SplitChoice) -> io::Result<()> {
    let Style { bold, dim, reset } = style;
    write!(out, "{bold}── {path} · stream {}", r.stream)?;
    match r.choice {
        Some(choice) => write!(out, " · choice {choice}")?,
        None => write!(out, " · no choice")?,
    }
    write!(out, " · {}", r.format.as_str())?;
    if let Some(model) = &r.model {
        write!(out, " · {}", escape(model))?;
    }
    write!(out, " · reasoning: {}", r.reasoning_source.as_str())?;
    if r.reasoning_segments > 1 {
        write!(out, " ({} segments)", r.reasoning_segments)?;
    }
    for (flag, name) in [
        (r.reasoning_signed, "signed"),
        (r.reasoning_redacted, "redacted"),
        (r.reasoning_encrypted, "encrypted"),
    ] {
        if flag {
            write!(out, ", {name}")?;
        }
    }
    match &r.finish_reason {
        Some(reason) => write!(out, " · finish: {}", escape(reason))?,
        None => write!(out, " · no finish reason")?,
    }
    if r.unterminated {
        write!(out, " · thinking unterminated")?;
    }
    if !r.done {
        write!(out, " · no end event")?;
    }
    writeln!(out, "{reset}")?;
    if !r.reasoning.is_empty() {
        writeln!(out, "{dim}{}{reset}", escape(r.reasoning.trim_end()))?;
    }
    if !r.content.is_empty() {
        writeln!(out, "{}", escape(r.content.trim_start_matches('\n')))?;
    }
    for call in &r.tool_calls {
        let name = call.name.as_deref().map_or_else(|| "-".into(), escape);
        let id = call.id.as_deref().map_or_else(|| "-".into(), escape);
        writeln!(out, "tool call {name} ({id}): {}", escape(&call.arguments))?;
    }
    if let Some(u) = &r.usage {
        let n = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
        writeln!(
            out,
            "{dim}usage: prompt {} · completion {} · reasoning {}{reset}",
            n(u.prompt_tokens),
            n(u.completion_tokens),
            n(u.reasoning_tokens)
        )?;
    }
    for f in r.filters.iter().filter(|f| f.filtered == Some(true)) {
        writeln!(out, "content filter: {} {} filtered", f.source.as_str(), escape(&f.category))?;
    }
    for e in &r.errors {
        writeln!(out, "error: {}", escape(&e.to_string()))?;
    }
    writeln!(out)
}
