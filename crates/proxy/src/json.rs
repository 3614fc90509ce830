//! Ordered JSON objects whose untouched fields are copied byte for byte.
//!
//! `serde_json::Value` sorts object keys unless the `preserve_order` feature
//! is on, and that feature would change every crate in the build. The
//! normalizer only rewrites a few fields of a chunk, so it reads an object as
//! an ordered list of (key, raw value) pairs and writes the raw values back
//! verbatim: key order, number spelling and escapes survive.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// A JSON object as ordered fields, borrowing from the parsed text.
#[derive(Debug)]
pub(crate) struct RawObject<'a> {
    fields: Vec<(Cow<'a, str>, Field<'a>)>,
}

/// One field's value: borrowed raw JSON, or JSON text we wrote.
#[derive(Debug)]
pub(crate) enum Field<'a> {
    Raw(&'a RawValue),
    Owned(String),
}

impl Field<'_> {
    pub(crate) fn text(&self) -> &str {
        match self {
            Field::Raw(raw) => raw.get(),
            Field::Owned(text) => text,
        }
    }

    /// A JSON string field as text; `None` for anything else (also `null`).
    pub(crate) fn as_string(&self) -> Option<Cow<'_, str>> {
        let text = self.text();
        if !text.starts_with('"') {
            return None;
        }
        serde_json::from_str::<Cow<'_, str>>(text).ok()
    }

    pub(crate) fn is_null(&self) -> bool {
        self.text() == "null"
    }

    /// A JSON string value.
    pub(crate) fn string(s: &str) -> Field<'static> {
        Field::Owned(serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned()))
    }
}

impl<'a> RawObject<'a> {
    /// Parses `text` as one JSON object; `None` if it is anything else.
    pub(crate) fn parse(text: &'a str) -> Option<RawObject<'a>> {
        serde_json::from_str(text).ok()
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Field<'a>> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Replaces `key`'s value in place, or appends it.
    pub(crate) fn set(&mut self, key: &str, value: Field<'a>) {
        match self.fields.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value,
            None => self.fields.push((Cow::Owned(key.to_owned()), value)),
        }
    }

    /// Replaces `key`'s value in place, or inserts it right after `after`
    /// (or at the end when `after` is absent).
    pub(crate) fn set_after(&mut self, after: &str, key: &str, value: Field<'a>) {
        if let Some((_, v)) = self.fields.iter_mut().find(|(k, _)| k == key) {
            *v = value;
            return;
        }
        let at =
            self.fields.iter().position(|(k, _)| k == after).map_or(self.fields.len(), |i| i + 1);
        self.fields.insert(at, (Cow::Owned(key.to_owned()), value));
    }

    /// Writes the object as compact JSON (untouched values verbatim).
    pub(crate) fn write(&self, out: &mut String) {
        out.push('{');
        for (i, (key, value)) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match serde_json::to_string(key.as_ref()) {
                Ok(k) => out.push_str(&k),
                Err(_) => out.push_str("\"\""),
            }
            out.push(':');
            out.push_str(value.text());
        }
        out.push('}');
    }

    pub(crate) fn to_json(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }
}

/// Parses a raw JSON array into its raw elements.
pub(crate) fn raw_array(text: &str) -> Option<Vec<&RawValue>> {
    serde_json::from_str(text).ok()
}

/// Writes raw elements as a JSON array.
pub(crate) fn write_array(items: &[String]) -> String {
    let mut out = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item);
    }
    out.push(']');
    out
}

// === impl Deserialize ===

impl<'de: 'a, 'a> Deserialize<'de> for RawObject<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = RawObject<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut fields = Vec::new();
                while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                    let value: &'de RawValue = map.next_value()?;
                    fields.push((key, Field::Raw(value)));
                }
                Ok(RawObject { fields })
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// A key that borrows when the text has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_order_numbers_and_escapes() {
        let text = r#"{"z":1.50,"a":"\u003cthink\u003e","m":{"y":[1e3,2],"b":null},"k\"q":true}"#;
        let obj = RawObject::parse(text).unwrap();
        assert_eq!(obj.to_json(), text);
        assert_eq!(obj.get("a").unwrap().as_string().unwrap(), "<think>");
        assert!(obj.get("m").unwrap().as_string().is_none());
    }

    #[test]
    fn set_after_inserts_next_to_its_neighbour() {
        let mut obj =
            RawObject::parse(r#"{"role":"assistant","content":"x","refusal":null}"#).unwrap();
        obj.set("content", Field::string("y"));
        obj.set_after("content", "reasoning_content", Field::string("t"));
        assert_eq!(
            obj.to_json(),
            r#"{"role":"assistant","content":"y","reasoning_content":"t","refusal":null}"#
        );
    }

    #[test]
    fn not_an_object_is_none() {
        assert!(RawObject::parse("[1]").is_none());
        assert!(RawObject::parse("{\"a\":").is_none());
    }
}
