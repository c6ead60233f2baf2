//! `-o KEY VALUE`: any request field from the command line, as `llm -o` sets a model option.
//! The fields these servers know are typed (the value is checked and sent as a number, a
//! string, a list or an object); any other key is sent as JSON when its value parses as JSON,
//! else as a string, so that a server's own extensions need no new flag.

use serde_json::{Map, Value};

use crate::fail::Failure;

/// How a known field's value is read.
#[derive(Clone, Copy)]
enum Kind {
    /// A number within a range (inclusive).
    Float(f64, f64),
    /// A whole number, at least this.
    Int(i64),
    /// A string; given more than once, a list of them.
    Texts,
    /// A JSON object.
    Object,
}

/// The known fields: name, kind, what it does.
const KNOWN: [(&str, Kind, &str); 10] = [
    (
        "top_p",
        Kind::Float(0.0, 1.0),
        "nucleus sampling: keep the tokens of this much probability mass",
    ),
    (
        "stop",
        Kind::Texts,
        "stop at this text (repeat -o stop for several)",
    ),
    (
        "seed",
        Kind::Int(i64::MIN),
        "a seed for reproducible sampling",
    ),
    ("n", Kind::Int(1), "how many choices to generate"),
    (
        "presence_penalty",
        Kind::Float(-2.0, 2.0),
        "penalise tokens that already appeared",
    ),
    (
        "frequency_penalty",
        Kind::Float(-2.0, 2.0),
        "penalise tokens by how often they appeared",
    ),
    (
        "logit_bias",
        Kind::Object,
        "a JSON object of token id to bias (-100 to 100)",
    ),
    (
        "top_k",
        Kind::Int(-1),
        "vLLM: sample from the k most likely tokens (-1: all)",
    ),
    (
        "min_p",
        Kind::Float(0.0, 1.0),
        "vLLM: drop tokens below this fraction of the top one's probability",
    ),
    (
        "repetition_penalty",
        Kind::Float(0.0, f64::MAX),
        "vLLM: penalise repeated tokens (1: none; above 0)",
    ),
];

/// Fields a command sets itself (or has a flag for): `-o` cannot set them.
const OWNED: [(&str, &str); 11] = [
    ("model", "-m"),
    ("messages", "the prompt"),
    ("prompt", "the prompt"),
    ("input", "the prompt"),
    ("instructions", "-s"),
    ("stream", "--no-stream"),
    ("stream_options", "--no-stream"),
    ("temperature", "--temperature"),
    ("max_tokens", "--max-tokens"),
    ("max_output_tokens", "--max-tokens"),
    ("response_format", "--schema"),
];

/// The fields of `pairs` (`[KEY, VALUE, KEY, VALUE, ...]`, as clap collects `-o KEY VALUE`).
pub fn fields(pairs: &[String]) -> Result<Map<String, Value>, Failure> {
    let mut out = Map::new();
    for pair in pairs.chunks(2) {
        let [key, value] = pair else {
            return Err(Failure::usage("-o takes a KEY and a VALUE"));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(Failure::usage("-o: the key is empty"));
        }
        if let Some((_, flag)) = OWNED.iter().find(|(k, _)| *k == key) {
            return Err(Failure::usage(format!(
                "-o {key}: this field is set by {flag}, not by -o"
            )));
        }
        let bad = |what: &str| Failure::usage(format!("-o {key} {value:?}: {what}"));
        let v = match KNOWN.iter().find(|(k, _, _)| *k == key).map(|k| k.1) {
            Some(Kind::Float(lo, hi)) => {
                let x: f64 = value.trim().parse().map_err(|_| bad("not a number"))?;
                if !(lo..=hi).contains(&x) || (key == "repetition_penalty" && x <= 0.0) {
                    return Err(bad(&range(lo, hi, key)));
                }
                Value::from(x)
            }
            Some(Kind::Int(min)) => {
                let x: i64 = value
                    .trim()
                    .parse()
                    .map_err(|_| bad("not a whole number"))?;
                if x < min {
                    return Err(bad(&format!("must be at least {min}")));
                }
                Value::from(x)
            }
            Some(Kind::Texts) => match out.remove(key) {
                None => Value::from(value.as_str()),
                Some(Value::String(first)) => Value::from(vec![first, value.clone()]),
                Some(Value::Array(mut all)) => {
                    all.push(Value::from(value.as_str()));
                    Value::Array(all)
                }
                Some(other) => other,
            },
            Some(Kind::Object) => match serde_json::from_str(value) {
                Ok(v @ Value::Object(_)) => v,
                _ => return Err(bad("not a JSON object")),
            },
            // A server's own field: JSON when it is JSON (`true`, `3`, `[1,2]`), else text.
            None => serde_json::from_str(value).unwrap_or_else(|_| Value::from(value.as_str())),
        };
        // (A repeated text field was taken out above, to be put back as a list.)
        if out.contains_key(key) {
            return Err(Failure::usage(format!("-o {key} is given twice")));
        }
        out.insert(key.to_owned(), v);
    }
    Ok(out)
}

fn range(lo: f64, hi: f64, key: &str) -> String {
    if key == "repetition_penalty" {
        "must be above 0".to_owned()
    } else {
        format!("must be from {lo} to {hi}")
    }
}

/// The known fields, one a line, for `--options`.
pub fn list() -> String {
    let mut s = String::from(
        "Request fields for -o KEY VALUE (any other key is sent as JSON if it parses, else as text):\n",
    );
    for (key, kind, help) in KNOWN {
        let ty = match kind {
            Kind::Float(..) => "number",
            Kind::Int(_) => "integer",
            Kind::Texts => "text",
            Kind::Object => "JSON object",
        };
        s.push_str(&format!("  {key:<20} {ty:<12} {help}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(args: &[&str]) -> Result<Value, String> {
        let v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        fields(&v)
            .map(Value::Object)
            .map_err(|f| f.message().unwrap_or_default().to_owned())
    }

    #[test]
    fn known_fields_are_typed() {
        let v = of(&[
            "top_p",
            "0.9",
            "seed",
            "-7",
            "n",
            "2",
            "stop",
            "END",
            "stop",
            "\n\n",
            "stop",
            "x",
            "logit_bias",
            r#"{"50256": -100}"#,
            "top_k",
            "-1",
            "repetition_penalty",
            "1.1",
        ])
        .unwrap();
        assert_eq!(v["top_p"], 0.9);
        assert_eq!(v["seed"], -7);
        assert_eq!(v["n"], 2);
        assert_eq!(v["stop"], serde_json::json!(["END", "\n\n", "x"]));
        assert_eq!(v["logit_bias"]["50256"], -100);
        assert_eq!(v["top_k"], -1);
        assert_eq!(of(&["stop", "one"]).unwrap()["stop"], "one");
    }

    #[test]
    fn other_keys_are_json_or_text() {
        let v = of(&[
            "ignore_eos",
            "true",
            "min_tokens",
            "3",
            "tag",
            "hello world",
            "ids",
            "[1,2]",
        ])
        .unwrap();
        assert_eq!(v["ignore_eos"], true);
        assert_eq!(v["min_tokens"], 3);
        assert_eq!(v["tag"], "hello world");
        assert_eq!(v["ids"], serde_json::json!([1, 2]));
    }

    #[test]
    fn bad_values_say_what_to_fix() {
        for (args, why) in [
            (&["top_p", "1.5"][..], "must be from 0 to 1"),
            (&["top_p", "NaN"], "must be from 0 to 1"),
            (&["top_p", "lots"], "not a number"),
            (&["n", "0"], "at least 1"),
            (&["seed", "1.5"], "not a whole number"),
            (&["repetition_penalty", "0"], "above 0"),
            (&["logit_bias", "[1]"], "not a JSON object"),
            (&["temperature", "1"], "set by --temperature"),
            (&["stream", "true"], "set by --no-stream"),
            (&["seed", "1", "seed", "2"], "given twice"),
            (&[" ", "1"], "the key is empty"),
        ] {
            let e = of(args).unwrap_err();
            assert!(e.contains(why), "{args:?}: {e}");
        }
    }
}
