//! How a line's keys reach the projection's slots: the key lookup the fast
//! scanner of [`super::super::scan`] calls for every key, and the serde
//! visitor that fills the same slots for the lines the scanner leaves.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::Projection;
use crate::eval::event::Slot;
use crate::eval::scan::KeyUse;

impl Projection {
    /// What the fast path does with a key's value.
    #[inline]
    pub(super) fn key_use(&self, key: &str) -> KeyUse {
        match self.table.get(key) {
            Some(&slot) if self.fields[usize::from(slot)].materialize => KeyUse::Read(slot),
            Some(&slot) => KeyUse::Probe(slot),
            None => KeyUse::Skip,
        }
    }

    /// Reads a line into the slots with `serde_json` (the path for lines the
    /// fast scanner leaves).
    pub(super) fn read_with_serde(
        &self,
        line: &str,
        slots: &mut [Slot],
        text: &mut String,
    ) -> Result<(), serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_str(line);
        let visitor = EventVisitor {
            projection: self,
            slots,
            text,
        };
        deserializer
            .deserialize_map(visitor)
            .and_then(|()| deserializer.end())
    }
}

struct EventVisitor<'p, 's> {
    projection: &'p Projection,
    slots: &'s mut [Slot],
    text: &'s mut String,
}

impl<'de> Visitor<'de> for EventVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(KeySeed(self.projection))? {
            match key {
                Some((slot, true)) => {
                    let value = map.next_value_seed(ValueSeed { text: self.text })?;
                    self.slots[usize::from(slot)] = value;
                }
                Some((slot, false)) => {
                    let value = map.next_value_seed(ProbeSeed)?;
                    self.slots[usize::from(slot)] = value;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct KeySeed<'p>(&'p Projection);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<(u16, bool)>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<(u16, bool)>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a field name")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self
            .0
            .table
            .get(key)
            .map(|slot| (*slot, self.0.fields[usize::from(*slot)].materialize)))
    }
}

struct ValueSeed<'s> {
    text: &'s mut String,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Slot;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Slot, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Slot;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Slot, E> {
        Ok(Slot::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Slot, E> {
        Ok(Slot::Int(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Slot, E> {
        Ok(i64::try_from(value).map_or(Slot::Float(value as f64), Slot::Int))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Slot, E> {
        Ok(Slot::Float(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Slot, E> {
        let start = self.text.len() as u32;
        self.text.push_str(value);
        Ok(Slot::Str(start, self.text.len() as u32))
    }

    fn visit_unit<E>(self) -> Result<Slot, E> {
        Ok(Slot::Missing)
    }

    fn visit_none<E>(self) -> Result<Slot, E> {
        Ok(Slot::Missing)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Slot, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Slot::Composite)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Slot, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Slot::Composite)
    }
}

/// Records the JSON kind of a value the projection does not copy.
struct ProbeSeed;

impl<'de> DeserializeSeed<'de> for ProbeSeed {
    type Value = Slot;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Slot, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ProbeSeed {
    type Value = Slot;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Slot, E> {
        Ok(Slot::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Slot, E> {
        Ok(Slot::Int(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Slot, E> {
        Ok(i64::try_from(value).map_or(Slot::Float(value as f64), Slot::Int))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Slot, E> {
        Ok(Slot::Float(value))
    }

    fn visit_str<E>(self, _value: &str) -> Result<Slot, E> {
        Ok(Slot::Probed)
    }

    fn visit_unit<E>(self) -> Result<Slot, E> {
        Ok(Slot::Missing)
    }

    fn visit_none<E>(self) -> Result<Slot, E> {
        Ok(Slot::Missing)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Slot, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Slot::Composite)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Slot, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Slot::Composite)
    }
}
