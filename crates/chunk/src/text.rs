//! Escapes of JSON strings (RFC 8259, section 7):
//!
//! ```text
//! char   = unescaped /
//!          escape (
//!              %x22 /          ; "    quotation mark  U+0022
//!              %x5C /          ; \    reverse solidus U+005C
//!              %x2F /          ; /    solidus         U+002F
//!              %x62 /          ; b    backspace       U+0008
//!              %x66 /          ; f    form feed       U+000C
//!              %x6E /          ; n    line feed       U+000A
//!              %x72 /          ; r    carriage return U+000D
//!              %x74 /          ; t    tab             U+0009
//!              %x75 4HEXDIG )  ; uXXXX                U+XXXX
//! escape = %x5C              ; \
//! ```
//!
//! Every path decodes an escape with [`escape_at`]. The scanner checks a
//! string's escapes as it reads it, and unescapes in the same pass where it
//! must: strictly for a string it reads as a value (a lone surrogate
//! rejects, as in serde_json), leniently for [`crate::Parser`]'s reused text
//! (a lone surrogate becomes U+FFFD). A text field (`content`, `reasoning`,
//! `reasoning_content`) read by [`crate::parse`] is taken as the raw body
//! of its string literal, borrowed when it has no escapes and otherwise
//! unescaped here, leniently, into a `String` of the right size: one
//! allocation ([`unescape`]).

use std::borrow::Cow;

/// Makes a borrowed string owned, for the `into_owned` helpers.
#[inline]
pub(crate) fn own(s: Option<Cow<'_, str>>) -> Option<Cow<'static, str>> {
    s.map(|s| Cow::Owned(s.into_owned()))
}

/// Decodes the escapes of a string body that the scanner has read,
/// leniently: a lone surrogate becomes U+FFFD.
pub(crate) fn unescape(body: &str) -> String {
    let bytes = body.as_bytes();
    let mut out = String::with_capacity(body.len());
    // Where the text not yet copied starts: 0, or just after an escape,
    // which is ASCII, so a character boundary, as a backslash is.
    let mut plain = 0;
    while let Some(at) = memchr::memchr(b'\\', &bytes[plain..]).map(|i| plain + i) {
        let escape = escape_at(bytes, at);
        // The scanner checked the escapes' syntax. Should one be wrong all
        // the same, its backslash becomes U+FFFD: handled, not assumed.
        debug_assert!(escape.is_some(), "an escape the scanner let through: {body:?}");
        let (ch, used) = escape.unwrap_or((None, 1));
        out.push_str(&body[plain..at]);
        out.push(ch.unwrap_or(char::REPLACEMENT_CHARACTER));
        plain = at + used;
    }
    out.push_str(&body[plain..]);
    out
}

/// The escape whose backslash is `bytes[at]`: the character it stands for
/// and its length in bytes, or `None` if its syntax is wrong (RFC 8259 §7:
/// one of `"\/bfnrt`, or `u` and four hex digits). A `\u` surrogate pair
/// is one escape; a lone surrogate is a character of `None`, which a
/// lenient reader replaces with U+FFFD and a strict one rejects.
#[inline]
pub(crate) fn escape_at(bytes: &[u8], at: usize) -> Option<(Option<char>, usize)> {
    debug_assert_eq!(bytes[at], b'\\');
    // `get`: the input may end after the backslash.
    let next = *bytes.get(at + 1)?;
    if next != b'u' {
        // A table, not a `match`: the same instructions, but a branch on
        // the escaped byte mispredicts. Measured with callgrind's branch
        // simulator on the R1 bench stream: a `match` mispredicts 21 % more
        // branches in `parse`, 2 % more end to end.
        return match SHORT_ESCAPES[usize::from(next)] {
            0 => None,
            b => Some((Some(char::from(b)), 2)),
        };
    }
    let unit = hex4(&bytes[at + 2..])?;
    if (0xD800..=0xDBFF).contains(&unit) {
        // Four hex digits were there: `at + 6` is at most the length.
        let low = match &bytes[at + 6..] {
            [b'\\', b'u', tail @ ..] => hex4(tail),
            _ => None,
        };
        if let Some(low @ 0xDC00..=0xDFFF) = low {
            let c = 0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
            return Some((char::from_u32(c), 12));
        }
    }
    // `None` for a lone surrogate (a low one, or a high one without its pair).
    Some((char::from_u32(u32::from(unit)), 6))
}

/// What each one-character escape (`\n`, `\"`, ...) stands for, by the
/// byte after the backslash; 0 for any other byte.
const SHORT_ESCAPES: [u8; 256] = {
    let mut table = [0u8; 256];
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table[b'/' as usize] = b'/';
    table[b'b' as usize] = 0x08;
    table[b'f' as usize] = 0x0C;
    table[b'n' as usize] = b'\n';
    table[b'r' as usize] = b'\r';
    table[b't' as usize] = b'\t';
    table
};

/// The value of one hex digit.
#[inline]
fn hex(b: u8) -> Option<u16> {
    match b {
        b'0'..=b'9' => Some(u16::from(b - b'0')),
        b'a'..=b'f' => Some(u16::from(b - b'a' + 10)),
        b'A'..=b'F' => Some(u16::from(b - b'A' + 10)),
        _ => None,
    }
}

/// Four hex digits at the start of `bytes`.
#[inline]
fn hex4(bytes: &[u8]) -> Option<u16> {
    match bytes {
        [a, b, c, d, ..] => Some(hex(*a)? << 12 | hex(*b)? << 8 | hex(*c)? << 4 | hex(*d)?),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The text of a JSON string literal (with its quotes), or `None` when
    /// the literal is not a string: what the scanner makes of a text value.
    fn from_literal(literal: &str) -> Option<Cow<'_, str>> {
        crate::scan::Scanner::new(literal).text().expect("valid json")
    }

    #[test]
    fn borrowed_without_escapes_owned_with() {
        assert!(matches!(from_literal(r#""plain text""#), Some(Cow::Borrowed("plain text"))));
        assert_eq!(from_literal(r#""a\nb\"c\\d\/e\tf""#).as_deref(), Some("a\nb\"c\\d/e\tf"));
        assert_eq!(from_literal(r#""\u00e9\ud83d\ude42\u4e2d""#).as_deref(), Some("é🙂中"));
        assert_eq!(from_literal("null"), None);
        assert_eq!(from_literal("[1]"), None);
    }

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        assert_eq!(from_literal(r#""a\ud800b""#).as_deref(), Some("a\u{fffd}b"));
        assert_eq!(from_literal(r#""\udc00\ud83d""#).as_deref(), Some("\u{fffd}\u{fffd}"));
        assert_eq!(from_literal(r#""\ud83d\u0041""#).as_deref(), Some("\u{fffd}A"));
    }

    /// One JSON-escaped piece: plain text, a short escape, or a `\u` escape
    /// of any BMP unit or astral character (as a pair), in either case.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z é中🙂]{0,4}",
            prop::sample::select(vec!["\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"])
                .prop_map(str::to_owned),
            (0u32..0xD800).prop_map(|u| format!("\\u{u:04x}")),
            (0xE000u32..0x10000).prop_map(|u| format!("\\u{u:04X}")),
            (0x10000u32..0x110000).prop_map(|c| {
                let c = c - 0x10000;
                format!("\\u{:04x}\\u{:04X}", 0xD800 + (c >> 10), 0xDC00 + (c & 0x3FF))
            }),
        ]
    }

    proptest! {
        /// Same text as serde_json's own unescaping, for any valid literal.
        #[test]
        fn agrees_with_serde_json(pieces in prop::collection::vec(piece(), 0..16)) {
            let literal = format!("\"{}\"", pieces.concat());
            let expected: String = serde_json::from_str(&literal).unwrap();
            let got = from_literal(&literal);
            prop_assert_eq!(got.as_deref(), Some(expected.as_str()));
        }
    }
}
