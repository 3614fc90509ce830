//! Complete grammars for the markup the splitter delimits: tool calls
//! written into the text (Qwen's `<tool_call>`, DeepSeek's tool tokens,
//! harmony's commentary to a function) and harmony message headers.
//!
//! These run once a call's or header's bytes are whole (the splitter finds
//! where they begin and end, incrementally); never on the streaming path.
//! The grammars, from `FORMATS-MORE.md` section 4:
//!
//! ```text
//! qwen     = "<tool_call>" ws object ws "</tool_call>"
//!            ; object has "name": string and "arguments": value
//! deepseek = "<｜tool▁calls▁begin｜>" ws (call ws)+ "<｜tool▁calls▁end｜>"
//! call     = "<｜tool▁call▁begin｜>" NAME "<｜tool▁sep｜>" ARGS "<｜tool▁call▁end｜>"      (V3.1)
//!          | "<｜tool▁call▁begin｜>" TYPE "<｜tool▁sep｜>" NAME "\n```json\n" ARGS "\n```"
//!            "<｜tool▁call▁end｜>"                                                  (R1)
//! kimi     = "<|tool_calls_section_begin|>" ws (kcall ws)+ "<|tool_calls_section_end|>"
//! kcall    = "<|tool_call_begin|>" ws ID ws "<|tool_call_argument_begin|>" ARGS "<|tool_call_end|>"
//!            ; ID is `functions.NAME:INDEX`: NAME is the function's name
//!            ; (Kimi-K2's tool-call format, Moonshot's tool-call guidance)
//! harmony  = header ARGS "<|call|>"
//!          | "assistantcommentary to=" RECIPIENT [ws] ["<|constrain|>"] [TYPE] ["<|message|>"]
//!            ARGS ["<|call|>"]                            (special tokens stripped)
//!            ; RECIPIENT is letters, digits, `_`, `.`, `-`; TYPE letters;
//!            ; ARGS not empty
//! header   = ["<|start|>" ROLE [" to=" RECIPIENT]] "<|channel|>" CHANNEL
//!            (" to=" RECIPIENT | " <|constrain|>" TYPE | " " TYPE)* "<|message|>"
//! ```

use std::fmt;

use nom::branch::alt;
use nom::bytes::complete::{tag, take_until, take_while, take_while1};
use nom::character::complete::{char, multispace0};
use nom::combinator::{all_consuming, opt, recognize};
use nom::multi::{many1, separated_list0};
use nom::number::complete::recognize_float;
use nom::sequence::{delimited, preceded, terminated};
use nom::{IResult, Parser};

/// Qwen's tool-call open tag.
pub const QWEN_CALL_OPEN: &str = "<tool_call>";
/// Qwen's tool-call close tag.
pub const QWEN_CALL_CLOSE: &str = "</tool_call>";
/// DeepSeek's tool-call section open token.
pub const DEEPSEEK_CALLS_OPEN: &str = "<｜tool▁calls▁begin｜>";
/// DeepSeek's tool-call section close token.
pub const DEEPSEEK_CALLS_CLOSE: &str = "<｜tool▁calls▁end｜>";

/// Kimi-K2's tool-call section open token.
pub const KIMI_CALLS_OPEN: &str = "<|tool_calls_section_begin|>";
/// Kimi-K2's tool-call section close token.
pub const KIMI_CALLS_CLOSE: &str = "<|tool_calls_section_end|>";

const KIMI_CALL_OPEN: &str = "<|tool_call_begin|>";
const KIMI_ARGUMENTS: &str = "<|tool_call_argument_begin|>";
const KIMI_CALL_CLOSE: &str = "<|tool_call_end|>";

/// How a harmony tool call starts once the special tokens are stripped
/// (`<|start|>assistant<|channel|>commentary to=…` loses its tokens).
pub const HARMONY_STRIPPED_CALL_OPEN: &str = "assistantcommentary to=";
/// The token that ends a harmony tool call.
pub const HARMONY_CALL_END: &str = "<|call|>";

const DEEPSEEK_CALL_OPEN: &str = "<｜tool▁call▁begin｜>";
const DEEPSEEK_SEP: &str = "<｜tool▁sep｜>";
const DEEPSEEK_CALL_CLOSE: &str = "<｜tool▁call▁end｜>";

/// Deepest nesting of JSON arrays and objects read in arguments: bounds
/// the parser's recursion (stack), whatever the input.
pub const MAX_JSON_DEPTH: u32 = 64;

/// One tool call read from markup, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call<'a> {
    /// The function's name (`functions.` stripped from a harmony recipient).
    pub name: &'a str,
    /// Its arguments, exactly as written.
    pub arguments: &'a str,
}

/// Which markup a piece of text was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `<tool_call>{json}</tool_call>`.
    Qwen,
    /// `<｜tool▁calls▁begin｜>…<｜tool▁calls▁end｜>`.
    DeepSeek,
    /// A harmony message to a recipient, ended by `<|call|>`.
    Harmony,
    /// `<|tool_calls_section_begin|>…<|tool_calls_section_end|>` (Kimi-K2).
    Kimi,
}

impl Dialect {
    /// `"qwen"`, `"deepseek"`, `"harmony"` or `"kimi"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Qwen => "qwen",
            Dialect::DeepSeek => "deepseek",
            Dialect::Harmony => "harmony",
            Dialect::Kimi => "kimi",
        }
    }
}

/// Why markup could not be read as tool calls (or as a harmony header).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkupError {
    /// It starts like no known markup.
    UnknownDialect,
    /// It does not follow its dialect's grammar; `offset` is the byte where
    /// reading stopped.
    Malformed {
        /// The dialect it was read as.
        dialect: Dialect,
        /// Where reading stopped, in bytes from its start.
        offset: usize,
    },
}

impl fmt::Display for MarkupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MarkupError::UnknownDialect => f.write_str("not tool-call markup of a known dialect"),
            MarkupError::Malformed { dialect, offset } => {
                write!(f, "malformed {} tool-call markup at byte {offset}", dialect.as_str())
            }
        }
    }
}

impl std::error::Error for MarkupError {}

/// A harmony message header, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The author after `<|start|>` (`assistant`), when there was one.
    pub role: Option<&'a str>,
    /// The channel: `analysis`, `commentary`, `final`, ...
    pub channel: &'a str,
    /// The recipient after `to=` (`functions.get_weather`), if any.
    pub recipient: Option<&'a str>,
}

/// Reads tool-call markup whole: the calls it holds, in order.
pub fn parse_calls(markup: &str) -> Result<Vec<Call<'_>>, MarkupError> {
    let dialect = if markup.starts_with(QWEN_CALL_OPEN) {
        Dialect::Qwen
    } else if markup.starts_with(DEEPSEEK_CALLS_OPEN) {
        Dialect::DeepSeek
    } else if markup.starts_with(KIMI_CALLS_OPEN) {
        Dialect::Kimi
    } else if markup.starts_with("<|start|>")
        || markup.starts_with("<|channel|>")
        || markup.starts_with(HARMONY_STRIPPED_CALL_OPEN)
    {
        Dialect::Harmony
    } else {
        return Err(MarkupError::UnknownDialect);
    };
    let result = match dialect {
        Dialect::Qwen => all_consuming(qwen).parse(markup).map(|(_, c)| vec![c]),
        Dialect::DeepSeek => all_consuming(deepseek).parse(markup).map(|(_, c)| c),
        Dialect::Kimi => all_consuming(kimi).parse(markup).map(|(_, c)| c),
        Dialect::Harmony => all_consuming(alt((harmony_call, harmony_stripped_call)))
            .parse(markup)
            .map(|(_, c)| vec![c]),
    };
    result.map_err(|e| malformed(dialect, markup, e))
}

/// Reads a harmony header whole, from `<|start|>` or `<|channel|>` to
/// `<|message|>` included.
pub fn parse_header(header: &str) -> Result<Header<'_>, MarkupError> {
    all_consuming(harmony_header)
        .parse(header)
        .map(|(_, h)| h)
        .map_err(|e| malformed(Dialect::Harmony, header, e))
}

fn malformed(dialect: Dialect, input: &str, e: nom::Err<nom::error::Error<&str>>) -> MarkupError {
    let offset = match e {
        nom::Err::Error(e) | nom::Err::Failure(e) => input.len() - e.input.len(),
        nom::Err::Incomplete(_) => input.len(),
    };
    MarkupError::Malformed { dialect, offset }
}

// === qwen ===

fn qwen(i: &str) -> IResult<&str, Call<'_>> {
    let (rest, members) = delimited(
        (tag(QWEN_CALL_OPEN), multispace0),
        object_members,
        (multispace0, tag(QWEN_CALL_CLOSE)),
    )
    .parse(i)?;
    let find = |key: &str| members.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    match (find("name"), find("arguments")) {
        (Some(name), Some(arguments)) if name.len() >= 2 && name.starts_with('"') => {
            Ok((rest, Call { name: &name[1..name.len() - 1], arguments }))
        }
        _ => Err(nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Verify))),
    }
}

/// `{ "key": value, ... }` at the top level: each key's contents (without
/// quotes) and its value's text.
fn object_members(i: &str) -> IResult<&str, Vec<(&str, &str)>> {
    delimited(
        (char('{'), multispace0),
        separated_list0(
            (multispace0, char(','), multispace0),
            (terminated(string_contents, (multispace0, char(':'), multispace0)), |i| value(i, 1)),
        ),
        (multispace0, char('}')),
    )
    .parse(i)
}

/// A JSON value's text, nested at most [`MAX_JSON_DEPTH`] deep.
fn value(i: &str, depth: u32) -> IResult<&str, &str> {
    if depth > MAX_JSON_DEPTH {
        return Err(nom::Err::Failure(nom::error::Error::new(i, nom::error::ErrorKind::TooLarge)));
    }
    let array = delimited(
        (char('['), multispace0),
        separated_list0((multispace0, char(','), multispace0), |i| value(i, depth + 1)),
        (multispace0, char(']')),
    );
    let object = delimited(
        (char('{'), multispace0),
        separated_list0(
            (multispace0, char(','), multispace0),
            (string, multispace0, char(':'), multispace0, |i| value(i, depth + 1)),
        ),
        (multispace0, char('}')),
    );
    alt((
        string,
        recognize(array),
        recognize(object),
        tag("true"),
        tag("false"),
        tag("null"),
        recognize_float,
    ))
    .parse(i)
}

/// A JSON string, quotes included.
fn string(i: &str) -> IResult<&str, &str> {
    recognize(delimited(char('"'), string_body, char('"'))).parse(i)
}

/// A JSON string's contents, quotes excluded (escapes left as written).
fn string_contents(i: &str) -> IResult<&str, &str> {
    delimited(char('"'), string_body, char('"')).parse(i)
}

fn string_body(i: &str) -> IResult<&str, &str> {
    let mut escaped = false;
    for (at, c) in i.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Ok((&i[at..], &i[..at])),
            _ => {}
        }
    }
    Err(nom::Err::Error(nom::error::Error::new("", nom::error::ErrorKind::Char)))
}

// === deepseek ===

fn deepseek(i: &str) -> IResult<&str, Vec<Call<'_>>> {
    delimited(
        (tag(DEEPSEEK_CALLS_OPEN), multispace0),
        many1(terminated(deepseek_call, multispace0)),
        tag(DEEPSEEK_CALLS_CLOSE),
    )
    .parse(i)
}

fn deepseek_call(i: &str) -> IResult<&str, Call<'_>> {
    let (rest, (first, body)) = delimited(
        tag(DEEPSEEK_CALL_OPEN),
        (terminated(take_until(DEEPSEEK_SEP), tag(DEEPSEEK_SEP)), take_until(DEEPSEEK_CALL_CLOSE)),
        tag(DEEPSEEK_CALL_CLOSE),
    )
    .parse(i)?;
    // R1: the type before the separator, the name and a json fence after it.
    let r1 = (
        terminated(take_until("\n"), tag("\n```json\n")),
        terminated(take_until("\n```"), all_consuming(tag("\n```"))),
    );
    let r1: IResult<&str, (&str, &str)> = all_consuming(r1).parse(body);
    let call = match r1 {
        Ok((_, (name, arguments))) if first == "function" => Call { name, arguments },
        _ => Call { name: first, arguments: body },
    };
    if call.name.is_empty() {
        return Err(nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Verify)));
    }
    Ok((rest, call))
}

// === kimi ===

fn kimi(i: &str) -> IResult<&str, Vec<Call<'_>>> {
    delimited(
        (tag(KIMI_CALLS_OPEN), multispace0),
        many1(terminated(kimi_call, multispace0)),
        tag(KIMI_CALLS_CLOSE),
    )
    .parse(i)
}

fn kimi_call(i: &str) -> IResult<&str, Call<'_>> {
    let (rest, (id, arguments)) = delimited(
        tag(KIMI_CALL_OPEN),
        (terminated(take_until(KIMI_ARGUMENTS), tag(KIMI_ARGUMENTS)), take_until(KIMI_CALL_CLOSE)),
        tag(KIMI_CALL_CLOSE),
    )
    .parse(i)?;
    // `functions.get_weather:0`: the name between the namespace and the
    // call's index.
    let id = id.trim();
    let name = id.strip_prefix("functions.").unwrap_or(id);
    let name = match name.rsplit_once(':') {
        Some((name, index)) if !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => name,
    };
    if name.is_empty() {
        return Err(nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Verify)));
    }
    Ok((rest, Call { name, arguments }))
}

// === harmony ===

fn harmony_call(i: &str) -> IResult<&str, Call<'_>> {
    let (rest, header) = harmony_header(i)?;
    let Some(recipient) = header.recipient else {
        return Err(nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Verify)));
    };
    let name = recipient.strip_prefix("functions.").unwrap_or(recipient);
    let (rest, arguments) = terminated(take_until("<|call|>"), tag("<|call|>")).parse(rest)?;
    Ok((rest, Call { name, arguments }))
}

/// A call with harmony's special tokens stripped: what is left of
/// `<|start|>assistant<|channel|>commentary to=functions.NAME
/// <|constrain|>json<|message|>ARGS<|call|>` (any of the tokens may have
/// been kept).
fn harmony_stripped_call(i: &str) -> IResult<&str, Call<'_>> {
    let recipient_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    let (i, recipient) =
        preceded(tag(HARMONY_STRIPPED_CALL_OPEN), take_while1(recipient_char)).parse(i)?;
    let (i, _) = (
        take_while(char::is_whitespace),
        opt(tag("<|constrain|>")),
        take_while(|c: char| c.is_ascii_alphabetic()),
        opt(tag("<|message|>")),
    )
        .parse(i)?;
    let arguments = i.strip_suffix(HARMONY_CALL_END).unwrap_or(i);
    if arguments.is_empty() {
        return Err(nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Verify)));
    }
    let name = recipient.strip_prefix("functions.").unwrap_or(recipient);
    Ok(("", Call { name, arguments }))
}

fn word(i: &str) -> IResult<&str, &str> {
    take_while1(|c: char| !c.is_whitespace() && c != '<').parse(i)
}

fn recipient(i: &str) -> IResult<&str, &str> {
    preceded((multispace0, tag("to=")), word).parse(i)
}

fn harmony_header(i: &str) -> IResult<&str, Header<'_>> {
    let (i, start) = opt(preceded(tag("<|start|>"), (word, opt(recipient)))).parse(i)?;
    let (i, channel) = preceded(tag("<|channel|>"), word).parse(i)?;
    // What may follow the channel: a recipient, a constraint, a content type.
    let (i, extras) = nom::multi::many0(alt((
        recipient.map(Some),
        preceded((multispace0, tag("<|constrain|>")), word).map(|_| None),
        preceded(take_while1(char::is_whitespace), word).map(|_| None),
    )))
    .parse(i)?;
    let (i, _) = (take_while(char::is_whitespace), tag("<|message|>")).parse(i)?;
    let recipient = start.and_then(|(_, r)| r).or(extras.into_iter().flatten().next());
    Ok((i, Header { role: start.map(|(role, _)| role), channel, recipient }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qwen_call_arguments_as_sent() {
        let m = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"n\": [1, 2.5e3]}}\n</tool_call>";
        assert_eq!(
            parse_calls(m),
            Ok(vec![Call {
                name: "get_weather",
                arguments: "{\"city\": \"Paris\", \"n\": [1, 2.5e3]}"
            }])
        );
    }

    #[test]
    fn deepseek_v31_and_r1_calls() {
        let v31 = "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{\"city\":\"Paris\"}<｜tool▁call▁end｜><｜tool▁call▁begin｜>now<｜tool▁sep｜>{}<｜tool▁call▁end｜><｜tool▁calls▁end｜>";
        assert_eq!(
            parse_calls(v31),
            Ok(vec![
                Call { name: "get_weather", arguments: "{\"city\":\"Paris\"}" },
                Call { name: "now", arguments: "{}" },
            ])
        );
        let r1 = "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>";
        assert_eq!(
            parse_calls(r1),
            Ok(vec![Call { name: "get_weather", arguments: "{\"city\": \"Paris\"}" }])
        );
    }

    #[test]
    fn harmony_header_and_call() {
        assert_eq!(
            parse_header("<|start|>assistant<|channel|>final<|message|>"),
            Ok(Header { role: Some("assistant"), channel: "final", recipient: None })
        );
        let call = "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\":\"Paris\"}<|call|>";
        assert_eq!(
            parse_calls(call),
            Ok(vec![Call { name: "get_weather", arguments: "{\"city\":\"Paris\"}" }])
        );
        let call =
            "<|start|>assistant to=functions.f<|channel|>commentary json<|message|>{}<|call|>";
        assert_eq!(parse_calls(call), Ok(vec![Call { name: "f", arguments: "{}" }]));
    }

    #[test]
    fn bad_markup_is_a_typed_error() {
        assert_eq!(parse_calls("hello"), Err(MarkupError::UnknownDialect));
        let unterminated = "<tool_call>{\"name\": \"f\", \"arguments\": {}}";
        assert!(matches!(
            parse_calls(unterminated),
            Err(MarkupError::Malformed { dialect: Dialect::Qwen, .. })
        ));
        let no_name = "<tool_call>{\"arguments\": {}}</tool_call>";
        assert!(parse_calls(no_name).is_err());
        let deep = format!(
            "<tool_call>{{\"name\":\"f\",\"arguments\":{}{}}}</tool_call>",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(
            parse_calls(&deep).is_err(),
            "nesting past MAX_JSON_DEPTH is refused, not a stack overflow"
        );
        assert!(parse_calls("<|channel|>commentary<|message|>{}<|call|>").is_err(), "no recipient");
        assert!(parse_header("<|channel|>final").is_err());
    }

    #[test]
    fn kimi_k2_sections() {
        let m = "<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>{\"city\": \"Paris\"}<|tool_call_end|>\n<|tool_call_begin|> functions.now:1 <|tool_call_argument_begin|>{}<|tool_call_end|><|tool_calls_section_end|>";
        assert_eq!(
            parse_calls(m),
            Ok(vec![
                Call { name: "get_weather", arguments: "{\"city\": \"Paris\"}" },
                Call { name: "now", arguments: "{}" },
            ])
        );
        for bad in [
            "<|tool_calls_section_begin|><|tool_calls_section_end|>",
            "<|tool_calls_section_begin|><|tool_call_begin|>:0<|tool_call_argument_begin|>{}<|tool_call_end|><|tool_calls_section_end|>",
            "<|tool_calls_section_begin|><|tool_call_begin|>functions.f:0{}<|tool_call_end|><|tool_calls_section_end|>",
            "<|tool_calls_section_begin|><|tool_call_begin|>functions.f:0<|tool_call_argument_begin|>{}<|tool_call_end|>",
        ] {
            assert!(
                matches!(
                    parse_calls(bad),
                    Err(MarkupError::Malformed { dialect: Dialect::Kimi, .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn harmony_calls_with_the_special_tokens_stripped() {
        let call = |name, arguments| Ok(vec![Call { name, arguments }]);
        assert_eq!(
            parse_calls("assistantcommentary to=functions.get_weather json{\"city\":\"Paris\"}"),
            call("get_weather", "{\"city\":\"Paris\"}")
        );
        // Some tokens kept; no content type; a recipient outside `functions`.
        assert_eq!(
            parse_calls(
                "assistantcommentary to=functions.now <|constrain|>json<|message|>{}<|call|>"
            ),
            call("now", "{}")
        );
        assert_eq!(
            parse_calls("assistantcommentary to=browser.search{\"q\":1}"),
            call("browser.search", "{\"q\":1}")
        );
        // Arguments as written, spaces included.
        assert_eq!(
            parse_calls("assistantcommentary to=functions.f json {\"a\": 1} "),
            call("f", " {\"a\": 1} ")
        );
        for bad in [
            "assistantcommentary to=",
            "assistantcommentary to=functions.f json",
            "assistantcommentary to= x",
        ] {
            assert!(
                matches!(
                    parse_calls(bad),
                    Err(MarkupError::Malformed { dialect: Dialect::Harmony, .. })
                ),
                "{bad}"
            );
        }
    }
}
