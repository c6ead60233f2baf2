//! `--schema FILE.json`: structured output. The file's JSON schema is sent as a strict
//! response format, and the reply must be JSON, printed as one line.

use std::path::Path;

use serde_json::Value;

use crate::fail::Failure;

/// A schema read from a file, with the name the APIs require beside it.
pub struct Schema {
    /// `^[A-Za-z0-9_-]{1,64}$`: the schema's `title` when it fits, else `response`.
    pub name: String,
    pub schema: Value,
}

impl Schema {
    pub fn load(path: &Path) -> Result<Schema, Failure> {
        let bytes = std::fs::read(path)
            .map_err(|e| Failure::error(format!("--schema {}: {e}", path.display())))?;
        let schema: Value = serde_json::from_slice(&bytes)
            .map_err(|e| Failure::error(format!("--schema {}: not JSON: {e}", path.display())))?;
        if !schema.is_object() {
            return Err(Failure::error(format!(
                "--schema {}: a JSON schema must be a JSON object",
                path.display()
            )));
        }
        let name = schema
            .get("title")
            .and_then(Value::as_str)
            .filter(|t| {
                (1..=64).contains(&t.len())
                    && t.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            })
            .unwrap_or("response")
            .to_owned();
        Ok(Schema { name, schema })
    }
}

/// The reply text as one compact JSON line, or why it is not JSON.
pub fn reply_line(text: Option<&str>, finish_reason: Option<&str>) -> Result<String, Failure> {
    let Some(text) = text else {
        return Err(Failure::error("the reply has no text to parse as JSON"));
    };
    match serde_json::from_str::<Value>(text) {
        Ok(v) => Ok(v.to_string()),
        Err(e) => {
            let hint = match finish_reason {
                Some("length") => " (it was cut by the token limit: raise --max-tokens)",
                _ => "",
            };
            let excerpt: String = text.chars().take(200).collect();
            Err(Failure::error(format!(
                "the reply is not JSON{hint}: {e}; it begins: {excerpt}"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_must_be_json() {
        assert_eq!(
            reply_line(Some(" {\"a\": [1, 2]}\n"), None).unwrap(),
            r#"{"a":[1,2]}"#
        );
        let e = reply_line(Some("{\"a\": "), Some("length")).unwrap_err();
        assert!(e.message().unwrap().contains("raise --max-tokens"), "{e:?}");
        assert!(reply_line(None, None).is_err());
        assert!(reply_line(Some("Sure! {\"a\":1}"), None).is_err());
    }
}
