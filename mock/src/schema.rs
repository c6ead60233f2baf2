//! A JSON value that matches a JSON schema: the mock's answer to a `json_schema` response
//! format and its tool-call arguments.

use serde_json::{Map, Value, json};

/// How deep `$ref`s and nesting are followed before `null` is used (recursive schemas).
const MAX_DEPTH: usize = 16;

/// A deterministic value matching `schema`: objects get their required properties (all of
/// them when `all_properties`), strings `"mock"` (or the first `enum` value), numbers their
/// `minimum` (or 0 clamped to the range), arrays `minItems` items (at least one), `anyOf` /
/// `oneOf` their first choice, `$ref`s to `#/$defs/..` or `#/definitions/..` are followed.
pub(super) fn instance(schema: &Value, all_properties: bool) -> Value {
    Gen {
        root: schema,
        all_properties,
    }
    .value(schema, 0)
}

struct Gen<'a> {
    root: &'a Value,
    all_properties: bool,
}

impl Gen<'_> {
    fn value(&self, schema: &Value, depth: usize) -> Value {
        if depth > MAX_DEPTH {
            return Value::Null;
        }
        let Some(s) = schema.as_object() else {
            // `true` or an empty schema: anything goes.
            return json!("mock");
        };
        if let Some(target) = s.get("$ref").and_then(Value::as_str) {
            return match self.resolve(target) {
                Some(t) => self.value(t, depth + 1),
                None => Value::Null,
            };
        }
        if let Some(c) = s.get("const") {
            return c.clone();
        }
        if let Some(first) = s
            .get("enum")
            .and_then(Value::as_array)
            .and_then(|e| e.first())
        {
            return first.clone();
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(first) = s.get(key).and_then(Value::as_array).and_then(|a| {
                // Prefer a choice that is not `null`, so optional fields get a value.
                a.iter()
                    .find(|c| c.get("type").and_then(Value::as_str) != Some("null"))
                    .or_else(|| a.first())
            }) {
                return self.value(first, depth + 1);
            }
        }
        if let Some(all) = s.get("allOf").and_then(Value::as_array) {
            if let Some(first) = all.first() {
                return self.value(first, depth + 1);
            }
        }
        let kind = match s.get("type") {
            Some(Value::String(t)) => t.as_str(),
            Some(Value::Array(types)) => types
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .unwrap_or("null"),
            _ if s.contains_key("properties") => "object",
            _ if s.contains_key("items") => "array",
            _ => "string",
        };
        match kind {
            "object" => self.object(s, depth),
            "array" => {
                let n = s
                    .get("minItems")
                    .and_then(Value::as_u64)
                    .unwrap_or(1)
                    .clamp(1, 8);
                let item = s.get("items").unwrap_or(&Value::Bool(true));
                Value::Array((0..n).map(|_| self.value(item, depth + 1)).collect())
            }
            "integer" => json!(number(s).round() as i64),
            "number" => json!(number(s)),
            "boolean" => Value::Bool(true),
            "null" => Value::Null,
            _ => {
                let min = s.get("minLength").and_then(Value::as_u64).unwrap_or(0);
                let mut text = "mock".to_owned();
                while (text.len() as u64) < min.min(4096) {
                    text.push('k');
                }
                Value::String(text)
            }
        }
    }

    fn object(&self, s: &Map<String, Value>, depth: usize) -> Value {
        let mut out = Map::new();
        let Some(props) = s.get("properties").and_then(Value::as_object) else {
            return Value::Object(out);
        };
        let required: Vec<&str> = s
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (name, prop) in props {
            if self.all_properties || required.contains(&name.as_str()) {
                out.insert(name.clone(), self.value(prop, depth + 1));
            }
        }
        Value::Object(out)
    }

    /// The schema a local `$ref` (`#/...`) points to.
    fn resolve(&self, target: &str) -> Option<&Value> {
        let pointer = target.strip_prefix('#')?;
        self.root.pointer(pointer)
    }
}

/// A number within the schema's bounds: its minimum, else 0 moved into range.
fn number(s: &Map<String, Value>) -> f64 {
    let get = |k: &str| s.get(k).and_then(Value::as_f64);
    let min = get("minimum").or_else(|| get("exclusiveMinimum").map(|m| m + 1.0));
    let max = get("maximum").or_else(|| get("exclusiveMaximum").map(|m| m - 1.0));
    match (min, max) {
        (Some(lo), _) => lo,
        (None, Some(hi)) if hi < 0.0 => hi,
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_follow_the_schema() {
        let schema = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "age": {"type": "integer", "minimum": 3, "maximum": 9},
                "mood": {"enum": ["happy", "sad"]},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
                "pet": {"$ref": "#/$defs/Pet"},
                "note": {"type": ["string", "null"]},
                "opt": {"anyOf": [{"type": "null"}, {"type": "number", "maximum": -2}]}
            },
            "required": ["name", "age"],
            "$defs": {"Pet": {"type": "object", "properties": {"legs": {"type": "integer"}},
                              "required": ["legs"]}}
        });
        assert_eq!(instance(&schema, false), json!({"name": "mock", "age": 3}));
        assert_eq!(
            instance(&schema, true),
            json!({"name": "mock", "age": 3, "mood": "happy", "tags": ["mock", "mock"],
                   "pet": {"legs": 0}, "note": "mock", "opt": -2.0})
        );
        // A recursive schema ends.
        let rec = json!({"$ref": "#", "type": "object"});
        assert_eq!(instance(&rec, true), Value::Null);
    }
}
