//! Non-finite numbers are refused before a request body is sent.
//!
//! JSON has no NaN or infinity, and serde_json writes them as `null`, so a `NaN` temperature
//! would silently become "the server's default". [`check`] walks a request with a serializer
//! that writes nothing and fails at the first non-finite `f32`/`f64`, naming its field
//! (`messages[0].temperature`). The walk allocates nothing: the field's path is only built
//! on the way back up from a non-finite number.

use std::fmt;

use serde::Serialize;
use serde::ser::{self, Impossible};

use crate::error::{Error, Result};

/// `Ok` when every number in `value` is finite; else an [`Error::InvalidRequest`] naming the field.
pub(crate) fn check<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    match value.serialize(Walker) {
        Ok(()) => Ok(()),
        Err(Found::NonFinite { value, path }) => {
            let field = render(&path);
            let field = if field.is_empty() { "a number" } else { &field };
            Err(Error::invalid_request(format!(
                "the request field `{field}` is {value}: JSON has no NaN or infinity (it would be sent as null, the server's default); use a finite number"
            )))
        }
        // Other serialisation errors are the real serialiser's to report.
        Err(Found::Other) => Ok(()),
    }
}

/// One step into a request: a field, a map key or a list index.
enum Step {
    Field(&'static str),
    Key(String),
    Index(usize),
}

/// `path` (innermost step first) as `messages[0].content`.
fn render(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path.iter().rev() {
        match step {
            Step::Field(name) => dotted(&mut out, name),
            Step::Key(name) => dotted(&mut out, name),
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn dotted(out: &mut String, name: &str) {
    if !out.is_empty() {
        out.push('.');
    }
    out.push_str(name);
}

/// The walk's error.
#[derive(Debug)]
enum Found {
    /// A non-finite number, and the steps to it, innermost first.
    NonFinite { value: f64, path: Vec<Step> },
    /// Anything else (not ours to report).
    Other,
}

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Field(n) => f.write_str(n),
            Step::Key(k) => f.write_str(k),
            Step::Index(i) => write!(f, "[{i}]"),
        }
    }
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Found::NonFinite { value, .. } => write!(f, "non-finite number {value}"),
            Found::Other => f.write_str("not serialisable"),
        }
    }
}

impl std::error::Error for Found {}

impl ser::Error for Found {
    fn custom<M: fmt::Display>(_: M) -> Self {
        Found::Other
    }
}

/// `r` with `step` added to the path of a non-finite number found below it.
fn within(
    r: std::result::Result<(), Found>,
    step: impl FnOnce() -> Step,
) -> std::result::Result<(), Found> {
    match r {
        Err(Found::NonFinite { value, mut path }) => {
            path.push(step());
            Err(Found::NonFinite { value, path })
        }
        other => other,
    }
}

/// The serializer that only looks at numbers.
struct Walker;

impl Walker {
    fn float(v: f64) -> std::result::Result<(), Found> {
        if v.is_finite() {
            Ok(())
        } else {
            Err(Found::NonFinite {
                value: v,
                path: Vec::new(),
            })
        }
    }
}

macro_rules! ok {
    ($($name:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $name(self, $(_: $arg),*) -> std::result::Result<(), Found> { Ok(()) })*
    };
}

impl ser::Serializer for Walker {
    type Ok = ();
    type Error = Found;
    type SerializeSeq = Compound;
    type SerializeTuple = Compound;
    type SerializeTupleStruct = Compound;
    type SerializeTupleVariant = Compound;
    type SerializeMap = Compound;
    type SerializeStruct = Compound;
    type SerializeStructVariant = Compound;

    ok!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_f32(self, v: f32) -> std::result::Result<(), Found> {
        Walker::float(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> std::result::Result<(), Found> {
        Walker::float(v)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> std::result::Result<(), Found> {
        v.serialize(self)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> std::result::Result<(), Found> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> std::result::Result<(), Found> {
        within(v.serialize(Walker), || Step::Field(variant))
    }
    fn serialize_seq(self, _: Option<usize>) -> std::result::Result<Compound, Found> {
        Ok(Compound::default())
    }
    fn serialize_tuple(self, _: usize) -> std::result::Result<Compound, Found> {
        Ok(Compound::default())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Compound, Found> {
        Ok(Compound::default())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> std::result::Result<Compound, Found> {
        Ok(Compound::variant(variant))
    }
    fn serialize_map(self, _: Option<usize>) -> std::result::Result<Compound, Found> {
        Ok(Compound::default())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> std::result::Result<Compound, Found> {
        Ok(Compound::default())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> std::result::Result<Compound, Found> {
        Ok(Compound::variant(variant))
    }
}

/// A list, map or struct being walked.
#[derive(Default)]
struct Compound {
    index: usize,
    /// A map key given on its own (`serialize_key`), for a non-finite value after it.
    key: Option<String>,
    /// The variant of a tuple or struct variant: a step for everything inside.
    variant: Option<&'static str>,
}

impl Compound {
    fn variant(name: &'static str) -> Self {
        Compound {
            variant: Some(name),
            ..Compound::default()
        }
    }

    /// A step inside this compound, under its variant name if it has one.
    fn inner(
        &self,
        r: std::result::Result<(), Found>,
        step: impl FnOnce() -> Step,
    ) -> std::result::Result<(), Found> {
        let r = within(r, step);
        match self.variant {
            Some(v) => within(r, || Step::Field(v)),
            None => r,
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, v: &T) -> std::result::Result<(), Found> {
        let i = self.index;
        self.index += 1;
        self.inner(v.serialize(Walker), || Step::Index(i))
    }
}

macro_rules! elements {
    ($($trait:ident :: $method:ident),*) => {
        $(impl ser::$trait for Compound {
            type Ok = ();
            type Error = Found;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> std::result::Result<(), Found> {
                self.element(v)
            }
            fn end(self) -> std::result::Result<(), Found> {
                Ok(())
            }
        })*
    };
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

macro_rules! fields {
    ($($trait:ident),*) => {
        $(impl ser::$trait for Compound {
            type Ok = ();
            type Error = Found;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                name: &'static str,
                v: &T,
            ) -> std::result::Result<(), Found> {
                self.inner(v.serialize(Walker), || Step::Field(name))
            }
            fn end(self) -> std::result::Result<(), Found> {
                Ok(())
            }
        })*
    };
}

fields!(SerializeStruct, SerializeStructVariant);

/// A map key's text, for a path (only rendered when a value under it is not finite).
fn key_text<K: Serialize + ?Sized>(key: &K) -> String {
    key.serialize(KeyText).unwrap_or_default()
}

impl ser::SerializeMap for Compound {
    type Ok = ();
    type Error = Found;

    // Maps (serde_json values, `HashMap`s, flattened structs) give key and value together
    // here, so the key's text is only made when the value is not finite.
    fn serialize_entry<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &mut self,
        key: &K,
        value: &V,
    ) -> std::result::Result<(), Found> {
        self.inner(value.serialize(Walker), || Step::Key(key_text(key)))
    }

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> std::result::Result<(), Found> {
        self.key = Some(key_text(key));
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> std::result::Result<(), Found> {
        let key = self.key.take().unwrap_or_default();
        self.inner(v.serialize(Walker), || Step::Key(key))
    }

    fn end(self) -> std::result::Result<(), Found> {
        Ok(())
    }
}

/// A map key's text (strings, numbers, chars, unit variants).
struct KeyText;

macro_rules! key_display {
    ($($name:ident($ty:ty)),*) => {
        $(fn $name(self, v: $ty) -> std::result::Result<String, Found> { Ok(v.to_string()) })*
    };
}

impl ser::Serializer for KeyText {
    type Ok = String;
    type Error = Found;
    type SerializeSeq = Impossible<String, Found>;
    type SerializeTuple = Impossible<String, Found>;
    type SerializeTupleStruct = Impossible<String, Found>;
    type SerializeTupleVariant = Impossible<String, Found>;
    type SerializeMap = Impossible<String, Found>;
    type SerializeStruct = Impossible<String, Found>;
    type SerializeStructVariant = Impossible<String, Found>;

    key_display!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str)
    );

    fn serialize_bytes(self, _: &[u8]) -> std::result::Result<String, Found> {
        Err(Found::Other)
    }
    fn serialize_none(self) -> std::result::Result<String, Found> {
        Err(Found::Other)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> std::result::Result<String, Found> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> std::result::Result<String, Found> {
        Err(Found::Other)
    }
    fn serialize_unit_struct(self, name: &'static str) -> std::result::Result<String, Found> {
        Ok(name.to_owned())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> std::result::Result<String, Found> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> std::result::Result<String, Found> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> std::result::Result<String, Found> {
        Err(Found::Other)
    }
    fn serialize_seq(self, _: Option<usize>) -> std::result::Result<Self::SerializeSeq, Found> {
        Err(Found::Other)
    }
    fn serialize_tuple(self, _: usize) -> std::result::Result<Self::SerializeTuple, Found> {
        Err(Found::Other)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Self::SerializeTupleStruct, Found> {
        Err(Found::Other)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Self::SerializeTupleVariant, Found> {
        Err(Found::Other)
    }
    fn serialize_map(self, _: Option<usize>) -> std::result::Result<Self::SerializeMap, Found> {
        Err(Found::Other)
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Self::SerializeStruct, Found> {
        Err(Found::Other)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Self::SerializeStructVariant, Found> {
        Err(Found::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Serialize)]
    struct Inner {
        weight: f32,
    }

    #[derive(Serialize)]
    struct Req {
        temperature: Option<f64>,
        items: Vec<Inner>,
        bias: BTreeMap<String, f64>,
        #[serde(flatten)]
        extra: BTreeMap<String, f64>,
    }

    fn req() -> Req {
        Req {
            temperature: Some(0.7),
            items: vec![Inner { weight: 1.0 }, Inner { weight: 2.0 }],
            bias: BTreeMap::from([("50256".to_owned(), -100.0)]),
            extra: BTreeMap::new(),
        }
    }

    #[test]
    fn finite_numbers_pass() {
        assert!(check(&req()).is_ok());
        assert!(check(&serde_json::json!({"a": [1.5, {"b": 2}]})).is_ok());
    }

    #[test]
    fn each_non_finite_number_is_named_by_its_path() {
        let msg = |r: &Req| check(r).unwrap_err().to_string();
        let mut r = req();
        r.temperature = Some(f64::NAN);
        assert!(msg(&r).contains("`temperature` is NaN"), "{}", msg(&r));
        let mut r = req();
        r.items[1].weight = f32::INFINITY;
        assert!(msg(&r).contains("`items[1].weight` is inf"), "{}", msg(&r));
        let mut r = req();
        r.bias.insert("7".into(), f64::NEG_INFINITY);
        assert!(msg(&r).contains("`bias.7` is -inf"), "{}", msg(&r));
        let mut r = req();
        r.extra.insert("top_k_ratio".into(), f64::NAN);
        assert!(msg(&r).contains("`top_k_ratio` is NaN"), "{}", msg(&r));
        assert!(
            check(&f64::NAN)
                .unwrap_err()
                .to_string()
                .contains("a number")
        );
    }
}
