//! JSON schemas for structured outputs and tools: making a schema strict-compatible, naming
//! it, and (feature `schemars`) generating it from a Rust type.
//!
//! OpenAI's strict mode (`"strict": true`) accepts a subset of JSON Schema: every object has
//! `additionalProperties: false` and lists all its properties in `required` (optional values
//! are expressed as nullable types), `oneOf` is not supported (use `anyOf`), and a `$ref`
//! may not have sibling keywords. vLLM's structured-output backends accept such schemas too.
//! [`strict`] rewrites a schema that way; `schema_for` (feature `schemars`) does it for a type.

use serde_json::{Map, Value};

/// The `format` values OpenAI's strict mode accepts; others (schemars' `uint32`, `double`,
/// ...) are dropped, the `minimum`/`maximum` that come with them are kept.
const STRICT_FORMATS: &[&str] = &[
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];

/// How deep `$ref`s are inlined before one is left as a reference (recursive types).
const MAX_INLINE_DEPTH: usize = 32;

/// Rewrites `schema` in place for OpenAI's strict mode, recursively (definitions included):
///
/// - every object schema with `properties` gets `additionalProperties: false` (unless it
///   already has a schema there: a map type, which strict mode cannot express) and lists
///   every property in `required`;
/// - `oneOf` becomes `anyOf`; a `$ref` with sibling keywords is replaced by the definition it
///   points to, merged with them;
/// - `$schema`, `default` and `format`s strict mode does not know are removed.
///
/// ```
/// use serde_json::json;
/// let mut s = json!({
///     "type": "object",
///     "properties": {"a": {"type": "integer", "format": "int64"}, "b": {"type": ["string", "null"]}},
///     "required": ["a"]
/// });
/// oai_compat::schema::strict(&mut s);
/// assert_eq!(s, json!({
///     "type": "object",
///     "properties": {"a": {"type": "integer"}, "b": {"type": ["string", "null"]}},
///     "required": ["a", "b"],
///     "additionalProperties": false
/// }));
/// ```
pub fn strict(schema: &mut Value) {
    if let Some(obj) = schema.as_object_mut() {
        obj.remove("$schema");
    }
    let defs = definitions(schema);
    rewrite(schema, &defs, 0);
}

/// The schema's `$defs` and `definitions`, keyed by their `$ref` (`#/$defs/Name`).
fn definitions(schema: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    for key in ["$defs", "definitions"] {
        if let Some(defs) = schema.get(key).and_then(Value::as_object) {
            for (name, def) in defs {
                out.insert(format!("#/{key}/{name}"), def.clone());
            }
        }
    }
    out
}

fn rewrite(schema: &mut Value, defs: &Map<String, Value>, depth: usize) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    // A `$ref` with siblings: inline the definition under them.
    if obj.len() > 1 && depth < MAX_INLINE_DEPTH {
        if let Some(target) = obj.get("$ref").and_then(Value::as_str) {
            if let Some(Value::Object(def)) = defs.get(target) {
                let mut merged = def.clone();
                obj.remove("$ref");
                for (k, v) in std::mem::take(obj) {
                    merged.insert(k, v);
                }
                *obj = merged;
            }
        }
    }
    obj.remove("default");
    if obj
        .get("format")
        .and_then(Value::as_str)
        .is_some_and(|f| !STRICT_FORMATS.contains(&f))
    {
        obj.remove("format");
    }
    if let Some(one_of) = obj.remove("oneOf") {
        obj.insert("anyOf".to_owned(), one_of);
    }
    if let Some(Value::Object(props)) = obj.get("properties") {
        let names: Vec<Value> = props.keys().cloned().map(Value::String).collect();
        obj.insert("required".to_owned(), Value::Array(names));
        if !matches!(obj.get("additionalProperties"), Some(Value::Object(_))) {
            obj.insert("additionalProperties".to_owned(), Value::Bool(false));
        }
    }
    for (key, value) in obj.iter_mut() {
        match key.as_str() {
            // Maps of subschemas.
            "properties" | "$defs" | "definitions" | "patternProperties" => {
                if let Some(m) = value.as_object_mut() {
                    for sub in m.values_mut() {
                        rewrite(sub, defs, depth + 1);
                    }
                }
            }
            // Lists of subschemas.
            "anyOf" | "allOf" | "prefixItems" => {
                if let Some(list) = value.as_array_mut() {
                    for sub in list {
                        rewrite(sub, defs, depth + 1);
                    }
                }
            }
            // One subschema.
            "items" | "additionalProperties" | "not" | "contains" => {
                rewrite(value, defs, depth + 1)
            }
            _ => {}
        }
    }
}

/// A schema name as OpenAI accepts it: `a-z`, `A-Z`, `0-9`, `_` and `-`, at most 64
/// characters; anything else becomes `_`. An empty name becomes `"schema"`.
///
/// ```
/// assert_eq!(oai_compat::schema::name("Vec<Point>"), "Vec_Point_");
/// ```
pub fn name(raw: &str) -> String {
    let out: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if out.is_empty() {
        "schema".to_owned()
    } else {
        out
    }
}

/// The strict-compatible JSON schema of `T` (feature `schemars`), with its name.
///
/// ```
/// # #[cfg(feature = "schemars")] {
/// #[derive(schemars::JsonSchema, serde::Deserialize)]
/// struct Point { x: i32, label: Option<String> }
/// let (name, schema) = oai_compat::schema::schema_for::<Point>();
/// assert_eq!(name, "Point");
/// assert_eq!(schema["required"], serde_json::json!(["label", "x"]));
/// assert_eq!(schema["additionalProperties"], false);
/// # }
/// ```
#[cfg(feature = "schemars")]
#[cfg_attr(docsrs, doc(cfg(feature = "schemars")))]
pub fn schema_for<T: schemars::JsonSchema>() -> (String, Value) {
    let mut schema = schemars::SchemaGenerator::default()
        .into_root_schema_for::<T>()
        .to_value();
    strict(&mut schema);
    (name(&T::schema_name()), schema)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strict_rewrites_nested_schemas() {
        let mut s = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "inner": {"$ref": "#/$defs/Inner", "description": "the inner one"},
                "list": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "number", "format": "double"}}}},
                "either": {"oneOf": [{"type": "string", "default": "x"}, {"$ref": "#/$defs/Inner"}]},
                "map": {"type": "object", "additionalProperties": {"type": "integer"}},
                "when": {"type": "string", "format": "date-time"}
            },
            "$defs": {"Inner": {"type": "object", "properties": {"a": {"type": "string"}}}}
        });
        strict(&mut s);
        assert!(s.get("$schema").is_none());
        assert_eq!(
            s["required"],
            json!(["either", "inner", "list", "map", "when"])
        );
        assert_eq!(s["additionalProperties"], false);
        // A $ref with a sibling is inlined; a bare $ref stays.
        assert_eq!(
            s["properties"]["inner"],
            json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
                   "additionalProperties": false, "description": "the inner one"})
        );
        assert_eq!(
            s["properties"]["either"]["anyOf"][1],
            json!({"$ref": "#/$defs/Inner"})
        );
        assert_eq!(
            s["properties"]["either"]["anyOf"][0],
            json!({"type": "string"})
        );
        assert_eq!(
            s["properties"]["list"]["items"],
            json!({"type": "object", "properties": {"n": {"type": "number"}}, "required": ["n"],
                   "additionalProperties": false})
        );
        assert_eq!(
            s["properties"]["map"]["additionalProperties"],
            json!({"type": "integer"})
        );
        assert_eq!(s["properties"]["when"]["format"], "date-time");
        assert_eq!(s["$defs"]["Inner"]["additionalProperties"], false);
    }

    #[test]
    fn recursive_refs_end() {
        let mut s = json!({"$ref": "#/$defs/N", "description": "loop",
                           "$defs": {"N": {"$ref": "#/$defs/N", "title": "again"}}});
        strict(&mut s);
        assert!(s.is_object());
    }

    #[test]
    fn names_are_sanitised() {
        assert_eq!(name("a b/c"), "a_b_c");
        assert_eq!(name(""), "schema");
        assert_eq!(name(&"x".repeat(100)).len(), 64);
        assert_eq!(name("é"), "_");
    }
}
