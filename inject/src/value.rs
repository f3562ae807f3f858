//! The ordered value tree a manifest is read into and written from.
//!
//! Owns: [`Value`], a YAML/JSON value whose mappings keep their entries in the order they
//! were read (a `Vec` of pairs, so nothing is re-sorted and unrelated fields come back where
//! they were), its serde (de)serialisation, and the few lookups inject needs.
//! Never: reads or writes text itself (that is [`crate::stream`]), or interprets Kubernetes.
//!
//! Why our own tree and not `serde_json::Value`: keeping order there needs serde_json's
//! `preserve_order` feature, and serde_json is also in guillotine's own dependency graph,
//! so a workspace-wide build would unify that feature into the sidecar binary.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use std::fmt;

/// A YAML value as Kubernetes reads it (the JSON data model, plus non-string keys).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer above `i64::MAX`.
    UInt(u64),
    Float(f64),
    String(String),
    Seq(Vec<Value>),
    Map(Map),
}

/// A mapping in the order it was read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map(pub Vec<(Value, Value)>);

impl Value {
    pub fn str(text: &str) -> Value {
        Value::String(text.to_owned())
    }

    /// A sequence of strings.
    pub fn strings<S: AsRef<str>>(items: &[S]) -> Value {
        Value::Seq(items.iter().map(|item| Value::str(item.as_ref())).collect())
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(map) => Some(map),
            _ => None,
        }
    }

    pub fn as_map_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Map(map) => Some(map),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_seq_mut(&mut self) -> Option<&mut Vec<Value>> {
        match self {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// `self[key]` when `self` is a mapping with that string key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map().and_then(|map| map.get(key))
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.as_map_mut().and_then(|map| map.get_mut(key))
    }

    /// The string at `self[key]`, if it is one.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }
}

impl Map {
    fn position(&self, key: &str) -> Option<usize> {
        self.0.iter().position(|(k, _)| k.as_str() == Some(key))
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.position(key).map(|at| &self.0[at].1)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.position(key).map(|at| &mut self.0[at].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Replaces the value in place when the key exists, else appends the entry.
    pub fn set(&mut self, key: &str, value: Value) {
        match self.position(key) {
            Some(at) => self.0[at].1 = value,
            None => self.0.push((Value::str(key), value)),
        }
    }

    /// Replaces the value in place when the key exists, else inserts the entry right after
    /// `after` (or at the end when `after` is absent too).
    pub fn set_after(&mut self, key: &str, value: Value, after: &str) {
        match (self.position(key), self.position(after)) {
            (Some(at), _) => self.0[at].1 = value,
            (None, Some(at)) => self.0.insert(at + 1, (Value::str(key), value)),
            (None, None) => self.0.push((Value::str(key), value)),
        }
    }

    /// Replaces the value in place when the key exists, else inserts the entry right before
    /// `before` (or at the end when `before` is absent too).
    pub fn set_before(&mut self, key: &str, value: Value, before: &str) {
        match (self.position(key), self.position(before)) {
            (Some(at), _) => self.0[at].1 = value,
            (None, Some(at)) => self.0.insert(at, (Value::str(key), value)),
            (None, None) => self.0.push((Value::str(key), value)),
        }
    }

    /// Inserts the entry first (or replaces the value in place).
    pub fn set_first(&mut self, key: &str, value: Value) {
        match self.position(key) {
            Some(at) => self.0[at].1 = value,
            None => self.0.insert(0, (Value::str(key), value)),
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.position(key).map(|at| self.0.remove(at).1)
    }

    /// The mapping at `key`, created (appended, empty) when absent. `None` when the key
    /// holds something else.
    pub fn map_entry(&mut self, key: &str) -> Option<&mut Map> {
        if !self.contains_key(key) {
            self.0.push((Value::str(key), Value::Map(Map::default())));
        }
        self.get_mut(key).and_then(Value::as_map_mut)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(n) => serializer.serialize_i64(*n),
            Value::UInt(n) => serializer.serialize_u64(*n),
            Value::Float(x) => serializer.serialize_f64(*x),
            Value::String(s) => serializer.serialize_str(s),
            Value::Seq(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Map(map) => map.serialize(serializer),
        }
    }
}

impl Serialize for Map {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            out.serialize_entry(key, value)?;
        }
        out.end()
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Value::deserialize(deserializer)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Int(n))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(i64::try_from(n).map_or(Value::UInt(n), Value::Int))
    }

    fn visit_i128<E: de::Error>(self, n: i128) -> Result<Value, E> {
        i64::try_from(n)
            .map(Value::Int)
            .or_else(|_| u64::try_from(n).map(Value::UInt))
            .map_err(|_| E::custom(format!("the integer {n} does not fit in 64 bits")))
    }

    fn visit_u128<E: de::Error>(self, n: u128) -> Result<Value, E> {
        u64::try_from(n)
            .map(|n| self.visit_u64::<E>(n))
            .map_err(|_| E::custom(format!("the integer {n} does not fit in 64 bits")))?
    }

    fn visit_f64<E>(self, x: f64) -> Result<Value, E> {
        Ok(Value::Float(x))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::str(s))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::default();
        while let Some((key, value)) = access.next_entry()? {
            map.0.push((key, value));
        }
        Ok(Value::Map(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_after_inserts_beside_the_anchor_and_replaces_in_place() {
        let mut map = Map::default();
        map.set("name", Value::str("a"));
        map.set("image", Value::str("b"));
        map.set("ports", Value::Seq(vec![]));
        map.set_after("command", Value::str("c"), "image");
        let keys: Vec<_> = map.0.iter().filter_map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["name", "image", "command", "ports"]);
        map.set_after("name", Value::str("z"), "ports");
        assert_eq!(map.get_str_for_test("name"), Some("z"));
        assert_eq!(map.0.len(), 4);
    }

    impl Map {
        fn get_str_for_test(&self, key: &str) -> Option<&str> {
            self.get(key).and_then(Value::as_str)
        }
    }
}
