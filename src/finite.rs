//! Non-finite numbers are refused before a request body is sent.
//!
//! JSON has no NaN or infinity, and serde_json writes them as `null`, so a `NaN` temperature
//! would silently become "the server's default". [`check`] walks a request with a serializer
//! that writes nothing and fails at the first non-finite `f32`/`f64`, naming its field
//! (`messages[0].temperature`). It allocates only for the path of map keys it passes through.

use std::fmt;

use serde::Serialize;
use serde::ser::{self, Impossible};

use crate::error::{Error, Result};

/// `Ok` when every number in `value` is finite; else an [`Error::Config`] naming the field.
pub(crate) fn check<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    let mut path = Vec::new();
    match value.serialize(Walker { path: &mut path }) {
        Ok(()) => Ok(()),
        Err(Found(Some(msg))) => Err(Error::config(msg)),
        // Other serialisation errors are the real serialiser's to report.
        Err(Found(None)) => Ok(()),
    }
}

/// One step into a request: a field, a map key or a list index.
enum Step {
    Field(&'static str),
    Key(String),
    Index(usize),
}

fn render(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
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

/// The walk's error: `Some(message)` for a non-finite number, `None` for anything else.
#[derive(Debug)]
struct Found(Option<String>);

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_deref().unwrap_or("not serialisable"))
    }
}

impl std::error::Error for Found {}

impl ser::Error for Found {
    fn custom<M: fmt::Display>(_: M) -> Self {
        Found(None)
    }
}

struct Walker<'p> {
    path: &'p mut Vec<Step>,
}

impl<'p> Walker<'p> {
    fn float(self, v: f64) -> std::result::Result<(), Found> {
        if v.is_finite() {
            return Ok(());
        }
        let field = render(self.path);
        let field = if field.is_empty() { "a number" } else { &field };
        Err(Found(Some(format!(
            "the request field `{field}` is {v}: JSON has no NaN or infinity (it would be sent as null, the server's default); use a finite number"
        ))))
    }

    /// A tuple or struct variant: its name is a step until the compound ends.
    fn variant(self, name: &'static str) -> Compound<'p> {
        self.path.push(Step::Field(name));
        Compound::popping(self)
    }

    fn nested<T: Serialize + ?Sized>(
        &mut self,
        step: Step,
        v: &T,
    ) -> std::result::Result<(), Found> {
        self.path.push(step);
        let r = v.serialize(Walker { path: self.path });
        self.path.pop();
        r
    }
}

macro_rules! ok {
    ($($name:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $name(self, $(_: $arg),*) -> std::result::Result<(), Found> { Ok(()) })*
    };
}

impl<'p> ser::Serializer for Walker<'p> {
    type Ok = ();
    type Error = Found;
    type SerializeSeq = Compound<'p>;
    type SerializeTuple = Compound<'p>;
    type SerializeTupleStruct = Compound<'p>;
    type SerializeTupleVariant = Compound<'p>;
    type SerializeMap = Compound<'p>;
    type SerializeStruct = Compound<'p>;
    type SerializeStructVariant = Compound<'p>;

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
        self.float(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> std::result::Result<(), Found> {
        self.float(v)
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
        mut self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> std::result::Result<(), Found> {
        self.nested(Step::Field(variant), v)
    }
    fn serialize_seq(self, _: Option<usize>) -> std::result::Result<Compound<'p>, Found> {
        Ok(Compound::new(self))
    }
    fn serialize_tuple(self, _: usize) -> std::result::Result<Compound<'p>, Found> {
        Ok(Compound::new(self))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Compound<'p>, Found> {
        Ok(Compound::new(self))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> std::result::Result<Compound<'p>, Found> {
        Ok(self.variant(variant))
    }
    fn serialize_map(self, _: Option<usize>) -> std::result::Result<Compound<'p>, Found> {
        Ok(Compound::new(self))
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Compound<'p>, Found> {
        Ok(Compound::new(self))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> std::result::Result<Compound<'p>, Found> {
        Ok(self.variant(variant))
    }
}

/// A list, map or struct being walked.
struct Compound<'p> {
    walker: Walker<'p>,
    index: usize,
    key: Option<String>,
    /// A variant name was pushed for this compound: pop it at the end.
    pop: bool,
}

impl<'p> Compound<'p> {
    fn new(walker: Walker<'p>) -> Self {
        Compound {
            walker,
            index: 0,
            key: None,
            pop: false,
        }
    }

    fn popping(walker: Walker<'p>) -> Self {
        Compound {
            pop: true,
            ..Compound::new(walker)
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, v: &T) -> std::result::Result<(), Found> {
        let i = self.index;
        self.index += 1;
        self.walker.nested(Step::Index(i), v)
    }

    fn end(self) -> std::result::Result<(), Found> {
        if self.pop {
            self.walker.path.pop();
        }
        Ok(())
    }
}

macro_rules! elements {
    ($($trait:ident :: $method:ident),*) => {
        $(impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = Found;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> std::result::Result<(), Found> {
                self.element(v)
            }
            fn end(self) -> std::result::Result<(), Found> {
                Compound::end(self)
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
        $(impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = Found;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                name: &'static str,
                v: &T,
            ) -> std::result::Result<(), Found> {
                self.walker.nested(Step::Field(name), v)
            }
            fn end(self) -> std::result::Result<(), Found> {
                Compound::end(self)
            }
        })*
    };
}

fields!(SerializeStruct, SerializeStructVariant);

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Found;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> std::result::Result<(), Found> {
        // Keys are strings in JSON; their text only names the field in a message.
        self.key = Some(key.serialize(KeyText).unwrap_or_default());
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> std::result::Result<(), Found> {
        let key = self.key.take().unwrap_or_default();
        self.walker.nested(Step::Key(key), v)
    }

    fn end(self) -> std::result::Result<(), Found> {
        Compound::end(self)
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
        Err(Found(None))
    }
    fn serialize_none(self) -> std::result::Result<String, Found> {
        Err(Found(None))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> std::result::Result<String, Found> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> std::result::Result<String, Found> {
        Err(Found(None))
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
        Err(Found(None))
    }
    fn serialize_seq(self, _: Option<usize>) -> std::result::Result<Self::SerializeSeq, Found> {
        Err(Found(None))
    }
    fn serialize_tuple(self, _: usize) -> std::result::Result<Self::SerializeTuple, Found> {
        Err(Found(None))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Self::SerializeTupleStruct, Found> {
        Err(Found(None))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Self::SerializeTupleVariant, Found> {
        Err(Found(None))
    }
    fn serialize_map(self, _: Option<usize>) -> std::result::Result<Self::SerializeMap, Found> {
        Err(Found(None))
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Self::SerializeStruct, Found> {
        Err(Found(None))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Self::SerializeStructVariant, Found> {
        Err(Found(None))
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
