//! Text fields (`content`, `reasoning`, `reasoning_content`): unescaped
//! once, leniently.
//!
//! The scanner takes a text value as the raw body of its JSON string literal
//! (syntax checked, not unescaped), borrows it when it has no escapes, and
//! otherwise unescapes it here into a `String` of the right size: one
//! allocation.

use std::borrow::Cow;

/// Makes a borrowed string owned, for the `into_owned` helpers.
#[inline]
pub(crate) fn own(s: Option<Cow<'_, str>>) -> Option<Cow<'static, str>> {
    s.map(|s| Cow::Owned(s.into_owned()))
}

/// Decodes the escapes of a JSON string body (RFC 8259 §7). The scanner has
/// already checked the escapes' syntax; a lone surrogate (which serde_json
/// would reject when unescaping) becomes U+FFFD rather than failing.
pub(crate) fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    unescape_into(&mut out, s);
    out
}

/// [`unescape`], appending to `out`.
pub(crate) fn unescape_into(out: &mut String, s: &str) {
    let mut rest = s;
    // memchr, not `str::find`: a short text with a few escapes is searched
    // once per escape, and each search must start cheaply.
    while let Some(at) = memchr::memchr(b'\\', rest.as_bytes()) {
        out.push_str(&rest[..at]);
        let escape = &rest[at + 1..];
        let (ch, used) = match escape.as_bytes().first() {
            Some(b'"') => ('"', 1),
            Some(b'\\') => ('\\', 1),
            Some(b'/') => ('/', 1),
            Some(b'b') => ('\u{8}', 1),
            Some(b'f') => ('\u{c}', 1),
            Some(b'n') => ('\n', 1),
            Some(b'r') => ('\r', 1),
            Some(b't') => ('\t', 1),
            Some(b'u') => unicode_escape(&escape[1..]).map_or(('\u{fffd}', 1), |(c, n)| (c, 1 + n)),
            _ => ('\u{fffd}', 0),
        };
        out.push(ch);
        rest = &escape[used..];
    }
    out.push_str(rest);
}

/// `XXXX` (after `\u`), or a surrogate pair `XXXX\uYYYY`: the character
/// and how many bytes it used.
fn unicode_escape(s: &str) -> Option<(char, usize)> {
    let hex = |s: &str| s.get(..4).and_then(|h| u16::from_str_radix(h, 16).ok());
    let unit = hex(s)?;
    match unit {
        0xD800..=0xDBFF => {
            let low = s.get(4..).and_then(|r| r.strip_prefix("\\u")).and_then(hex);
            match low {
                Some(low @ 0xDC00..=0xDFFF) => {
                    let c =
                        0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                    Some((char::from_u32(c).unwrap_or('\u{fffd}'), 10))
                }
                _ => Some(('\u{fffd}', 4)),
            }
        }
        0xDC00..=0xDFFF => Some(('\u{fffd}', 4)),
        _ => Some((char::from_u32(u32::from(unit)).unwrap_or('\u{fffd}'), 4)),
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
