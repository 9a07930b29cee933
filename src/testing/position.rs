//! Where a node of a YAML document is written: the line of a key or of a list
//! item, so test-file errors point at the place to fix.
//!
//! `serde_yaml::Value` keeps no positions, but serde_yaml attaches the
//! position of the node being read to an error raised while reading it. A
//! query therefore reads the document once more, walks the path with
//! visitors that skip everything else, and raises a marker error at the
//! node; the marker's location is the answer. Queries happen only when a
//! problem is reported, so reading again costs nothing that matters.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One step from a node to a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step<'a> {
    /// The value under this key of a map (the key itself when it is last).
    Key(&'a str),
    /// The item at this index of a list.
    Index(usize),
}

/// The marker raised at the node looked for.
const FOUND: &str = "\u{0}tripline-position-found";

/// The 1-based line of the node at `path` in `text` (for a last
/// [`Step::Key`], the line of the key), or `None` when there is no such node.
pub(crate) fn line_of(text: &str, path: &[Step]) -> Option<usize> {
    let deserializer = serde_yaml::Deserializer::from_str(text);
    match (Walk { path }).deserialize(deserializer) {
        Ok(()) => None,
        Err(error) if error.to_string().contains(FOUND) => {
            error.location().map(|location| location.line())
        }
        Err(_) => None,
    }
}

/// Reads one node, descending along `path`.
struct Walk<'a> {
    path: &'a [Step<'a>],
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Walk<'_> {
    /// At the node: every visit raises the marker, so the error carries the
    /// node's position.
    fn here<E: de::Error>(&self) -> Result<(), E> {
        if self.path.is_empty() {
            Err(E::custom(FOUND))
        } else {
            Ok(())
        }
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any YAML node")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.here()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.here()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.here()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.here()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.here()
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.here()
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.here()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.path.split_first() else {
            return Err(de::Error::custom(FOUND));
        };
        let Step::Index(index) = *first else {
            while items.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(());
        };
        for _ in 0..index {
            if items.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        items.next_element_seed(Walk { path: rest })?;
        while items.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.path.split_first() else {
            return Err(de::Error::custom(FOUND));
        };
        let Step::Key(wanted) = *first else {
            while entries.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(());
        };
        while let Some(matched) = entries.next_key_seed(Key {
            wanted,
            last: rest.is_empty(),
        })? {
            if matched {
                entries.next_value_seed(Walk { path: rest })?;
            } else {
                entries.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// Reads a map key: whether it is the one wanted, and the marker at the key
/// itself when the path ends there.
struct Key<'a> {
    wanted: &'a str,
    last: bool,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = bool;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a map key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        if key != self.wanted {
            Ok(false)
        } else if self.last {
            Err(E::custom(FOUND))
        } else {
            Ok(true)
        }
    }

    fn visit_bool<E: de::Error>(self, key: bool) -> Result<bool, E> {
        self.visit_str(&key.to_string())
    }

    fn visit_i64<E: de::Error>(self, key: i64) -> Result<bool, E> {
        self.visit_str(&key.to_string())
    }

    fn visit_u64<E: de::Error>(self, key: u64) -> Result<bool, E> {
        self.visit_str(&key.to_string())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<bool, A::Error> {
        while items.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<bool, A::Error> {
        while entries.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::{Step, line_of};

    const TEXT: &str = "\
rule: local.size
cases:
  - name: first
    expect: 1
    events:
      - { timestamp: \"2026-03-02T10:00:00Z\", ouput: x }
      - repeat: 2
        every: 30s
        event:
          timestamp: \"2026-03-02T10:00:00Z\"
          output_tokens: 5000
  - name: second
    defaults: &base { event_type: inference }
    expect: 0
  - name: third
    defaults: *base
    expect: 0
";

    #[test]
    fn finds_keys_items_and_nested_keys() {
        assert_eq!(line_of(TEXT, &[Step::Key("rule")]), Some(1));
        assert_eq!(line_of(TEXT, &[Step::Key("cases")]), Some(2));
        assert_eq!(
            line_of(TEXT, &[Step::Key("cases"), Step::Index(0)]),
            Some(3)
        );
        assert_eq!(
            line_of(TEXT, &[Step::Key("cases"), Step::Index(1)]),
            Some(12)
        );
        let events = [Step::Key("cases"), Step::Index(0), Step::Key("events")];
        assert_eq!(line_of(TEXT, &events), Some(5));
        let ouput = [
            Step::Key("cases"),
            Step::Index(0),
            Step::Key("events"),
            Step::Index(0),
            Step::Key("ouput"),
        ];
        assert_eq!(line_of(TEXT, &ouput), Some(6));
        let tokens = [
            Step::Key("cases"),
            Step::Index(0),
            Step::Key("events"),
            Step::Index(1),
            Step::Key("event"),
            Step::Key("output_tokens"),
        ];
        assert_eq!(line_of(TEXT, &tokens), Some(11));
        let expect = [Step::Key("cases"), Step::Index(2), Step::Key("expect")];
        assert_eq!(line_of(TEXT, &expect), Some(17));
    }

    #[test]
    fn an_alias_points_at_its_anchor_and_a_missing_node_at_nothing() {
        let aliased = [
            Step::Key("cases"),
            Step::Index(2),
            Step::Key("defaults"),
            Step::Key("event_type"),
        ];
        assert_eq!(line_of(TEXT, &aliased), Some(13));
        assert_eq!(line_of(TEXT, &[Step::Key("nothing")]), None);
        assert_eq!(line_of(TEXT, &[Step::Key("cases"), Step::Index(9)]), None);
        assert_eq!(line_of("rule: [", &[Step::Key("cases")]), None);
    }
}
