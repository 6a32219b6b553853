//! Building a document's tree, where an integer beyond 64 bits is kept as a marker
//! instead of failing the whole document.
//!
//! serde_yaml's `Value` has no room for an integer that fits neither `i64` nor
//! `u64`, and its parser rejects the whole document when it meets one: a typo in
//! a section nobody reads, or in another program's section, stopped every load
//! with "invalid type: integer ... as u128, expected any YAML value". The tree
//! here is built by our own visitor, which does what serde_yaml's does except
//! for such an integer: it becomes a node tagged [`BEYOND_64_BITS`] holding the
//! digits, and only a variable that reads that node fails ([`beyond_64_bits`]).
//! A tag is also how the walk names nodes: see [`untagged`].

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess};
use serde::de::{VariantAccess, Visitor};
use serde_yaml::value::{Tag, TaggedValue};
use serde_yaml::{Mapping, Value};

/// The tag of the marker left where the text holds an integer beyond 64 bits.
pub(crate) const BEYOND_64_BITS: &str = "sylar-config/integer-beyond-64-bits";

/// Parses YAML text into a tree; see the module documentation.
pub(crate) fn parse_tree(text: &str) -> Result<Value, serde_yaml::Error> {
    Build.deserialize(serde_yaml::Deserializer::from_str(text))
}

// ANCHOR: beyond_64_bits
/// The digits of the first integer beyond 64 bits in `node` or below it, if any.
pub(crate) fn beyond_64_bits(node: &Value) -> Option<&str> {
    match node {
        Value::Tagged(tagged) if tagged.tag == Tag::new(BEYOND_64_BITS) => tagged.value.as_str(),
        Value::Tagged(tagged) => beyond_64_bits(&tagged.value),
        Value::Sequence(items) => items.iter().find_map(beyond_64_bits),
        Value::Mapping(mapping) => mapping
            .iter()
            .find_map(|(key, value)| beyond_64_bits(key).or_else(|| beyond_64_bits(value))),
        _ => None,
    }
}
// ANCHOR_END: beyond_64_bits

/// The node under any tags: the walk looks through a tag (`!tls {port: 1}`) to
/// name the keys of the mapping it marks.
pub(crate) fn untagged(mut node: &Value) -> &Value {
    while let Value::Tagged(tagged) = node {
        node = &tagged.value;
    }
    node
}

/// The marker for an integer beyond 64 bits.
fn marker(digits: String) -> Value {
    Value::Tagged(Box::new(TaggedValue {
        tag: Tag::new(BEYOND_64_BITS),
        value: Value::String(digits),
    }))
}

/// The visitor: serde_yaml's `Value` visitor, plus [`marker`].
struct Build;

impl<'de> DeserializeSeed<'de> for Build {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Build {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Number(i.into()))
    }

    fn visit_i128<E: de::Error>(self, i: i128) -> Result<Value, E> {
        Ok(i64::try_from(i).map_or_else(|_| marker(i.to_string()), |i| Value::Number(i.into())))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        Ok(Value::Number(u.into()))
    }

    fn visit_u128<E: de::Error>(self, u: u128) -> Result<Value, E> {
        Ok(u64::try_from(u).map_or_else(|_| marker(u.to_string()), |u| Value::Number(u.into())))
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Number(f.into()))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Build.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Build)? {
            items.push(item);
        }
        Ok(Value::Sequence(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut mapping = Mapping::new();
        while let Some(key) = map.next_key_seed(Build)? {
            if mapping.contains_key(&key) {
                // As serde_yaml's own visitor: a key twice is an error.
                return Err(de::Error::custom(format_args!(
                    "duplicate entry with key {}",
                    shown_key(&key)
                )));
            }
            let value = map.next_value_seed(Build)?;
            mapping.insert(key, value);
        }
        Ok(Value::Mapping(mapping))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (tag, contents) = data.variant::<String>()?;
        if tag.is_empty() {
            return Err(de::Error::custom("empty YAML tag is not allowed"));
        }
        let value = contents.newtype_variant_seed(Build)?;
        Ok(Value::Tagged(Box::new(TaggedValue {
            tag: Tag::new(tag),
            value,
        })))
    }
}

/// A key in a duplicate-key message.
fn shown_key(key: &Value) -> String {
    match key {
        Value::Null => "~".to_owned(),
        Value::Bool(flag) => format!("`{flag}`"),
        Value::Number(number) => number.to_string(),
        Value::String(text) => format!("{text:?}"),
        other => beyond_64_bits(other).map_or_else(|| "(not a scalar)".to_owned(), str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_is_serde_yamls_except_for_wide_integers() {
        for text in [
            "a: [1, -2, 1.5, x, ~, true]\nb: !t {c: 18446744073709551615}\n",
            "",
            "# only a comment\n",
            "---\n",
            "base: &b {x: 1, y: [2]}\nuse: *b\nmerged: {<<: *b, x: 3}\n",
            "s: |\n  two\n  lines\nq: 'quoted: yes'\nbin: 0x1f\nnan: .nan\n",
        ] {
            assert_eq!(
                parse_tree(text).unwrap(),
                serde_yaml::from_str::<Value>(text).unwrap(),
                "{text:?}"
            );
        }
        // Whatever serde_yaml refuses, the tree refuses too.
        for text in ["a: [1", "---\na: 1\n---\nb: 2\n", "a: *nowhere\n"] {
            assert!(parse_tree(text).is_err(), "{text:?}");
            assert!(serde_yaml::from_str::<Value>(text).is_err(), "{text:?}");
        }
        let tree =
            parse_tree("a: {b: [1, 18446744073709551616]}\nc: -9223372036854775809\n").unwrap();
        assert_eq!(beyond_64_bits(&tree["a"]), Some("18446744073709551616"));
        assert_eq!(beyond_64_bits(&tree["c"]), Some("-9223372036854775809"));
        assert!(parse_tree("a: 1\na: 2\n").is_err(), "duplicate key");
    }
}
