//! Untrusted text on a terminal: controls shown as escapes, colour only
//! where it is wanted.
//!
//! Model text, model names, finish reasons, error messages and file names
//! come from the network or the disk. Printed raw, an escape sequence in
//! them could retitle the window, write the clipboard (`ESC ]52`), clear
//! the screen, or a bidi override could reorder what the reader sees. Every
//! text output of the CLI goes through [`escape`]; JSON output is escaped
//! by serde_json already.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::IsTerminal;

/// `text` with every C0 and C1 control (but LF and TAB), DEL and bidi
/// control (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) shown as
/// a visible escape: `\x1b`, `\u{202e}`. Borrowed when nothing needs it.
pub(crate) fn escape(text: &str) -> Cow<'_, str> {
    let Some(first) = text.find(is_unsafe) else { return Cow::Borrowed(text) };
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str(&text[..first]);
    for c in text[first..].chars() {
        match c {
            c if !is_unsafe(c) => out.push(c),
            c if c.is_ascii() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    Cow::Owned(out)
}

fn is_unsafe(c: char) -> bool {
    match c {
        '\n' | '\t' => false,
        '\0'..='\x1f' | '\x7f'..='\u{9f}' => true,
        '\u{061c}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

/// ANSI styles for stdout, or empty strings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    pub(crate) bold: &'static str,
    pub(crate) dim: &'static str,
    pub(crate) reset: &'static str,
}

impl Style {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset or empty
    /// (<https://no-color.org>).
    pub(crate) fn stdout() -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style::new(std::io::stdout().is_terminal() && !no_color)
    }

    pub(crate) fn new(colour: bool) -> Style {
        if colour {
            Style { bold: "\x1b[1m", dim: "\x1b[2m", reset: "\x1b[0m" }
        } else {
            Style { bold: "", dim: "", reset: "" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_are_escaped_lf_and_tab_kept() {
        assert!(matches!(escape("plain text\twith tab\nand é ✓"), Cow::Borrowed(_)));
        assert_eq!(
            escape("a\x1b]52;c;aGk=\x07b\x1b[2Jc\r\x7f\u{9b}31m"),
            "a\\x1b]52;c;aGk=\\x07b\\x1b[2Jc\\x0d\\x7f\\u{9b}31m"
        );
        assert_eq!(
            escape("\u{202e}evil\u{202c} \u{2066}x\u{2069}\u{200f}\u{61c}"),
            "\\u{202e}evil\\u{202c} \\u{2066}x\\u{2069}\\u{200f}\\u{61c}"
        );
        assert_eq!(escape("\0"), "\\x00");
    }
}
