//! `thinktee split`: per-choice reasoning and answer of recorded streams.
//!
//! `text` and `segments` are live: a `Printer` is a sink over the
//! pipeline's events, writing each piece of text or tool call as it comes
//! and how each choice ended when its stream ends; `json` prints one
//! record per choice at the end. Output is flushed once per read, so that
//! `curl -N … | thinktee split` shows a stream as it arrives.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, IsTerminal, Write};

use anyhow::Context;
use serde::Serialize;
use thinktee_pipeline::{
    ChoiceMap, Collector, DocumentReader, ErrorKind, Event, FilterEvent, Flow, Options, Pipeline,
    ReasoningSource, Record, SegmentKind, Sink, SplitChoice, SplitterConfig, StartMode,
    StreamError, Usage,
};
use thinktee_think::Preset;

use crate::Outcome;
use crate::input::{for_each_input, pump};
use crate::term::{Style, escape};

/// Output format of `split`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Thinking dimmed (on a terminal, unless NO_COLOR is set), answer
    /// plain, controls escaped, printed as they arrive; how each choice
    /// ended when its stream ends (the default on a terminal).
    Text,
    /// One JSON object per choice per line, when its stream ends (the
    /// default otherwise).
    Json,
    /// One JSON object per line per piece of text or tool call as it
    /// arrives, and one `"kind":"end"` object per choice when its stream
    /// ends: for programs that follow a stream.
    Segments,
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
                qwen3 (<think>, <tool_call>, which ends thinking), kimi-k2 (<think>, \
                <|tool_calls_section_begin|>, which ends thinking), kimi (◁think▷), \
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

/// A `--format json` line.
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
        let mut state = State::new(input.name.clone(), format, style);
        // Output is flushed once per read, so that a pipe sees each piece
        // of a stream as soon as it arrived (and not one write per piece).
        let read = pump(&mut input, out, |piece, out| {
            reader.feed(piece, &mut Printer { out: &mut *out, state: &mut state })?;
            out.flush()?;
            state.report(reader.errors());
            Ok(())
        })?;
        reader.finish(&mut Printer { out: &mut *out, state: &mut state })?;
        out.flush()?;
        state.report(reader.errors());
        Ok(if state.had_errors || read == Outcome::HadErrors {
            Outcome::HadErrors
        } else {
            Outcome::Clean
        })
    })
}

/// What `split` keeps of one input between reads.
struct State {
    /// The input's name, escaped.
    name: String,
    format: Format,
    style: Style,
    /// How each choice ended, assembled as its stream goes: with all the
    /// text for `json`, without any for the live formats.
    collector: Collector,
    /// Per choice of the open stream.
    choices: ChoiceMap<ChoiceState>,
    /// `text`: what the last piece written was part of; `None` at the
    /// start and after a stream's end.
    open: Option<Slot>,
    /// `text`: the output ends with a newline (or nothing was written).
    at_line_start: bool,
    /// A stream had errors, or the document could not be read.
    had_errors: bool,
}

#[derive(Default)]
struct ChoiceState {
    /// Tool calls begun: a call numbered this or higher is new.
    calls: u32,
    /// `text`: some answer text was written (newlines before the first are
    /// left out, as `--format text` always did).
    answer_begun: bool,
}

/// A run of output of one kind of one choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    stream: u64,
    choice: u32,
    part: Part,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Thinking,
    Answer,
    Call(u32),
}

impl State {
    fn new(name: String, format: Format, style: Style) -> State {
        let collector = match format {
            Format::Json => Collector::new(),
            Format::Text | Format::Segments => Collector::without_text(),
        };
        State {
            name,
            format,
            style,
            collector,
            choices: ChoiceMap::new(),
            open: None,
            at_line_start: true,
            had_errors: false,
        }
    }

    /// Reports what could not be read, on stderr (after the output it
    /// follows was flushed).
    fn report(&mut self, errors: impl Iterator<Item = impl std::fmt::Display>) {
        for e in errors {
            self.had_errors = true;
            eprintln!("thinktee: {}: {e}", self.name);
        }
    }
}

/// The sink that prints: lent the output and the input's [`State`] for
/// one read.
struct Printer<'a, W> {
    out: &'a mut W,
    state: &'a mut State,
}

impl<W: Write> Sink for Printer<'_, W> {
    type Error = io::Error;

    fn record(&mut self, record: &Record<'_>) -> io::Result<Flow> {
        let Ok(_) = self.state.collector.record(record);
        match (self.state.format, record.event) {
            (Format::Json, _) => {}
            (_, Event::Text { choice, kind, text, .. }) => {
                let part = match kind {
                    SegmentKind::Thinking => Part::Thinking,
                    SegmentKind::Answer => Part::Answer,
                    // Markup is structure, not text; tool-call markup
                    // comes again as calls.
                    SegmentKind::Markup | SegmentKind::ToolCall => return Ok(Flow::Continue),
                };
                self.text(Slot { stream: record.stream, choice, part }, text)?;
            }
            (_, Event::ToolCall { choice, call, id, name, arguments }) => {
                let state = self.state.choices.get_or_insert_with(choice, ChoiceState::default);
                // The pipeline numbers calls in the order they began.
                let first = call >= state.calls;
                if first {
                    state.calls = call + 1;
                }
                let slot = Slot { stream: record.stream, choice, part: Part::Call(call) };
                self.call(slot, first.then_some((id, name)), arguments)?;
            }
            _ => {}
        }
        if let Event::StreamEnd(_) = record.event {
            self.stream_end()?;
        }
        Ok(Flow::Continue)
    }
}

/// A `--format segments` line of text or of a tool call.
#[derive(Serialize)]
struct Segment<'a> {
    source: &'a str,
    stream: u64,
    choice: u32,
    kind: &'static str,
    /// Which call of the choice (tool calls only).
    #[serde(skip_serializing_if = "Option::is_none")]
    call: Option<u32>,
    /// The call's id and name, on its first piece only.
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<Option<&'a str>>,
    text: &'a str,
}

/// A `--format segments` end of a choice: a `--format json` line without
/// the texts (`reasoning`, `content`, `tool_calls`), so that the output
/// stays in proportion to the input.
#[derive(Serialize)]
struct End<'a> {
    source: &'a str,
    stream: u64,
    choice: Option<u32>,
    kind: &'static str,
    format: thinktee_pipeline::Format,
    id: &'a Option<String>,
    model: &'a Option<String>,
    reasoning_source: ReasoningSource,
    reasoning_segments: u32,
    reasoning_signed: bool,
    reasoning_redacted: bool,
    reasoning_encrypted: bool,
    finish_reason: &'a Option<String>,
    unterminated: bool,
    usage: &'a Option<Usage>,
    filters: &'a [FilterEvent],
    errors: &'a [StreamError],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    errors_omitted: &'a BTreeMap<ErrorKind, u64>,
    #[serde(skip_serializing_if = "is_zero")]
    untracked_deltas: u64,
    done: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl<'a> End<'a> {
    fn new(source: &'a str, r: &'a SplitChoice) -> End<'a> {
        End {
            source,
            stream: r.stream,
            choice: r.choice,
            kind: "end",
            format: r.format,
            id: &r.id,
            model: &r.model,
            reasoning_source: r.reasoning_source,
            reasoning_segments: r.reasoning_segments,
            reasoning_signed: r.reasoning_signed,
            reasoning_redacted: r.reasoning_redacted,
            reasoning_encrypted: r.reasoning_encrypted,
            finish_reason: &r.finish_reason,
            unterminated: r.unterminated,
            usage: &r.usage,
            filters: &r.filters,
            errors: &r.errors,
            errors_omitted: &r.errors_omitted,
            untracked_deltas: r.untracked_deltas,
            done: r.done,
        }
    }
}

/// `value` as one line of JSON.
fn json_line(out: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

impl<W: Write> Printer<'_, W> {
    /// A piece of thinking or answer.
    fn text(&mut self, slot: Slot, text: &str) -> io::Result<()> {
        let state = &mut *self.state;
        if state.format == Format::Segments {
            let kind = if slot.part == Part::Thinking { "thinking" } else { "answer" };
            let line = Segment {
                source: &state.name,
                stream: slot.stream,
                choice: slot.choice,
                kind,
                call: None,
                id: None,
                name: None,
                text,
            };
            return json_line(&mut *self.out, &line);
        }
        let mut text = text;
        if slot.part == Part::Answer {
            let choice = state.choices.get_or_insert_with(slot.choice, ChoiceState::default);
            if !choice.answer_begun {
                text = text.trim_start_matches('\n');
                if text.is_empty() {
                    return Ok(());
                }
                choice.answer_begun = true;
            }
        }
        self.enter(slot)?;
        let Style { dim, reset, .. } = self.state.style;
        match slot.part {
            Part::Thinking => write!(self.out, "{dim}{}{reset}", escape(text))?,
            _ => write!(self.out, "{}", escape(text))?,
        }
        self.state.at_line_start = text.ends_with('\n');
        Ok(())
    }

    /// A piece of a tool call; `first` holds the id and name of a call's
    /// first piece.
    fn call(
        &mut self,
        slot: Slot,
        first: Option<(Option<&str>, Option<&str>)>,
        arguments: &str,
    ) -> io::Result<()> {
        let Part::Call(call) = slot.part else { return Ok(()) };
        let state = &mut *self.state;
        if state.format == Format::Segments {
            let line = Segment {
                source: &state.name,
                stream: slot.stream,
                choice: slot.choice,
                kind: "tool_call",
                call: Some(call),
                id: first.map(|(id, _)| id),
                name: first.map(|(_, name)| name),
                text: arguments,
            };
            return json_line(&mut *self.out, &line);
        }
        let resumed = self.state.open != Some(slot);
        self.enter(slot)?;
        match first {
            Some((id, name)) => {
                let name = name.map_or_else(|| "-".into(), escape);
                let id = id.map_or_else(|| "-".into(), escape);
                write!(self.out, "tool call {name} ({id}): ")?;
            }
            // Another piece came between this call's.
            None if resumed => write!(self.out, "tool call {call}, continued: ")?,
            None => {}
        }
        write!(self.out, "{}", escape(arguments))?;
        self.state.at_line_start = false;
        Ok(())
    }

    /// `text`: starts a new line for `slot` unless the output is already
    /// in it, with a heading when the choice changes.
    fn enter(&mut self, slot: Slot) -> io::Result<()> {
        let state = &mut *self.state;
        if state.open == Some(slot) {
            return Ok(());
        }
        if !state.at_line_start {
            writeln!(self.out)?;
        }
        let same_choice =
            state.open.is_some_and(|o| (o.stream, o.choice) == (slot.stream, slot.choice));
        if !same_choice {
            let Style { bold, reset, .. } = state.style;
            writeln!(
                self.out,
                "{bold}── {} · stream {} · choice {}{reset}",
                state.name, slot.stream, slot.choice
            )?;
        }
        state.open = Some(slot);
        state.at_line_start = true;
        Ok(())
    }

    /// A stream ended: how each of its choices ended.
    fn stream_end(&mut self) -> io::Result<()> {
        let state = &mut *self.state;
        state.choices.clear();
        if state.format == Format::Text && !state.at_line_start {
            writeln!(self.out)?;
        }
        state.open = None;
        state.at_line_start = true;
        for record in state.collector.drain() {
            state.had_errors |= !record.errors.is_empty();
            match state.format {
                Format::Json => {
                    json_line(&mut *self.out, &Line { source: &state.name, record: &record })?;
                }
                Format::Segments => json_line(&mut *self.out, &End::new(&state.name, &record))?,
                Format::Text => print_end(&mut *self.out, &state.style, &state.name, &record)?,
            }
        }
        Ok(())
    }
}

/// How one choice ended, as text: its heading, then what is not text (its
/// text and tool calls were printed as they came). Untrusted text escaped
/// ([`escape`]), styled only when `style` says.
fn print_end(out: &mut impl Write, style: &Style, path: &str, r: &SplitChoice) -> io::Result<()> {
    let Style { bold, dim, reset } = style;
    write!(out, "{bold}── {path} · stream {}", r.stream)?;
    match r.choice {
        Some(choice) => write!(out, " · choice {choice}")?,
        None => write!(out, " · no choice")?,
    }
    write!(out, " · end · {}", r.format.as_str())?;
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use serde_json::{Value, json};

    use super::*;

    fn e2e_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/e2e")
    }

    /// The preset a fixture is split with (`preset_<name>_…`), as the CLI
    /// tests do.
    fn config_of(stem: &str) -> SplitterConfig {
        let preset = ["deepseek-r1", "qwen3", "kimi-k2", "kimi", "magistral", "granite", "gpt-oss"]
            .into_iter()
            .find(|p| stem.starts_with(&format!("preset_{}_", p.replace('-', "_"))))
            .unwrap_or("deepseek-r1");
        thinktee_think::Builder::new().preset(preset.parse().unwrap()).config().unwrap()
    }

    /// `split --format FORMAT` of `input` fed in reads of `read` bytes,
    /// without colour.
    fn split(format: Format, config: &SplitterConfig, input: &[u8], read: usize) -> String {
        let options = Options { splitter: config.clone(), ..Options::default() };
        let mut reader = DocumentReader::new(Pipeline::new(options));
        let mut state = State::new("x".into(), format, Style::new(false));
        let mut out = Vec::new();
        for piece in input.chunks(read) {
            reader.feed(piece, &mut Printer { out: &mut out, state: &mut state }).unwrap();
        }
        reader.finish(&mut Printer { out: &mut out, state: &mut state }).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn lines(text: &str) -> Vec<Value> {
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    /// What the segments of one choice add up to, and its end line.
    #[derive(Default, Debug, PartialEq)]
    struct Choice {
        thinking: String,
        answer: String,
        /// (id, name, arguments) per call.
        calls: Vec<Value>,
        end: Option<Value>,
    }

    fn assemble(segments: &[Value]) -> BTreeMap<(u64, Option<u64>), Choice> {
        let mut choices: BTreeMap<(u64, Option<u64>), Choice> = BTreeMap::new();
        for s in segments {
            let key = (s["stream"].as_u64().unwrap(), s["choice"].as_u64());
            let c = choices.entry(key).or_default();
            let text = s["text"].as_str().unwrap_or_default();
            match s["kind"].as_str().unwrap() {
                "thinking" => c.thinking.push_str(text),
                "answer" => c.answer.push_str(text),
                "tool_call" => {
                    let call = s["call"].as_u64().unwrap() as usize;
                    if call == c.calls.len() {
                        assert!(s.get("id").is_some() && s.get("name").is_some(), "{s}");
                        c.calls.push(json!({"id": s["id"], "name": s["name"], "arguments": ""}));
                    } else {
                        assert!(s.get("id").is_none() && s.get("name").is_none(), "{s}");
                    }
                    let arguments = &mut c.calls[call]["arguments"];
                    *arguments = Value::from(format!("{}{text}", arguments.as_str().unwrap()));
                }
                "end" => {
                    assert!(c.end.is_none(), "one end per choice: {s}");
                    c.end = Some(s.clone());
                }
                kind => panic!("kind {kind}"),
            }
        }
        choices
    }

    #[test]
    fn segments_add_up_to_the_json_records_fed_whole_or_byte_by_byte() {
        let mut checked = 0;
        for entry in std::fs::read_dir(e2e_dir()).unwrap() {
            let path = entry.unwrap().path();
            let Some(stem) = path.file_name().unwrap().to_str().unwrap().strip_suffix(".sse")
            else {
                continue;
            };
            let config = config_of(stem);
            let input = std::fs::read(&path).unwrap();
            let records = lines(&split(Format::Json, &config, &input, input.len().max(1)));
            for read in [input.len().max(1), 1] {
                let segments = lines(&split(Format::Segments, &config, &input, read));
                let choices = assemble(&segments);
                assert_eq!(choices.len(), records.len(), "{stem}, reads of {read}");
                for record in &records {
                    let key = (record["stream"].as_u64().unwrap(), record["choice"].as_u64());
                    let c = &choices[&key];
                    assert_eq!(c.thinking, record["reasoning"].as_str().unwrap(), "{stem} {read}");
                    assert_eq!(c.answer, record["content"].as_str().unwrap(), "{stem} {read}");
                    assert_eq!(c.calls, record["tool_calls"].as_array().unwrap()[..], "{stem}");
                    // The end line is the record without its texts.
                    let mut without_texts = record.clone();
                    let fields = without_texts.as_object_mut().unwrap();
                    for text in ["reasoning", "content", "tool_calls"] {
                        fields.remove(text);
                    }
                    fields.insert("kind".into(), "end".into());
                    assert_eq!(c.end.as_ref(), Some(&without_texts), "{stem} {read}");
                }
            }
            // Text output is the same whatever the reads.
            let whole = split(Format::Text, &config, &input, input.len().max(1));
            assert_eq!(split(Format::Text, &config, &input, 1), whole, "{stem}");
            checked += 1;
        }
        assert!(checked >= 20, "only {checked} fixtures");
    }

    #[test]
    fn text_and_segments_are_the_same_split_at_every_offset() {
        let path = e2e_dir().join("n2_interleaved_choices.sse");
        let input = std::fs::read(path).unwrap();
        let config = config_of("n2_interleaved_choices");
        let text = split(Format::Text, &config, &input, input.len());
        let segments = assemble(&lines(&split(Format::Segments, &config, &input, input.len())));
        for at in 1..input.len() {
            let options = Options { splitter: config.clone(), ..Options::default() };
            let mut state = State::new("x".into(), Format::Text, Style::new(false));
            let mut reader = DocumentReader::new(Pipeline::new(options.clone()));
            let mut out = Vec::new();
            for piece in [&input[..at], &input[at..]] {
                reader.feed(piece, &mut Printer { out: &mut out, state: &mut state }).unwrap();
            }
            reader.finish(&mut Printer { out: &mut out, state: &mut state }).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), text, "text cut at {at}");

            let mut state = State::new("x".into(), Format::Segments, Style::new(false));
            let mut reader = DocumentReader::new(Pipeline::new(options));
            let mut out = Vec::new();
            for piece in [&input[..at], &input[at..]] {
                reader.feed(piece, &mut Printer { out: &mut out, state: &mut state }).unwrap();
            }
            reader.finish(&mut Printer { out: &mut out, state: &mut state }).unwrap();
            let got = assemble(&lines(&String::from_utf8(out).unwrap()));
            assert_eq!(got, segments, "segments cut at {at}");
        }
    }

    #[test]
    fn interleaved_choices_get_a_heading_each_time_the_output_switches() {
        let input = concat!(
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"a\"}}]}\n\n",
            "data: {\"choices\":[{\"index\":1,\"delta\":{\"reasoning_content\":\"b\"}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\\n\\nA\"}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"A\"}}]}\n\n",
            "data: [DONE]\n\n",
        );
        let config = config_of("");
        let got = split(Format::Text, &config, input.as_bytes(), input.len());
        let end = " · end · chat.completions · reasoning: field · no finish reason\n\n";
        let expected = [
            "── x · stream 0 · choice 0\na\n",
            "── x · stream 0 · choice 1\nb\n",
            // The answer's first newlines are left out, as they always were.
            "── x · stream 0 · choice 0\nAA\n",
            &format!("── x · stream 0 · choice 0{end}"),
            &format!("── x · stream 0 · choice 1{end}"),
        ]
        .concat();
        assert_eq!(got, expected);
    }
}
