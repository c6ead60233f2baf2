//! Bounded decoding: a body or stream event never decodes to more than a small multiple of its
//! bytes (DESIGN section 13).
//!
//! Why: a decoded value can take far more memory than its text. `{}` (3 bytes with its comma)
//! in a list of choices becomes a default choice of a few hundred bytes, `0,` in an `extra`
//! map a 32-byte `Value`: a hostile server could turn the default 256 MiB body limit into
//! tens of GB and an out-of-memory abort. So a text above [`THRESHOLD`] is decoded through
//! [`Charged`], a `Deserializer` wrapper that charges what each decoded value allocates
//! against a budget of `MULTIPLE` times the text's length, and fails with a decode error
//! naming the limit once it is spent. The raw text is held while it decodes (1x), so the peak
//! stays near `MULTIPLE + 1` times the text. `MULTIPLE` is the client's
//! `ClientBuilder::max_decoded_multiple`, [`DEFAULT_MULTIPLE`] unless set.
//!
//! Why a threshold: the wrapper costs a little per value; texts up to [`THRESHOLD`] (almost
//! every reply and every stream event) take serde_json's own path untouched, and can
//! allocate at most a few tens of MB whatever they hold.
//!
//! What is charged (an estimate of the heap each value really takes, never of the text):
//! - an element of a sequence: the `Vec` that collects it, as the standard library grows it
//!   (first room for 4 elements, or 1 above 1 KiB, then doubling), with the large allocations
//!   it grew out of, which stay resident, freed but kept by the allocator, until the decode
//!   ends (so a long list holds about twice its final capacity);
//! - an entry of a map (`deserialize_map`, or an object reached through `deserialize_any`, as
//!   a `Value` or serde's buffering of a flattened struct): twice the key's and the value's
//!   size (a `BTreeMap`'s nodes are about half full); a struct's fields are inside the struct
//!   and cost nothing more;
//! - a string decoded as an owned one (`deserialize_string`, or through `deserialize_any`):
//!   its length plus the allocator's overhead;
//! - what the hand-written in-place decoders allocate themselves, through [`charge`]: a list's
//!   growth and each `extra` entry (`src/types/decode.rs`).
//!
//! The budget lives in a thread-local for the length of one synchronous decode (nothing
//! awaits inside it), so the in-place decoders, which only see a generic `Deserializer`, can
//! charge it too.

use std::cell::Cell;
use std::fmt;
use std::mem::size_of;

use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

/// Texts up to this many bytes decode on serde_json's own path, with no budget.
pub(crate) const THRESHOLD: usize = 256 * 1024;

/// What a text above [`THRESHOLD`] may decode to by default, as a multiple of its length
/// (`ClientBuilder::max_decoded_multiple`).
pub(crate) const DEFAULT_MULTIPLE: usize = 3;

/// What a heap allocation costs beyond the bytes asked for (glibc: a 16-byte header and
/// rounding), charged with each owned string.
const ALLOCATION: usize = 16;

/// A freed list allocation this large is counted as still resident (see [`charge_growth`]).
const RETAINED: usize = 64 * 1024;

/// A `BTreeMap` entry takes about twice its key and value: a node has room for 11 and is
/// about half full after splits.
const MAP_SLACK: usize = 2;

/// What the error says about the decode running on this thread.
#[derive(Clone, Copy)]
struct Budget {
    /// The whole budget.
    limit: usize,
    /// The text's length.
    text: usize,
    /// The multiple of it allowed.
    multiple: usize,
}

/// No decode is bounded on this thread (or its budget is unlimited): [`charge`] is free.
const UNBOUNDED: usize = usize::MAX;

thread_local! {
    /// Bytes the running decode may still charge; [`UNBOUNDED`] outside a bounded decode.
    /// Apart from [`BUDGET`] so that a charge reads and writes one word.
    static LEFT: Cell<usize> = const { Cell::new(UNBOUNDED) };
    /// The running decode's budget, for the error.
    static BUDGET: Cell<Option<Budget>> = const { Cell::new(None) };
}

/// Charges `bytes` to the running decode's budget, if any; fails once it is spent (and keeps
/// failing: a decoder that swallows the error cannot go on allocating).
#[inline]
pub(crate) fn charge<E: de::Error>(bytes: usize) -> Result<(), E> {
    LEFT.with(|left| {
        let l = left.get();
        if l == UNBOUNDED {
            Ok(())
        } else if bytes <= l {
            left.set(l - bytes);
            Ok(())
        } else {
            left.set(0);
            Err(exceeded())
        }
    })
}

/// The error of a spent budget, naming the limit.
#[cold]
fn exceeded<E: de::Error>() -> E {
    match BUDGET.with(Cell::get) {
        Some(b) => E::custom(format_args!(
            "the reply exceeds the decoded-size limit: its {} bytes would decode to more than {} bytes ({}x its size); raise ClientBuilder::max_decoded_multiple if it is a reply you expect",
            b.text, b.limit, b.multiple
        )),
        None => E::custom("the reply exceeds the decoded-size limit"),
    }
}

/// Charges an owned string of `len` bytes.
#[inline]
pub(crate) fn charge_string<E: de::Error>(len: usize) -> Result<(), E> {
    if len == 0 {
        return Ok(());
    }
    charge(len.saturating_add(ALLOCATION))
}

/// Charges a list of `T` grown from `before` to `after` elements of capacity: the growth,
/// and the old allocation too once it is large ([`RETAINED`]): freed, it stays resident (the
/// allocator keeps it for reuse, and nothing of the decode fits it until the decode ends),
/// so a long list that doubled its way up holds about twice its final capacity. A small
/// freed allocation is reused at once by the next small value.
#[inline]
pub(crate) fn charge_growth<T, E: de::Error>(before: usize, after: usize) -> Result<(), E> {
    if after <= before {
        return Ok(());
    }
    let size = size_of::<T>();
    let old = before.saturating_mul(size);
    let new = after.saturating_mul(size);
    charge(if old >= RETAINED { new } else { new - old })
}

/// Charges an entry of a map whose key is a `K` and value a `V`.
#[inline]
pub(crate) fn charge_entry<K, V, E: de::Error>() -> Result<(), E> {
    charge(MAP_SLACK * (size_of::<K>() + size_of::<V>()))
}

/// The budget set for one decode, restored (to none, or to an outer decode's) when dropped.
struct Guard {
    left: usize,
    budget: Option<Budget>,
}

impl Guard {
    fn set(text: usize, multiple: usize) -> Guard {
        let limit = text.saturating_mul(multiple);
        Guard {
            left: LEFT.with(|left| left.replace(limit)),
            budget: BUDGET.with(|b| {
                b.replace(Some(Budget {
                    limit,
                    text,
                    multiple,
                }))
            }),
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        LEFT.with(|left| left.set(self.left));
        BUDGET.with(|b| b.set(self.budget));
    }
}

/// `serde_json::from_str`, bounded to `multiple` times the text above [`THRESHOLD`].
pub(crate) fn from_str<'de, T: Deserialize<'de>>(
    text: &'de str,
    multiple: usize,
) -> serde_json::Result<T> {
    if text.len() <= THRESHOLD {
        return serde_json::from_str(text);
    }
    charged(
        serde_json::Deserializer::from_str(text),
        text.len(),
        multiple,
    )
}

/// `serde_json::from_slice`, bounded to `multiple` times the bytes above [`THRESHOLD`].
pub(crate) fn from_slice<'de, T: Deserialize<'de>>(
    bytes: &'de [u8],
    multiple: usize,
) -> serde_json::Result<T> {
    if bytes.len() <= THRESHOLD {
        return serde_json::from_slice(bytes);
    }
    charged(
        serde_json::Deserializer::from_slice(bytes),
        bytes.len(),
        multiple,
    )
}

/// Decodes all of `de`'s `len` bytes, charged to a budget of `multiple` times them.
fn charged<'de, R: serde_json::de::Read<'de>, T: Deserialize<'de>>(
    mut de: serde_json::Deserializer<R>,
    len: usize,
    multiple: usize,
) -> serde_json::Result<T> {
    let _budget = Guard::set(len, multiple);
    let value = T::deserialize(Charged::new(&mut de))?;
    de.end()?;
    Ok(value)
}

/// Decodes `text` into `place` (`deserialize_in_place`), bounded to `multiple` times the
/// text above [`THRESHOLD`]. What `place` already holds is not charged: only what this
/// decode adds.
pub(crate) fn in_place<'de, T: Deserialize<'de>>(
    text: &'de str,
    place: &mut T,
    multiple: usize,
) -> serde_json::Result<()> {
    let mut de = serde_json::Deserializer::from_str(text);
    if text.len() <= THRESHOLD {
        T::deserialize_in_place(&mut de, place)?;
    } else {
        let _budget = Guard::set(text.len(), multiple);
        T::deserialize_in_place(Charged::new(&mut de), place)?;
    }
    de.end()
}

/// What a visitor's values are charged for, by the `deserialize_*` call that made it.
#[derive(Clone, Copy)]
struct Rules {
    /// Strings are decoded as owned ones.
    strings: bool,
    /// A map's entries are separate allocations (not a struct's fields).
    entries: bool,
}

const NOTHING: Rules = Rules {
    strings: false,
    entries: false,
};

/// The `Deserializer` wrapper that charges each value it hands to a visitor (see the module).
struct Charged<D> {
    inner: D,
    /// A map's key: a string is kept as an owned one however it is asked for (`Value`'s map
    /// borrows it to look at it, then allocates it).
    key: bool,
}

impl<D> Charged<D> {
    fn new(inner: D) -> Self {
        Charged { inner, key: false }
    }
}

/// Forwards `deserialize_*` methods to the inner deserializer with the visitor wrapped.
macro_rules! forward {
    ($rules:expr => $($method:ident($($arg:ident: $ty:ty),*)),+ $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
                let rules: Rules = $rules;
                let rules = Rules { strings: rules.strings || self.key, ..rules };
                self.inner.$method($($arg,)* Charging { inner: visitor, rules })
            }
        )+
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Charged<D> {
    type Error = D::Error;

    forward!(Rules { strings: true, entries: true } => deserialize_any());
    forward!(Rules { strings: true, entries: false } => deserialize_string(), deserialize_byte_buf());
    forward!(Rules { strings: false, entries: true } => deserialize_map());
    forward!(NOTHING =>
        deserialize_bool(), deserialize_i8(), deserialize_i16(), deserialize_i32(),
        deserialize_i64(), deserialize_i128(), deserialize_u8(), deserialize_u16(),
        deserialize_u32(), deserialize_u64(), deserialize_u128(), deserialize_f32(),
        deserialize_f64(), deserialize_char(), deserialize_str(), deserialize_bytes(),
        deserialize_option(), deserialize_unit(), deserialize_seq(), deserialize_identifier(),
        deserialize_ignored_any(),
        deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str),
        deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_struct(name: &'static str, fields: &'static [&'static str]),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
    );

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// The visitor wrapper: charges strings and hands on wrapped sequences, maps and
/// deserializers.
struct Charging<V> {
    inner: V,
    rules: Rules,
}

/// Forwards `visit_*` methods that allocate nothing to the inner visitor.
macro_rules! visit {
    ($($method:ident($ty:ty)),+ $(,)?) => {
        $(
            fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
                self.inner.$method(v)
            }
        )+
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Charging<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    visit!(
        visit_bool(bool),
        visit_i8(i8),
        visit_i16(i16),
        visit_i32(i32),
        visit_i64(i64),
        visit_i128(i128),
        visit_u8(u8),
        visit_u16(u16),
        visit_u32(u32),
        visit_u64(u64),
        visit_u128(u128),
        visit_f32(f32),
        visit_f64(f64),
        visit_char(char),
    );

    fn visit_str<E: de::Error>(self, v: &str) -> Result<V::Value, E> {
        if self.rules.strings {
            charge_string(v.len())?;
        }
        self.inner.visit_str(v)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<V::Value, E> {
        if self.rules.strings {
            charge_string(v.len())?;
        }
        self.inner.visit_borrowed_str(v)
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<V::Value, E> {
        if self.rules.strings {
            charge_string(v.len())?;
        }
        self.inner.visit_string(v)
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<V::Value, E> {
        if self.rules.strings {
            charge_string(v.len())?;
        }
        self.inner.visit_bytes(v)
    }

    fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<V::Value, E> {
        if self.rules.strings {
            charge_string(v.len())?;
        }
        self.inner.visit_borrowed_bytes(v)
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<V::Value, E> {
        if self.rules.strings {
            charge_string(v.len())?;
        }
        self.inner.visit_byte_buf(v)
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.inner.visit_some(Charged::new(deserializer))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        self.inner.visit_newtype_struct(Charged::new(deserializer))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.inner.visit_seq(Elements {
            inner: seq,
            len: 0,
            capacity: 0,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.inner.visit_map(Entries {
            inner: map,
            entries: self.rules.entries,
        })
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.inner.visit_enum(Variants(data))
    }
}

/// A sequence whose elements are charged as the `Vec` that collects them grows.
struct Elements<A> {
    inner: A,
    len: usize,
    /// The capacity the collecting `Vec` has grown to, as the standard library grows it.
    capacity: usize,
}

/// The capacity a `Vec` of `size`-byte elements grows to from `capacity` when full: room for
/// 4 (8 for bytes, 1 above 1 KiB) first, then double.
fn grown(capacity: usize, size: usize) -> usize {
    match capacity {
        0 if size == 1 => 8,
        0 if size <= 1024 => 4,
        0 => 1,
        n => n.saturating_mul(2),
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Elements<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        let element = self.inner.next_element_seed(Seed::value(seed))?;
        if element.is_some() {
            self.len += 1;
            if self.len > self.capacity {
                let size = size_of::<T::Value>();
                let to = grown(self.capacity, size).max(self.len);
                charge_growth::<T::Value, A::Error>(self.capacity, to)?;
                self.capacity = to;
            }
        }
        Ok(element)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

/// A map whose entries are charged when they are separate allocations.
struct Entries<A> {
    inner: A,
    entries: bool,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Entries<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let key = self.inner.next_key_seed(Seed {
            inner: seed,
            key: self.entries,
        })?;
        if self.entries && key.is_some() {
            charge(MAP_SLACK * size_of::<K::Value>())?;
        }
        Ok(key)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        let value = self.inner.next_value_seed(Seed::value(seed))?;
        if self.entries {
            charge(MAP_SLACK * size_of::<S::Value>())?;
        }
        Ok(value)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

/// A seed whose value is read through [`Charged`] (as a map's key when `key`).
struct Seed<S> {
    inner: S,
    key: bool,
}

impl<S> Seed<S> {
    fn value(inner: S) -> Self {
        Seed { inner, key: false }
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.inner.deserialize(Charged {
            inner: deserializer,
            key: self.key,
        })
    }
}

/// An enum whose variant's content is read through [`Charged`].
struct Variants<A>(A);

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Variants<A> {
    type Error = A::Error;
    type Variant = Variant<A::Variant>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), A::Error> {
        let (value, variant) = self.0.variant_seed(Seed::value(seed))?;
        Ok((value, Variant(variant)))
    }
}

/// A variant's content, read through [`Charged`].
struct Variant<A>(A);

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Variant<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        self.0.newtype_variant_seed(Seed::value(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(
            len,
            Charging {
                inner: visitor,
                rules: NOTHING,
            },
        )
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0.struct_variant(
            fields,
            Charging {
                inner: visitor,
                rules: NOTHING,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::Value;

    use super::*;
    use crate::types::{ChatCompletion, ChatCompletionChunk};

    /// What decoding `text` as a `T` charges, whatever its length.
    fn spent<'de, T: Deserialize<'de>>(text: &'de str) -> usize {
        let _budget = Guard::set(usize::MAX - 1, 1);
        let mut de = serde_json::Deserializer::from_str(text);
        T::deserialize(Charged::new(&mut de)).unwrap();
        de.end().unwrap();
        usize::MAX - 1 - LEFT.with(Cell::get)
    }

    /// What decoding `text` into `place` charges.
    fn spent_in_place<'de, T: Deserialize<'de>>(text: &'de str, place: &mut T) -> usize {
        let _budget = Guard::set(usize::MAX - 1, 1);
        let mut de = serde_json::Deserializer::from_str(text);
        T::deserialize_in_place(Charged::new(&mut de), place).unwrap();
        usize::MAX - 1 - LEFT.with(Cell::get)
    }

    #[test]
    fn outside_a_bounded_decode_charging_is_free() {
        charge::<serde_json::Error>(usize::MAX).unwrap();
        assert_eq!(LEFT.with(Cell::get), UNBOUNDED);
        // And a guard leaves none behind.
        drop(Guard::set(10, 3));
        assert_eq!(LEFT.with(Cell::get), UNBOUNDED);
        assert!(BUDGET.with(Cell::get).is_none());
    }

    #[test]
    fn elements_charge_the_vec_growth() {
        assert_eq!(spent::<Vec<u64>>("[]"), 0);
        // Room for 4, then 8.
        assert_eq!(spent::<Vec<u64>>("[1,2,3,4]"), 4 * 8);
        assert_eq!(spent::<Vec<u64>>("[1,2,3,4,5]"), 8 * 8);
        // Past `RETAINED`, the allocation grown out of counts too.
        let n = RETAINED / 8 + 1;
        let text = format!("[{}0]", "0,".repeat(n - 1));
        let before = RETAINED / 8;
        assert_eq!(spent::<Vec<u64>>(&text), (2 * before + before) * 8);
        assert_eq!(spent::<Vec<u8>>("[1]"), 8);
        assert_eq!(grown(0, 2000), 1);
        // A `Value` array: 32-byte elements.
        assert_eq!(spent::<Value>("[0,0]"), 4 * size_of::<Value>());
        assert_eq!(grown(usize::MAX, 8), usize::MAX);
    }

    #[test]
    fn owned_strings_charge_their_length_and_the_allocation() {
        assert_eq!(spent::<String>(r#""abc""#), 3 + ALLOCATION);
        assert_eq!(spent::<String>(r#""""#), 0);
        assert_eq!(spent::<Value>(r#""abc""#), 3 + ALLOCATION);
        // A borrowed string allocates nothing.
        assert_eq!(spent::<&str>(r#""abc""#), 0);
    }

    #[test]
    fn map_entries_charge_twice_key_and_value() {
        assert_eq!(
            spent::<BTreeMap<String, u8>>(r#"{"a":1}"#),
            MAP_SLACK * (24 + 1) + 1 + ALLOCATION
        );
        assert_eq!(
            spent::<Value>(r#"{"a":0}"#),
            MAP_SLACK * (24 + size_of::<Value>()) + 1 + ALLOCATION
        );
    }

    #[test]
    fn struct_fields_are_inside_the_struct() {
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct S {
            a: u64,
            b: Option<u64>,
        }
        assert_eq!(spent::<S>(r#"{"a":1,"b":2}"#), 0);
        // The hand-written decoders: known fields cost nothing either.
        assert_eq!(spent::<ChatCompletionChunk>(r#"{"created":1}"#), 0);
    }

    #[test]
    fn extra_entries_are_charged_by_the_hand_written_decoders() {
        assert_eq!(
            spent::<ChatCompletionChunk>(r#"{"zz":0}"#),
            2 + ALLOCATION + MAP_SLACK * (24 + size_of::<Value>())
        );
    }

    #[test]
    fn in_place_lists_charge_their_growth() {
        let size = size_of::<crate::types::ChunkChoice>();
        assert_eq!(spent::<ChatCompletionChunk>(r#"{"choices":[{}]}"#), size);
        assert_eq!(
            spent::<ChatCompletionChunk>(r#"{"choices":[{},{}]}"#),
            4 * size
        );
        // Decoded again into the same value, the list has room already: nothing more.
        let mut place: ChatCompletionChunk =
            serde_json::from_str(r#"{"choices":[{},{}]}"#).unwrap();
        assert_eq!(spent_in_place(r#"{"choices":[{},{}]}"#, &mut place), 0);
        let size = size_of::<crate::types::ChatChoice>();
        assert_eq!(spent::<ChatCompletion>(r#"{"choices":[{}]}"#), size);
    }

    #[test]
    fn a_spent_budget_fails_naming_the_limit() {
        let text = format!("[{}0]", "0,".repeat(THRESHOLD));
        let e = from_str::<Value>(&text, 3).unwrap_err().to_string();
        let limit = text.len() * 3;
        assert!(
            e.contains("decoded-size limit") && e.contains(&limit.to_string()),
            "{e}"
        );
        assert_eq!(LEFT.with(Cell::get), UNBOUNDED);
        // Bytes and in-place decoding are bounded alike.
        assert!(from_slice::<Value>(text.as_bytes(), 3).is_err());
        let mut place = Value::Null;
        assert!(in_place(&text, &mut place, 3).is_err());
        // A larger multiple lets it through.
        assert!(from_str::<Value>(&text, 100).is_ok());
        assert!(from_str::<Value>(&text, usize::MAX).is_ok());
        // Once spent, it keeps failing.
        let _budget = Guard::set(1, 3);
        assert!(charge::<serde_json::Error>(4).is_err());
        assert!(charge::<serde_json::Error>(0).is_ok());
        assert!(charge::<serde_json::Error>(1).is_err());
    }

    #[test]
    fn a_large_final_responses_event_fits_a_stream_events_budget() {
        // The Responses API's last event carries the whole response: a long text decodes
        // (through serde's buffering of flattened structs) to about its size, well within
        // what a stream event may take (one multiple less than a body).
        let text = "All work and no play. ".repeat(50_000);
        let event = serde_json::json!({"type": "response.completed", "sequence_number": 9,
            "response": {"id": "r", "object": "response", "status": "completed", "model": "m",
                "output": [{"type": "message", "id": "m1", "role": "assistant", "status": "completed",
                    "content": [{"type": "output_text", "text": text, "annotations": []}]}],
                "usage": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}}})
        .to_string();
        let spent = spent::<crate::types::ResponseStreamEvent>(&event);
        assert!(spent < 2 * event.len(), "{spent} for {} bytes", event.len());
        assert!(from_str::<crate::types::ResponseStreamEvent>(&event, 2).is_ok());
    }

    #[test]
    fn texts_up_to_the_threshold_have_no_budget() {
        let text = format!("[{}0]", "0,".repeat(THRESHOLD / 2 - 2));
        assert!(text.len() <= THRESHOLD);
        assert!(from_str::<Value>(&text, 1).is_ok());
        let mut place = Value::Null;
        assert!(in_place(&text, &mut place, 1).is_ok());
    }
}
