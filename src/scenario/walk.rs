//! A JSON object walker that remembers where it is, so every error names its field path, and
//! which keys were read, so unknown keys can be rejected with a suggestion.

use super::{Result, ScenarioError};
use crate::sim::config::{Props, Scope};
use crate::sim::vec_map::VecSet;
use crate::suggest::closest;
use serde_json::{Map, Value};

/// An object being read at `path`.
pub(crate) struct Obj<'a> {
    path: String,
    map: &'a Map<String, Value>,
    seen: VecSet<String>,
}

fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A property value as Kafka would read it from a properties file.
pub(crate) fn scalar_text(v: &Value, path: &str) -> Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => {
            Err(ScenarioError::new(path, format!("expected a string, number or boolean, got {}", describe(other))))
        }
    }
}

impl<'a> Obj<'a> {
    fn at(value: &'a Value, path: String) -> Result<Obj<'a>> {
        match value {
            Value::Object(map) => Ok(Obj { path, map, seen: VecSet::new() }),
            other => Err(ScenarioError::new(
                if path.is_empty() { "(root)".into() } else { path },
                format!("expected an object, got {}", describe(other)),
            )),
        }
    }

    /// The top-level object.
    pub(crate) fn root(value: &'a Value) -> Result<Obj<'a>> {
        Obj::at(value, String::new())
    }

    /// The full path of `key` inside this object.
    pub(crate) fn path_of(&self, key: &str) -> String {
        match (self.path.is_empty(), key.is_empty()) {
            (true, _) => key.to_string(),
            (false, true) => self.path.clone(),
            (false, false) => format!("{}.{key}", self.path),
        }
    }

    /// Marks `key` as read without reading it.
    pub(crate) fn skip(&mut self, key: &str) {
        self.seen.insert(key.to_string());
    }

    /// The value at `key`, if present (null counts as present).
    pub(crate) fn opt(&mut self, key: &str) -> Option<&'a Value> {
        self.seen.insert(key.to_string());
        self.map.get(key)
    }

    /// The value at `key`, or a "required" error.
    pub(crate) fn req(&mut self, key: &str) -> Result<&'a Value> {
        self.opt(key).ok_or_else(|| ScenarioError::new(self.path_of(key), "required"))
    }

    fn int(&self, key: &str, v: &Value, min: u64, max: u64) -> Result<u64> {
        match v.as_u64() {
            Some(n) if (min..=max).contains(&n) => Ok(n),
            Some(n) => Err(ScenarioError::new(self.path_of(key), format!("{n} is outside [{min}, {max}]"))),
            None => Err(ScenarioError::new(
                self.path_of(key),
                format!("expected an integer in [{min}, {max}], got {}", describe(v)),
            )),
        }
    }

    /// An optional integer in `min..=max`.
    pub(crate) fn opt_u64(&mut self, key: &str, min: u64, max: u64) -> Result<Option<u64>> {
        match self.opt(key) {
            None => Ok(None),
            Some(v) => self.int(key, v, min, max).map(Some),
        }
    }

    /// A required integer in `min..=max`.
    pub(crate) fn req_u64(&mut self, key: &str, min: u64, max: u64) -> Result<u64> {
        let v = self.req(key)?;
        self.int(key, v, min, max)
    }

    /// An optional string.
    pub(crate) fn opt_str(&mut self, key: &str) -> Result<Option<&'a str>> {
        match self.opt(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(ScenarioError::new(self.path_of(key), format!("expected a string, got {}", describe(v)))),
        }
    }

    /// A required string.
    pub(crate) fn req_str(&mut self, key: &str) -> Result<&'a str> {
        self.opt_str(key)?.ok_or_else(|| ScenarioError::new(self.path_of(key), "required"))
    }

    /// An optional boolean.
    pub(crate) fn opt_bool(&mut self, key: &str) -> Result<Option<bool>> {
        match self.opt(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => {
                Err(ScenarioError::new(self.path_of(key), format!("expected true or false, got {}", describe(v))))
            }
        }
    }

    /// An optional nested object.
    pub(crate) fn opt_obj(&mut self, key: &str) -> Result<Option<Obj<'a>>> {
        let path = self.path_of(key);
        self.opt(key).map(|v| Obj::at(v, path)).transpose()
    }

    /// A nested object read a second time (its keys were already checked).
    pub(crate) fn reopen_obj(&self, key: &str) -> Result<Option<Obj<'a>>> {
        self.map.get(key).map(|v| Obj::at(v, self.path_of(key))).transpose()
    }

    /// A required nested object.
    pub(crate) fn req_obj(&mut self, key: &str) -> Result<Obj<'a>> {
        let path = self.path_of(key);
        Obj::at(self.req(key)?, path)
    }

    /// An optional array (empty when absent).
    pub(crate) fn opt_array(&mut self, key: &str) -> Result<&'a [Value]> {
        match self.opt(key) {
            None => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(v) => Err(ScenarioError::new(self.path_of(key), format!("expected an array, got {}", describe(v)))),
        }
    }

    /// An optional array of objects, each with its indexed path.
    pub(crate) fn opt_array_of_obj(&mut self, key: &str) -> Result<Vec<Obj<'a>>> {
        let base = self.path_of(key);
        self.opt_array(key)?.iter().enumerate().map(|(i, v)| Obj::at(v, format!("{base}[{i}]"))).collect()
    }

    /// An optional map of Kafka properties of `scope`, validated.
    pub(crate) fn opt_props(&mut self, key: &str, scope: Scope) -> Result<Props> {
        let mut props = Props::empty(scope);
        let Some(obj) = self.opt_obj(key)? else {
            return Ok(props);
        };
        for (name, value) in obj.map {
            let text = scalar_text(value, &format!("{}.\"{name}\"", obj.path))?;
            props.set(name, &text).map_err(|e| ScenarioError::new(&obj.path, e.to_string()))?;
        }
        Ok(props)
    }

    /// Rejects any key that was never read, suggesting the closest expected one.
    pub(crate) fn finish(self) -> Result<()> {
        let Some(unknown) = self.map.keys().find(|k| !self.seen.contains(*k)) else {
            return Ok(());
        };
        let hint = match closest(unknown, self.seen.iter().map(String::as_str)) {
            Some(s) => format!(" (did you mean {s:?}?)"),
            None => format!(" (expected one of: {})", self.seen.iter().cloned().collect::<Vec<_>>().join(", ")),
        };
        Err(ScenarioError::new(self.path_of(unknown), format!("unknown field{hint}")))
    }
}
