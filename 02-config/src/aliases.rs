//! A bound on what YAML aliases may expand to.
//!
//! An alias (`*name`) repeats the node its anchor (`&name`) marked, and an anchored
//! node may itself hold aliases: ten aliases of a node that holds a hundred aliases
//! of a thousand scalars is a million nodes, written in 2 KB (the "billion laughs"
//! attack, named after its classic XML form). serde_yaml's own guard counts the
//! alias *jumps* (at most 100 for each event of the document), not the nodes a jump
//! replays, so such a document passes it and takes hundreds of megabytes as a
//! `serde_yaml::Value`, and one more level takes tens of gigabytes.
//!
//! So before building the tree, a document that uses aliases at all is walked once
//! with a visitor that builds nothing and only counts nodes, and is refused when
//! the count passes [`node_budget`]. Text without aliases has at most about one
//! node per byte, so the budget, eight nodes per byte of text plus a floor, never
//! refuses a document for its size; it refuses only expansion.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess};
use serde::de::{VariantAccess, Visitor};

// ANCHOR: node_budget
/// How many nodes a document of `text` may expand to: eight per byte, and at
/// least 10,000 so that a small file may still reuse a section many times.
pub(crate) fn node_budget(text: &str) -> usize {
    10_000_usize.saturating_add(text.len().saturating_mul(8))
}

/// Checks that `text`, with its aliases expanded, has at most [`node_budget`]
/// nodes, without building it. `Ok` for text without aliases, which cannot
/// expand; an error for anything serde_yaml's own parse would refuse too.
pub(crate) fn check_expansion(text: &str) -> Result<(), serde_yaml::Error> {
    if !text.contains('*') {
        return Ok(()); // no alias
    }
    let budget = node_budget(text);
    let mut left = budget;
    Count {
        left: &mut left,
        budget,
    }
    .deserialize(serde_yaml::Deserializer::from_str(text))
}
// ANCHOR_END: node_budget

/// Counts the nodes of one value and everything below it into `left`, failing
/// once there are more than the budget.
struct Count<'a> {
    /// Nodes still allowed.
    left: &'a mut usize,
    /// The whole budget, for the message.
    budget: usize,
}

impl Count<'_> {
    /// Counts one node.
    fn take<E: de::Error>(&mut self) -> Result<(), E> {
        match self.left.checked_sub(1) {
            Some(left) => {
                *self.left = left;
                Ok(())
            }
            None => Err(E::custom(format_args!(
                "aliases expand the document to more than {} nodes \
                 (eight for each byte of its text, plus 10,000)",
                self.budget
            ))),
        }
    }

    /// A counter for a child node, sharing this one's allowance.
    fn child(&mut self) -> Count<'_> {
        Count {
            left: &mut *self.left,
            budget: self.budget,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Count<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// Every node kind serde_yaml hands a `Value`'s visitor, each counted as one.
impl<'de> Visitor<'de> for Count<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(mut self, _: bool) -> Result<(), E> {
        self.take()
    }

    fn visit_i64<E: de::Error>(mut self, _: i64) -> Result<(), E> {
        self.take()
    }

    fn visit_i128<E: de::Error>(mut self, _: i128) -> Result<(), E> {
        self.take()
    }

    fn visit_u64<E: de::Error>(mut self, _: u64) -> Result<(), E> {
        self.take()
    }

    fn visit_u128<E: de::Error>(mut self, _: u128) -> Result<(), E> {
        self.take()
    }

    fn visit_f64<E: de::Error>(mut self, _: f64) -> Result<(), E> {
        self.take()
    }

    fn visit_str<E: de::Error>(mut self, _: &str) -> Result<(), E> {
        self.take()
    }

    fn visit_bytes<E: de::Error>(mut self, _: &[u8]) -> Result<(), E> {
        self.take()
    }

    fn visit_unit<E: de::Error>(mut self) -> Result<(), E> {
        self.take()
    }

    fn visit_none<E: de::Error>(mut self) -> Result<(), E> {
        self.take()
    }

    fn visit_some<D: Deserializer<'de>>(mut self, deserializer: D) -> Result<(), D::Error> {
        self.take()?;
        self.child().deserialize(deserializer)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        mut self,
        deserializer: D,
    ) -> Result<(), D::Error> {
        self.take()?;
        self.child().deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        self.take()?;
        while seq.next_element_seed(self.child())?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        self.take()?;
        while map.next_key_seed(self.child())?.is_some() {
            map.next_value_seed(self.child())?;
        }
        Ok(())
    }

    /// A tagged node (`!tag value`): the tag, then the value.
    fn visit_enum<A: EnumAccess<'de>>(mut self, data: A) -> Result<(), A::Error> {
        self.take()?;
        let ((), contents) = data.variant_seed(self.child())?;
        contents.newtype_variant_seed(self.child())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_counts_once_and_aliases_count_what_they_repeat() {
        let count = |text: &str| {
            let mut left = usize::MAX;
            Count {
                left: &mut left,
                budget: 0,
            }
            .deserialize(serde_yaml::Deserializer::from_str(text))
            .unwrap();
            usize::MAX - left
        };
        // mapping, two keys, a sequence of two, a null
        assert_eq!(count("a: [1, x]\nb:\n"), 1 + 2 + 1 + 2 + 1);
        // a tagged node: itself, its tag, its value
        assert_eq!(count("a: !t 1\n"), 1 + 1 + 3);
        // `*s` repeats the three nodes of `[1, 2]`
        assert_eq!(count("a: &s [1, 2]\nb: *s\n"), 1 + 2 + 3 + 3);
    }

    #[test]
    fn malformed_text_is_the_parsers_error() {
        let err = check_expansion("a: *nowhere\n").unwrap_err();
        assert!(err.to_string().contains("unknown anchor"), "{err}");
    }
}
