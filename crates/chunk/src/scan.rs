//! A validating JSON scanner over one `&str`, specialised for this crate.
//!
//! The readers in `payload.rs`, `choice.rs`, `usage.rs`, `filter.rs` and
//! `error.rs` walk a payload with it, dispatching on each key as it is read
//! and filling the borrowed output in place. It accepts exactly what the
//! crate accepted when it drove serde_json's `Deserializer` (the tests in
//! `tests/differential.rs` hold the two side by side):
//!
//! - RFC 8259 syntax as serde_json reads it: whitespace is space, tab, LF,
//!   CR; no trailing commas; numbers without leading zeros, `+`, or bare
//!   `.`; no raw control characters in strings; `\u` takes 4 hex digits.
//! - Where a value is *read* (a known field's scalar, every key of a known
//!   object, and the keys of an object found where a scalar was expected),
//!   strings must not hold a lone surrogate escape and numbers must fit an
//!   `f64` ([`Scanner::scalar`], [`Scanner::key`]).
//! - Where a value is *skipped* (an unknown field's value, the values of an
//!   object of the wrong shape, an array of the wrong shape), only the
//!   syntax is checked, as serde_json's `IgnoredAny` does
//!   ([`Scanner::skip_value`]). Skipping keeps a bit stack
//!   instead of recursing, so nesting depth is bounded only by the input.
//! - Text fields (`content`, `reasoning`, `reasoning_content`) are read with
//!   the skipping rules and unescaped leniently ([`Scanner::text`]): a lone
//!   surrogate becomes U+FFFD.
//!
//! Known fields nest at most seven levels (`error.innererror.
//! content_filter_results.<category>.details[].{..}`), and the readers
//! recurse only through known fields, so the stack depth is fixed by the
//! schema, not by the input.
//!
//! A failure is [`Reject`], with no detail: the caller re-reads the input
//! with serde_json (cold) to build an error with a position and a reason.

use std::borrow::Cow;
use std::ops::Range;

use crate::special::find_special;
use crate::text;

// RFC 8259, "The JavaScript Object Notation (JSON) Data Interchange
// Format", sections 2 to 7:
//
//   JSON-text       = ws value ws
//   value           = false / null / true / object / array / number / string
//   object          = begin-object [ member *( value-separator member ) ]
//                     end-object
//   member          = string name-separator value
//   array           = begin-array [ value *( value-separator value ) ]
//                     end-array
//   number          = [ minus ] int [ frac ] [ exp ]
//   int             = zero / ( digit1-9 *DIGIT )
//   frac            = decimal-point 1*DIGIT
//   exp             = e [ minus / plus ] 1*DIGIT
//   string          = quotation-mark *char quotation-mark
//   char            = unescaped / escape ( %x22 / %x5C / %x2F / %x62 /
//                     %x66 / %x6E / %x72 / %x74 / %x75 4HEXDIG )
//   unescaped       = %x20-21 / %x23-5B / %x5D-10FFFF
//   ws              = *( %x20 / %x09 / %x0A / %x0D )
//
// Each production is read by the function named after it: `object` and
// `member` (with `key` and `field` for its name), `array` and `element`,
// `number`, `string`, `word` for the three literals, `peek` past `ws`;
// `skip_value` reads a `value` without keeping it. An escape is decoded by
// `text::escape_at`; `unescaped` runs are found by `find_special`.

/// The input is not JSON this crate accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reject;

/// A scan step's result.
pub(crate) type Scan<T> = Result<T, Reject>;

/// A JSON scalar other than `null` (which always means "absent").
#[derive(Debug)]
pub(crate) enum Scalar<'a> {
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    Str(Cow<'a, str>),
}

/// An object key, escapes decoded: borrowed unless it had escapes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Key<'a>(Cow<'a, str>);

impl<'a> Key<'a> {
    /// The key's bytes, to match against the known keys.
    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The key as text.
    pub(crate) fn into_str(self) -> Cow<'a, str> {
        self.0
    }
}

/// One key a reader knows, with the field it names, for
/// [`Scanner::field`].
#[derive(Debug)]
pub(crate) struct Known<F> {
    key: &'static [u8],
    field: F,
}

impl<F> Known<F> {
    /// `key` (plain ASCII: no `"`, `\` or control characters) names
    /// `field`.
    pub(crate) const fn new(key: &'static [u8], field: F) -> Self {
        let mut i = 0;
        while i < key.len() {
            let b = key[i];
            assert!(b >= 0x20 && b < 0x80 && b != b'"' && b != b'\\', "not a plain key");
            i += 1;
        }
        Known { key, field }
    }

    /// Whether `rest`, the bytes after a key's opening quote, start with
    /// this key spelled plainly and its closing quote. Known keys are plain
    /// ASCII, so a match is exactly the key the slow path would decode.
    #[inline]
    fn is_at(&self, rest: &[u8]) -> bool {
        // The quote first: it rules out most keys without a call to
        // `memcmp`. Measured (callgrind, R1 bench stream): comparing the key
        // first costs `parse` 9.6 % more instructions, the pipeline 0.1 to
        // 0.2 %. `get`: the input may end first.
        rest.get(self.key.len()) == Some(&b'"') && rest.starts_with(self.key)
    }
}

/// A cursor over one JSON text.
///
/// `pos` is the next byte to read. It is always at most `bytes.len()` and
/// on a character boundary of `src`: it only ever moves past ASCII tokens
/// and whole strings. So a range between two positions the scanner passed
/// is sliced with plain indexing (the crate docs' slicing convention), and
/// `.get` is used only where the input may legitimately end.
#[derive(Debug)]
pub(crate) struct Scanner<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// How many text fields held a string, and the body of the last one:
    /// what [`crate::Parser`] needs to reuse a parse.
    texts: u32,
    text_body: Range<usize>,
}

// === impl Scanner ===

impl<'a> Scanner<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Scanner::at(src, 0)
    }

    /// A scanner that starts at byte `pos` of `src`, a character boundary.
    pub(crate) fn at(src: &'a str, pos: usize) -> Self {
        debug_assert!(src.is_char_boundary(pos));
        Scanner { src, bytes: src.as_bytes(), pos, texts: 0, text_body: 0..0 }
    }

    /// The whole text being scanned.
    pub(crate) fn src(&self) -> &'a str {
        self.src
    }

    /// Where the scan is: the next byte to read.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// How many [`Scanner::text`] reads found a string, and the byte range
    /// of the last one's body (between its quotes).
    pub(crate) fn texts(&self) -> (u32, Range<usize>) {
        (self.texts, self.text_body.clone())
    }

    // --- whitespace ---

    /// Skips whitespace and returns the next byte without consuming it.
    #[inline]
    pub(crate) fn peek(&mut self) -> Scan<u8> {
        // Compact JSON has no whitespace: one test and done. Measured
        // (callgrind, R1 bench stream): the loop alone costs `parse` 2.9 %
        // more instructions, `Parser` 1.6 %, the pipeline 0.4 to 0.5 %.
        // `get`: the input may end here.
        match self.bytes.get(self.pos) {
            Some(&b) if b > b' ' => Ok(b),
            _ => self.peek_after_whitespace(),
        }
    }

    /// [`Scanner::peek`] at whitespace (or the end).
    fn peek_after_whitespace(&mut self) -> Scan<u8> {
        loop {
            match self.bytes.get(self.pos) {
                Some(b' ' | b'\n' | b'\t' | b'\r') => self.pos += 1,
                Some(&b) => return Ok(b),
                None => return Err(Reject),
            }
        }
    }

    /// Consumes `b` after optional whitespace.
    #[inline]
    fn expect(&mut self, b: u8) -> Scan<()> {
        if self.peek()? == b {
            self.pos += 1;
            Ok(())
        } else {
            Err(Reject)
        }
    }

    /// Only whitespace is left.
    pub(crate) fn finish(&mut self) -> Scan<()> {
        match self.peek() {
            Err(Reject) => Ok(()),
            Ok(_) => Err(Reject),
        }
    }

    // --- objects and arrays ---

    /// At a value: consumes `{` and returns `true`, or skips a value of any
    /// other kind (as a lenient read that found the wrong type) and returns
    /// `false`.
    #[inline]
    pub(crate) fn object(&mut self) -> Scan<bool> {
        if self.peek()? == b'{' {
            self.pos += 1;
            Ok(true)
        } else {
            self.skip_other().map(|()| false)
        }
    }

    /// At a value: consumes `[` and returns `true`, or skips a value of any
    /// other kind and returns `false`.
    #[inline]
    pub(crate) fn array(&mut self) -> Scan<bool> {
        if self.peek()? == b'[' {
            self.pos += 1;
            Ok(true)
        } else {
            self.skip_other().map(|()| false)
        }
    }

    /// Inside an object, before a member: `true` at the opening quote of its
    /// key (the `,` before it consumed), `false` after the closing `}`.
    #[inline]
    fn member(&mut self, first: &mut bool) -> Scan<bool> {
        let mut b = self.peek()?;
        if b == b'}' {
            self.pos += 1;
            return Ok(false);
        }
        if !*first {
            if b != b',' {
                return Err(Reject);
            }
            self.pos += 1;
            b = self.peek()?;
        }
        *first = false;
        if b != b'"' {
            return Err(Reject);
        }
        Ok(true)
    }

    /// Inside an object: the next key (read as a string, escapes decoded)
    /// with its `:` consumed, or `None` after the closing `}`.
    #[inline]
    pub(crate) fn key(&mut self, first: &mut bool) -> Scan<Option<Key<'a>>> {
        if !self.member(first)? {
            return Ok(None);
        }
        let key = self.key_body()?;
        self.expect(b':')?;
        Ok(Some(key))
    }

    /// At a key's opening quote: the key, past its closing quote.
    #[inline]
    fn key_body(&mut self) -> Scan<Key<'a>> {
        debug_assert_eq!(self.bytes[self.pos], b'"');
        let start = self.pos + 1;
        let end = find_special(self.bytes, start);
        // `get`: the input may end inside the key.
        if self.bytes.get(end) == Some(&b'"') {
            self.pos = end + 1;
            return Ok(Key(Cow::Borrowed(&self.src[start..end])));
        }
        self.escaped_string(start).map(Key)
    }

    /// Inside an object: [`Scanner::key`] matched against `known` in the
    /// same pass. Returns the field of the matching entry, `other` for any
    /// other key, or `None` after the closing `}`.
    ///
    /// A key in `known` spelled plainly (no escapes) is recognised in place,
    /// without being scanned first ([`Known::is_at`]). Any other key (an
    /// unknown one, an escaped one) takes [`Scanner::key`]'s path and is
    /// then looked up by its decoded bytes, so the two paths agree.
    /// Measured (callgrind, R1 bench stream): scanning every key first
    /// costs `parse` 30 to 33 % more instructions, the pipeline 0.4 to
    /// 0.7 %.
    #[inline]
    pub(crate) fn field<F: Copy>(
        &mut self,
        first: &mut bool,
        known: &[Known<F>],
        other: F,
    ) -> Scan<Option<F>> {
        if !self.member(first)? {
            return Ok(None);
        }
        debug_assert_eq!(self.bytes[self.pos], b'"');
        let rest = &self.bytes[self.pos + 1..];
        if let Some(k) = known.iter().find(|k| k.is_at(rest)) {
            self.pos += k.key.len() + 2;
            self.expect(b':')?;
            return Ok(Some(k.field));
        }
        let key = self.key_body()?;
        self.expect(b':')?;
        let key = key.as_bytes();
        Ok(Some(known.iter().find(|k| k.key == key).map_or(other, |k| k.field)))
    }

    /// Inside an array, before an element: `true` if one follows (the `,`
    /// before it consumed), `false` after the closing `]`.
    #[inline]
    pub(crate) fn element(&mut self, first: &mut bool) -> Scan<bool> {
        let b = self.peek()?;
        if b == b']' {
            self.pos += 1;
            return Ok(false);
        }
        if !*first {
            if b != b',' {
                return Err(Reject);
            }
            self.pos += 1;
            if self.peek()? == b']' {
                return Err(Reject);
            }
        }
        *first = false;
        Ok(true)
    }

    // --- scalars ---

    /// Reads any value as a scalar: `None` for `null`, and for an object or
    /// array (skipped).
    pub(crate) fn scalar(&mut self) -> Scan<Option<Scalar<'a>>> {
        match self.peek()? {
            b'"' => {
                self.pos += 1;
                self.string().map(|s| Some(Scalar::Str(s)))
            }
            b'{' | b'[' => self.skip_other().map(|()| None),
            b'n' => self.word(b"null").map(|()| None),
            b't' => self.word(b"true").map(|()| Some(Scalar::Bool(true))),
            b'f' => self.word(b"false").map(|()| Some(Scalar::Bool(false))),
            b'-' | b'0'..=b'9' => self.number().map(Some),
            _ => Err(Reject),
        }
    }

    /// A string: `None` for any other value (skipped as [`Scanner::scalar`]
    /// does).
    #[inline]
    pub(crate) fn str(&mut self) -> Scan<Option<Cow<'a, str>>> {
        match self.peek()? {
            b'"' => {
                self.pos += 1;
                self.string().map(Some)
            }
            // `finish_reason` is `null` on all but the last chunk.
            b'n' => self.word(b"null").map(|()| None),
            _ => self.scalar().map(|_| None),
        }
    }

    /// Consumes the next value if it is exactly the string `"expected"`,
    /// spelled plainly; otherwise consumes nothing. A cheap test for a value
    /// that is nearly always the same, before reading it in full.
    #[inline]
    pub(crate) fn eat_str(&mut self, expected: &[u8]) -> Scan<bool> {
        if self.peek()? != b'"' {
            return Ok(false);
        }
        let rest = &self.bytes[self.pos + 1..];
        // `get`: the input may end first.
        let hit = rest.get(expected.len()) == Some(&b'"') && rest.starts_with(expected);
        if hit {
            self.pos += expected.len() + 2;
        }
        Ok(hit)
    }

    /// [`Scanner::scalar`] where a number is expected: one that starts with
    /// a digit is read inline, without the general dispatch.
    #[inline]
    pub(crate) fn number_first(&mut self) -> Scan<Option<Scalar<'a>>> {
        match self.peek()? {
            b'0'..=b'9' => self.number().map(Some),
            _ => self.scalar(),
        }
    }

    /// A non-negative integer that fits a `u64`.
    #[inline]
    pub(crate) fn u64(&mut self) -> Scan<Option<u64>> {
        Ok(match self.number_first()? {
            Some(Scalar::U64(n)) => Some(n),
            _ => None,
        })
    }

    /// An integer that fits an `i64`.
    #[inline]
    pub(crate) fn i64(&mut self) -> Scan<Option<i64>> {
        Ok(match self.number_first()? {
            Some(Scalar::I64(n)) => Some(n),
            Some(Scalar::U64(n)) => i64::try_from(n).ok(),
            _ => None,
        })
    }

    /// `true` or `false`.
    #[inline]
    pub(crate) fn bool(&mut self) -> Scan<Option<bool>> {
        Ok(match self.scalar()? {
            Some(Scalar::Bool(b)) => Some(b),
            _ => None,
        })
    }

    /// An error `code`: a string, or a number rendered in decimal
    /// (OpenRouter sends `502`).
    pub(crate) fn code(&mut self) -> Scan<Option<String>> {
        Ok(match self.scalar()? {
            Some(Scalar::Str(s)) => Some(s.into_owned()),
            Some(Scalar::U64(n)) => Some(n.to_string()),
            Some(Scalar::I64(n)) => Some(n.to_string()),
            Some(Scalar::F64(n)) if n.is_finite() => Some(n.to_string()),
            _ => None,
        })
    }

    /// At `false`, `null` or `true`: consumes `word`, the literal expected.
    #[inline]
    fn word(&mut self, word: &[u8]) -> Scan<()> {
        if self.bytes[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(Reject)
        }
    }

    // --- text fields ---

    /// A text field: a string read with the skipping rules, borrowed unless
    /// it has escapes, lone surrogates replaced; `None` for any other value
    /// (skipped).
    #[inline]
    pub(crate) fn text(&mut self) -> Scan<Option<Cow<'a, str>>> {
        if self.peek()? != b'"' {
            return self.skip_value().map(|()| None);
        }
        let (body, escaped) = self.text_string(&mut Skip)?;
        Ok(Some(if escaped { Cow::Owned(text::unescape(body)) } else { Cow::Borrowed(body) }))
    }

    /// [`Scanner::text`] for a string (`None` for any other value, not
    /// skipped), giving the raw body and whether it has escapes; with
    /// escapes, it is also unescaped into `out` (cleared first), leniently,
    /// in the same pass.
    #[inline]
    pub(crate) fn text_into(&mut self, out: &mut String) -> Scan<Option<(&'a str, bool)>> {
        if self.peek()? != b'"' {
            return Ok(None);
        }
        self.text_string(out).map(Some)
    }

    /// At a text field's opening quote: reads the string (its body with
    /// escapes to `out`), notes where the body was for [`crate::Parser`],
    /// and returns the raw body and whether it has escapes.
    #[inline]
    fn text_string<O: Unescaped>(&mut self, out: &mut O) -> Scan<(&'a str, bool)> {
        debug_assert_eq!(self.bytes[self.pos], b'"');
        self.pos += 1;
        let start = self.pos;
        let escaped = self.read_string(out)?;
        // The closing quote.
        let end = self.pos - 1;
        self.texts += 1;
        self.text_body = start..end;
        Ok((&self.src[start..end], escaped))
    }

    // --- numbers ---

    /// Reads a number as serde_json does: a `u64` if it is a non-negative
    /// integer that fits, an `i64` if a negative one fits, else an `f64`
    /// (rejected if it overflows).
    #[inline]
    fn number(&mut self) -> Scan<Scalar<'a>> {
        // Read inline: a plain integer (no sign, fraction or exponent) of up
        // to 19 digits, which cannot overflow. `created`, `index` and the
        // token counts are. Measured (callgrind, R1 bench stream):
        // `number_slow` alone costs `parse` 13 to 14 % more instructions,
        // the pipeline 0.4 to 0.5 %. `get`: the input may end after the
        // digits.
        let start = self.pos;
        let mut at = start;
        let mut n = 0u64;
        while let Some(&d @ b'0'..=b'9') = self.bytes.get(at) {
            n = n.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
            at += 1;
        }
        let digits = at - start;
        let plain = (1..=19).contains(&digits)
            && (digits == 1 || self.bytes[start] != b'0')
            && !matches!(self.bytes.get(at), Some(b'.' | b'e' | b'E'));
        if plain {
            self.pos = at;
            return Ok(Scalar::U64(n));
        }
        self.number_slow()
    }

    /// [`Scanner::number`] for everything else, through serde_json's own
    /// conversion, so the value (and whether it is out of range) is exactly
    /// what it would have produced.
    #[cold]
    fn number_slow(&mut self) -> Scan<Scalar<'a>> {
        let start = self.pos;
        self.number_syntax()?;
        let n: serde_json::Number = self.src[start..self.pos].parse().map_err(|_| Reject)?;
        Ok(if let Some(n) = n.as_u64() {
            Scalar::U64(n)
        } else if let Some(n) = n.as_i64() {
            Scalar::I64(n)
        } else {
            Scalar::F64(n.as_f64().ok_or(Reject)?)
        })
    }

    /// Consumes a number's syntax: `[ minus ] int [ frac ] [ exp ]`.
    #[inline]
    fn number_syntax(&mut self) -> Scan<()> {
        // `get` throughout: the input may end after any digit.
        let bytes = self.bytes;
        let mut at = self.pos;
        if bytes.get(at) == Some(&b'-') {
            at += 1;
        }
        // int = zero / ( digit1-9 *DIGIT )
        match bytes.get(at) {
            Some(b'0') => {
                at += 1;
                if matches!(bytes.get(at), Some(b'0'..=b'9')) {
                    return Err(Reject);
                }
            }
            Some(b'1'..=b'9') => at = digits(bytes, at)?,
            _ => return Err(Reject),
        }
        // frac = decimal-point 1*DIGIT
        if bytes.get(at) == Some(&b'.') {
            at = digits(bytes, at + 1)?;
        }
        // exp = e [ minus / plus ] 1*DIGIT
        if matches!(bytes.get(at), Some(b'e' | b'E')) {
            at += 1;
            if matches!(bytes.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            at = digits(bytes, at)?;
        }
        self.pos = at;
        Ok(())
    }

    // --- strings ---

    /// After the opening quote: a string read as serde_json reads one,
    /// borrowed unless it has escapes; a lone surrogate escape rejects.
    #[inline]
    fn string(&mut self) -> Scan<Cow<'a, str>> {
        let start = self.pos;
        let end = find_special(self.bytes, start);
        // The common case, kept small enough to inline: no escape. `get`:
        // the input may end inside the string.
        if self.bytes.get(end) == Some(&b'"') {
            self.pos = end + 1;
            return Ok(Cow::Borrowed(&self.src[start..end]));
        }
        self.escaped_string(start)
    }

    /// [`Scanner::string`] from the start of the body (`start`) when its
    /// first special byte is not the closing quote: it has an escape, or it
    /// is an error.
    #[cold]
    #[inline(never)]
    fn escaped_string(&mut self, start: usize) -> Scan<Cow<'a, str>> {
        self.pos = start;
        let mut out = Strict(String::new());
        if self.read_string(&mut out)? {
            Ok(Cow::Owned(out.0))
        } else {
            Ok(Cow::Borrowed(&self.src[start..self.pos - 1]))
        }
    }

    /// After the opening quote: moves past the closing quote, checking
    /// escapes' syntax and that no control character is raw. Returns whether
    /// there was an escape.
    #[inline]
    fn skip_string(&mut self) -> Scan<bool> {
        self.read_string(&mut Skip)
    }

    /// [`Scanner::skip_string`], giving the body to `out` as it goes when it
    /// has escapes: one pass both checks and unescapes it.
    #[inline]
    fn read_string<O: Unescaped>(&mut self, out: &mut O) -> Scan<bool> {
        let (bytes, src) = (self.bytes, self.src);
        let mut escaped = false;
        // Where the body's text not yet given to `out` starts. Escapes and
        // quotes are ASCII, so it and `at` are character boundaries.
        let mut plain = self.pos;
        loop {
            let at = find_special(bytes, self.pos);
            // `get`: the input may end inside the string.
            match bytes.get(at) {
                Some(b'"') => {
                    if escaped {
                        out.plain(&src[plain..at]);
                    }
                    self.pos = at + 1;
                    return Ok(escaped);
                }
                Some(b'\\') => {
                    let (ch, used) = text::escape_at(bytes, at).ok_or(Reject)?;
                    if !escaped {
                        escaped = true;
                        out.start();
                    }
                    out.plain(&src[plain..at]);
                    out.escape(ch)?;
                    self.pos = at + used;
                    plain = self.pos;
                }
                // A raw control character, or the end of the input.
                _ => return Err(Reject),
            }
        }
    }

    // --- skipping ---

    /// Skips one value, checking its syntax only (serde_json's
    /// `IgnoredAny`): strings may hold lone surrogates and numbers may
    /// overflow. Iterative, whatever the depth: see [`Skipping`].
    pub(crate) fn skip_value(&mut self) -> Scan<()> {
        // The values skipped in every chunk (`system_fingerprint`,
        // `logprobs: null`) are scalars: read without setting up the states.
        // Measured (callgrind, R1 bench stream): without this, `parse` costs
        // 1.5 to 2.2 % more instructions.
        match self.peek()? {
            b'"' => {
                self.pos += 1;
                return self.skip_string().map(drop);
            }
            b'n' => return self.word(b"null"),
            _ => {}
        }
        let mut nesting = Nesting::default();
        let mut next = Skipping::Value;
        loop {
            next = match next {
                Skipping::Value => self.skip_value_start(&mut nesting)?,
                Skipping::AfterValue => match nesting.innermost() {
                    None => return Ok(()),
                    Some(object) => self.skip_after_value(object, &mut nesting)?,
                },
            };
        }
    }

    /// In [`Skipping::Value`]: a scalar, or an empty container, whole; or
    /// the start of a container, with its first key in an object.
    #[inline]
    fn skip_value_start(&mut self, nesting: &mut Nesting) -> Scan<Skipping> {
        match self.peek()? {
            b'"' => {
                self.pos += 1;
                self.skip_string()?;
            }
            b'n' => self.word(b"null")?,
            b't' => self.word(b"true")?,
            b'f' => self.word(b"false")?,
            b'-' | b'0'..=b'9' => self.number_syntax()?,
            open @ (b'[' | b'{') => {
                self.pos += 1;
                let object = open == b'{';
                let close = if object { b'}' } else { b']' };
                if self.peek()? == close {
                    self.pos += 1;
                } else {
                    nesting.push(object);
                    if object {
                        self.skip_key()?;
                    }
                    return Ok(Skipping::Value);
                }
            }
            _ => return Err(Reject),
        }
        Ok(Skipping::AfterValue)
    }

    /// In [`Skipping::AfterValue`], inside an object (`object`) or an array:
    /// a `,` and the next key, if any, or the end of the container.
    fn skip_after_value(&mut self, object: bool, nesting: &mut Nesting) -> Scan<Skipping> {
        match (self.peek()?, object) {
            (b',', _) => {
                self.pos += 1;
                if object {
                    self.skip_key()?;
                }
                Ok(Skipping::Value)
            }
            (b'}', true) | (b']', false) => {
                self.pos += 1;
                nesting.pop();
                Ok(Skipping::AfterValue)
            }
            _ => Err(Reject),
        }
    }

    /// A key being skipped, with its `:`.
    fn skip_key(&mut self) -> Scan<()> {
        self.expect(b'"')?;
        self.skip_string()?;
        self.expect(b':')
    }

    /// Skips a value where a type that is not this value's kind was
    /// expected: an object's keys are read as keys (so checked as strings)
    /// and its values skipped; an array is skipped; a scalar is read (so
    /// checked) and dropped.
    fn skip_other(&mut self) -> Scan<()> {
        match self.peek()? {
            b'{' => {
                self.pos += 1;
                let mut first = true;
                while self.key(&mut first)?.is_some() {
                    self.skip_value()?;
                }
                Ok(())
            }
            b'[' => self.skip_value(),
            _ => self.scalar().map(drop),
        }
    }
}

/// `1*DIGIT` from `bytes[at]` on: the index after the digits.
#[inline]
fn digits(bytes: &[u8], at: usize) -> Scan<usize> {
    let len = bytes[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    if len == 0 { Err(Reject) } else { Ok(at + len) }
}

/// What [`Scanner::skip_value`] expects next.
///
/// ```text
///          a scalar, or an empty container
///   Value ─────────────────────────────────▶ AfterValue ── depth 0 ──▶ (done)
///   │  ▲  ▲                                     │      │  ▲
///   └──┘  └── `,`, and a key in an object ──────┘      └──┘ `]` or `}` closes
///   `[`, or `{` and its first key,                          the innermost
///   opens a container                                       container
/// ```
///
/// The open containers are a [`Nesting`], so skipping does not recurse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skipping {
    /// A value, or the first one of a container just opened.
    Value,
    /// A `,` or the end of the innermost container; nothing at depth 0.
    AfterValue,
}

/// Nesting of the containers being skipped: one bit per level, set for an
/// object. The first 64 levels live in a word; deeper ones spill to a `Vec`
/// (which allocates only then).
#[derive(Debug, Default)]
struct Nesting {
    depth: usize,
    word: u64,
    spill: Vec<u64>,
}

// === impl Nesting ===

impl Nesting {
    /// Opens a container: an object or an array.
    fn push(&mut self, object: bool) {
        let (word, bit) = (self.depth / 64, self.depth % 64);
        let slot = if word == 0 {
            &mut self.word
        } else {
            // Levels are pushed one at a time: a new word is the next one.
            debug_assert!(self.spill.len() >= word - 1);
            if self.spill.len() < word {
                self.spill.push(0);
            }
            &mut self.spill[word - 1]
        };
        if object {
            *slot |= 1 << bit;
        } else {
            *slot &= !(1 << bit);
        }
        self.depth += 1;
    }

    /// Whether the innermost open container is an object; `None` at depth 0.
    fn innermost(&self) -> Option<bool> {
        let level = self.depth.checked_sub(1)?;
        let (word, bit) = (level / 64, level % 64);
        let slot = if word == 0 { self.word } else { self.spill[word - 1] };
        Some(slot >> bit & 1 == 1)
    }

    /// Closes the innermost container.
    fn pop(&mut self) {
        debug_assert!(self.depth > 0);
        self.depth -= 1;
    }
}

/// Where [`Scanner::read_string`] puts a string body with escapes.
trait Unescaped {
    /// The body has an escape: its text starts now.
    fn start(&mut self);
    /// Text between escapes, as is.
    fn plain(&mut self, text: &str);
    /// An escape's character; `None` for a lone surrogate, which this reader
    /// may reject.
    fn escape(&mut self, ch: Option<char>) -> Scan<()>;
}

/// Only checking, as a skipped value is: the text goes nowhere.
struct Skip;

impl Unescaped for Skip {
    #[inline]
    fn start(&mut self) {}
    #[inline]
    fn plain(&mut self, _: &str) {}
    #[inline]
    fn escape(&mut self, _: Option<char>) -> Scan<()> {
        Ok(())
    }
}

/// Leniently unescaped, as a text field is: a lone surrogate becomes
/// U+FFFD.
impl Unescaped for String {
    #[inline]
    fn start(&mut self) {
        self.clear();
    }
    #[inline]
    fn plain(&mut self, text: &str) {
        self.push_str(text);
    }
    #[inline]
    fn escape(&mut self, ch: Option<char>) -> Scan<()> {
        self.push(ch.unwrap_or(char::REPLACEMENT_CHARACTER));
        Ok(())
    }
}

/// Strictly unescaped, as serde_json reads a string: a lone surrogate
/// rejects.
struct Strict(String);

impl Unescaped for Strict {
    #[inline]
    fn start(&mut self) {
        self.0.clear();
    }
    #[inline]
    fn plain(&mut self, text: &str) {
        self.0.push_str(text);
    }
    #[inline]
    fn escape(&mut self, ch: Option<char>) -> Scan<()> {
        self.0.push(ch.ok_or(Reject)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skip(json: &str) -> Scan<()> {
        let mut s = Scanner::new(json);
        s.skip_value()?;
        s.finish()
    }

    #[test]
    fn skip_accepts_what_ignored_any_accepts() {
        for ok in [
            "null",
            " true ",
            "false",
            "0",
            "-0",
            "1.5e-3",
            "1E400",
            r#""\ud800""#,
            "[]",
            "{}",
            r#"[1,{"a":[{}]},"x",[[]]]"#,
            r#"{"a" : 1 , "b":{"c":[null]}}"#,
            // Empty containers in every place, and whitespace around each
            // token: every transition of `Skipping`.
            "[[],{},[[]],{\"a\":{}}]",
            " [ ] ",
            " { } ",
            "[ 1 , [ ] , { \"k\" : [ { } ] } ]",
            r#"{"a":[],"b":{},"c":"\ud800"}"#,
        ] {
            assert_eq!(skip(ok), Ok(()), "{ok}");
            assert!(serde_json::from_str::<serde::de::IgnoredAny>(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "nul",
            "tru",
            "01",
            "-",
            "1.",
            "1e",
            "+1",
            ".5",
            "[1,]",
            "{,}",
            r#"{"a":1,}"#,
            r#"{"a"}"#,
            "[1 2]",
            r#"{"a":1 "b":2}"#,
            "[}",
            "{]",
            r#""\x""#,
            r#""\u12""#,
            "\"a\u{1}\"",
            "\"abc",
            "[",
            "{",
            "[1",
            r#"{"a":"#,
            "1 2",
            "[[]",
            "[{}",
            r#"{"a":[}"#,
            r#"{"a":{]}"#,
            "[1}",
            r#"{"a":1]"#,
            r#"{"a":[],}"#,
            "[{},]",
            r#"{1:2}"#,
        ] {
            assert_eq!(skip(bad), Err(Reject), "{bad:?}");
            assert!(serde_json::from_str::<serde::de::IgnoredAny>(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn deep_nesting_spills_and_unwinds() {
        let deep = format!("{}1{}", "[{\"k\":".repeat(200), "}]".repeat(200));
        assert_eq!(skip(&deep), Ok(()));
        let wrong = format!("{}1{}", "[{\"k\":".repeat(200), "]}".repeat(200));
        assert_eq!(skip(&wrong), Err(Reject));
    }

    #[test]
    fn numbers_read_as_serde_json_does() {
        fn read(json: &str) -> Scan<Option<Scalar<'_>>> {
            Scanner::new(json).scalar()
        }
        assert!(matches!(read("18446744073709551615"), Ok(Some(Scalar::U64(u64::MAX)))));
        assert!(matches!(read("18446744073709551616"), Ok(Some(Scalar::F64(_)))));
        assert!(matches!(read("-5"), Ok(Some(Scalar::I64(-5)))));
        assert!(matches!(read("-0"), Ok(Some(Scalar::F64(z))) if z == 0.0));
        assert!(matches!(read("1e2"), Ok(Some(Scalar::F64(z))) if z == 100.0));
        assert_eq!(read("1e400").err(), Some(Reject));
        assert!(matches!(read("0e400"), Ok(Some(Scalar::F64(_)))));
    }

    #[test]
    fn strict_strings_reject_lone_surrogates() {
        fn read(json: &str) -> Scan<Option<Cow<'_, str>>> {
            Scanner::new(json).str()
        }
        assert_eq!(read(r#""a\u00e9\ud83d\ude42""#).unwrap().as_deref(), Some("aé🙂"));
        assert!(matches!(read(r#""plain""#), Ok(Some(Cow::Borrowed("plain")))));
        for bad in [r#""\ud800""#, r#""\udc00""#, r#""\ud800\n""#, r#""\ud800\u0041""#] {
            assert_eq!(read(bad), Err(Reject), "{bad}");
            assert!(serde_json::from_str::<String>(bad).is_err(), "{bad}");
        }
        // Text fields replace them instead.
        let text = Scanner::new(r#""a\ud800b""#).text().unwrap();
        assert_eq!(text.as_deref(), Some("a\u{fffd}b"));
    }

    // Ported from the serde_json-driven `de.rs`: the lenient reads.

    fn all<'a, T>(json: &'a str, read: impl FnOnce(&mut Scanner<'a>) -> Scan<T>) -> T {
        let mut s = Scanner::new(json);
        let value = read(&mut s).expect("valid json");
        s.finish().expect("nothing after the value");
        value
    }

    #[test]
    fn null_is_none_for_every_type() {
        assert_eq!(all("null", Scanner::str), None);
        assert_eq!(all("null", Scanner::u64), None);
        assert_eq!(all("null", Scanner::bool), None);
        assert_eq!(all("null", Scanner::text), None);
        assert_eq!(all("null", Scanner::code), None);
    }

    #[test]
    fn type_mismatch_is_none_not_error() {
        assert_eq!(all(r#""12""#, Scanner::u64), None);
        assert_eq!(all("-1", Scanner::u64), None);
        assert_eq!(all("1.5", Scanner::u64), None);
        assert_eq!(all("[true, {\"a\": [1]}]", Scanner::bool), None);
        assert_eq!(all(r#"{"a":"b","c":[1,2]}"#, Scanner::str), None);
        assert_eq!(all(r#"{"a":"b","c":[1,2]}"#, Scanner::text), None);
        assert_eq!(all("70000", |s| s.u64().map(|n| n.and_then(|n| u16::try_from(n).ok()))), None);
    }

    #[test]
    fn scalars_read() {
        assert_eq!(all("18446744073709551615", Scanner::u64), Some(u64::MAX));
        assert_eq!(all("-5", Scanner::i64), Some(-5));
        assert_eq!(all("18446744073709551615", Scanner::i64), None);
        assert_eq!(all("false", Scanner::bool), Some(false));
        assert_eq!(all(" 400 ", Scanner::u64), Some(400));
    }

    #[test]
    fn code_is_string_or_decimal_number() {
        assert_eq!(all(r#""server_error""#, Scanner::code).as_deref(), Some("server_error"));
        assert_eq!(all("502", Scanner::code).as_deref(), Some("502"));
        assert_eq!(all("-1", Scanner::code).as_deref(), Some("-1"));
        assert_eq!(all("1.5", Scanner::code).as_deref(), Some("1.5"));
        assert_eq!(all("true", Scanner::code), None);
    }

    #[test]
    fn strings_borrow_without_escapes() {
        assert!(matches!(all(r#""plain""#, Scanner::str), Some(Cow::Borrowed("plain"))));
        let s = all(r#""a\tb""#, Scanner::str).unwrap();
        assert!(matches!(s, Cow::Owned(_)));
        assert_eq!(s, "a\tb");
    }

    #[test]
    fn escaped_key_is_still_matched() {
        let mut s = Scanner::new(r#"{"\u0069d":1}"#);
        assert!(s.object().unwrap());
        let key = s.key(&mut true).unwrap().unwrap();
        assert_eq!(key.as_bytes(), b"id");
        assert!(matches!(key.into_str(), Cow::Owned(k) if k == "id"));
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum F {
        Id,
        Long,
        Other,
    }

    const KNOWN: &[Known<F>] =
        &[Known::new(b"id", F::Id), Known::new(b"system_fingerprint", F::Long)];

    /// Every key of one object, matched by [`Scanner::field`].
    fn fields(json: &str) -> Scan<Vec<F>> {
        let mut s = Scanner::new(json);
        assert!(s.object()?);
        let mut out = Vec::new();
        let mut first = true;
        while let Some(f) = s.field(&mut first, KNOWN, F::Other)? {
            out.push(f);
            s.skip_value()?;
        }
        s.finish()?;
        Ok(out)
    }

    #[test]
    fn field_matches_as_key_does() {
        use F::{Id, Long, Other};
        for (json, want) in [
            // Recognised in place, also at the very end.
            (r#"{"id":1,"system_fingerprint":2,"x":3}"#, vec![Id, Long, Other]),
            (r#"{"id":1}"#, vec![Id]),
            (r#"{"system_fingerprint":1}"#, vec![Long]),
            // Prefixes and extensions of known keys are other keys.
            (r#"{"i":1,"idx":2,"ids":3,"id_":4,"system_fingerprin":5}"#, vec![Other; 5]),
            (r#"{"system_fingerprints":1,"system_fingerprinT":2}"#, vec![Other, Other]),
            // Escaped spellings and whitespace take the slow path.
            (r#"{"\u0069d":1,"system_\u0066ingerprint":2}"#, vec![Id, Long]),
            (r#"{ "id" : 1 , "system_fingerprint"  :2}"#, vec![Id, Long]),
            (r#"{}"#, vec![]),
        ] {
            assert_eq!(fields(json), Ok(want), "{json}");
        }
        for bad in [
            r#"{"id"}"#,
            r#"{"id" 1}"#,
            r#"{"id":1,}"#,
            r#"{"id":1 "id":2}"#,
            r#"{"\ud800":1,"id":2}"#,
            "{\"id\u{1}\":1}",
            r#"{"id"#,
        ] {
            assert_eq!(fields(bad), Err(Reject), "{bad}");
        }
    }

    #[test]
    fn eat_str_takes_only_the_exact_plain_string() {
        let mut s = Scanner::new(r#" "abc" "#);
        assert_eq!(s.eat_str(b"abc"), Ok(true));
        assert_eq!(s.finish(), Ok(()));
        for other in [r#""abcd""#, r#""ab""#, r#""a\u0062c""#, "null", r#""abc"#] {
            let mut s = Scanner::new(other);
            assert_eq!(s.eat_str(b"abc"), Ok(false), "{other}");
            assert_eq!(s.pos, 0, "{other}");
        }
    }

    #[test]
    fn object_keys_of_a_wrong_type_value_are_checked() {
        // serde_json reads the keys of an object it skips for a type mismatch
        // (and so rejects a lone surrogate there), but not deeper keys.
        let mut s = Scanner::new(r#"{"\ud800":1}"#);
        assert_eq!(s.str(), Err(Reject));
        assert_eq!(all(r#"{"a":{"\ud800":1}}"#, Scanner::str), None);
        assert_eq!(all(r#"["\ud800", 1e999]"#, Scanner::str), None);
    }
}
