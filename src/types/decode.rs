//! The machinery of the hand-written `Deserialize` impls of the response types (the chat
//! chunk, chat completion, text completion, model list and usage decoders): object keys
//! matched without allocating, readers that put each known field's value straight into the
//! value being built, and `fill_decoder!`, which writes a type's decoder from its list of
//! keys.
//!
//! Why not derived: a derived `#[serde(flatten)] extra` makes serde buffer the whole object
//! into its private content tree (every key and string copied, every value boxed) and then
//! pick the fields out of that tree again. These decoders read each known field straight
//! from the input and put only keys they do not know into `extra`, so an object without
//! unknown keys builds no map at all.
//!
//! Why in place: serde returns every decoded value by value, and each layer (the visitor,
//! the `Option` or `Vec` around it, the struct literal that collects the fields) copies it
//! once more. For a stream chunk (close to 300 bytes, with a 300-byte choice inside) that
//! was about fifteen copies of a few hundred bytes per event. So a decoder starts from the
//! type's default and its readers write into its fields, a nested decoded type (a choice, a
//! delta, a message, the usage) is filled where it will stay, and the elements of a `Vec`
//! are filled in the `Vec`.
//!
//! The rules stay the derive's: a missing key or `null` gives the field's default, a known
//! key given twice is an error, the last of an unknown key given twice wins, and a message's
//! or delta's `reasoning` is read from `reasoning` or, when that is absent or `null`,
//! `reasoning_content`. Each decoder's tests check this against the derived decoding it
//! replaced, on fixtures with every value replaced in turn ([`variants_decoded_alike`]).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::types::common::{Extra, lenient_opt_timestamp, lenient_timestamp};

/// A string (an object key, an open enum's value), borrowed from the input when it has no
/// escapes (the usual case), so matching it against the known names allocates nothing.
pub(in crate::types) struct Text<'de>(pub(in crate::types) Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;

        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }

        deserializer.deserialize_str(TextVisitor)
    }
}

/// A type decoded from a JSON object into an existing value, field by field (implemented by
/// [`fill_decoder!`]).
pub(in crate::types) trait Fill<'de>: Default {
    /// What the decoder expected, for the error on anything but an object.
    const EXPECTING: &'static str;

    /// Reads the object's keys into `self`. With [`Fresh`], `self` is the type's default when
    /// this starts. With [`Reused`], `self` may hold an earlier value (a value decoded into
    /// again, as `deserialize_in_place` does); when this returns `Ok`, it is what decoding
    /// into the default gives, with the earlier value's allocations reused where a field can
    /// keep them (strings, lists, nested decoded types).
    fn fill<A: MapAccess<'de>, M: Mode>(&mut self, map: A, mode: M) -> Result<(), A::Error>;
}

/// Whether a decoder fills a default ([`Fresh`]) or a value that may hold an earlier one
/// ([`Reused`]). A type, not a flag, so that each is compiled on its own: the fresh decoding
/// (every `Deserialize::deserialize`) carries none of the reuse's work.
pub(in crate::types) trait Mode: Copy {
    /// Whether the value may hold an earlier one.
    const REUSE: bool;
}

/// Filling a default.
#[derive(Clone, Copy)]
pub(in crate::types) struct Fresh;

impl Mode for Fresh {
    const REUSE: bool = false;
}

/// Filling a value that may hold an earlier one.
#[derive(Clone, Copy)]
pub(in crate::types) struct Reused;

impl Mode for Reused {
    const REUSE: bool = true;
}

/// Decodes an object into the value it borrows (see [`Fill`]).
pub(in crate::types) struct InPlace<'a, T, M> {
    pub(in crate::types) value: &'a mut T,
    pub(in crate::types) mode: M,
}

impl<'de, T: Fill<'de>, M: Mode> DeserializeSeed<'de> for InPlace<'_, T, M> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        // A struct, not a map, to bounded decoding (`crate::bounded`): the fields are inside
        // the value, so only `extra`'s entries are charged (by `keep`).
        deserializer.deserialize_struct(T::EXPECTING, &[], self)
    }
}

impl<'de, T: Fill<'de>, M: Mode> Visitor<'de> for InPlace<'_, T, M> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.value.fill(map, self.mode)
    }
}

/// Marks the known key at `position` of its decoder's list as seen; a second time is an
/// error, as with a derived decoder.
pub(in crate::types) fn first<E: de::Error>(
    seen: &mut u64,
    position: u32,
    name: &'static str,
) -> Result<(), E> {
    let bit = 1u64 << position;
    if *seen & bit != 0 {
        return Err(E::duplicate_field(name));
    }
    *seen |= bit;
    Ok(())
}

/// Where `key` is in `keys` (evaluated at compile time by [`fill_decoder!`]), or
/// `keys.len()` if it is not there.
pub(in crate::types) const fn position(keys: &[&str], key: &str) -> u32 {
    let mut i = 0;
    while i < keys.len() {
        if same(keys[i], key) {
            return i as u32;
        }
        i += 1;
    }
    keys.len() as u32
}

/// `a == b`, at compile time.
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The bits (positions in `keys`) of every key read into `field`; `fields[i]` is the field
/// `keys[i]` is read into. Evaluated at compile time by [`fill_decoder!`].
pub(in crate::types) const fn field_keys(keys: &[&str], fields: &[&str], field: &str) -> u64 {
    let mut bits = 0u64;
    let mut i = 0;
    while i < keys.len() && i < fields.len() {
        if same(fields[i], field) {
            bits |= 1u64 << i;
        }
        i += 1;
    }
    bits
}

/// A field that is not an `Option`: `null` gives its default. [`Reused`], a value is decoded
/// into the one the field holds (a string or a list keeps its allocation).
pub(in crate::types) fn or_default<'de, A, T, M>(
    map: &mut A,
    slot: &mut T,
    _: M,
) -> Result<(), A::Error>
where
    A: MapAccess<'de>,
    T: Deserialize<'de> + Default,
    M: Mode,
{
    if !M::REUSE {
        *slot = map.next_value::<Option<T>>()?.unwrap_or_default();
        return Ok(());
    }
    map.next_value_seed(Nullable::<T, T>(slot, PhantomData))
}

/// An `Option` field: `null` is `None`. [`Reused`], a value is decoded into the one the field
/// holds, if any (a string keeps its allocation).
pub(in crate::types) fn option<'de, A, T, M>(
    map: &mut A,
    slot: &mut Option<T>,
    _: M,
) -> Result<(), A::Error>
where
    A: MapAccess<'de>,
    T: Deserialize<'de>,
    M: Mode,
{
    if !M::REUSE {
        *slot = map.next_value()?;
        return Ok(());
    }
    map.next_value_seed(Nullable::<Option<T>, T>(slot, PhantomData))
}

/// `reasoning`: a value replaces one read from `reasoning_content` before it; `null` leaves
/// that in place. (A field read from two keys starts from its default, reused or not.)
pub(in crate::types) fn overriding<'de, A, T>(
    map: &mut A,
    slot: &mut Option<T>,
    _: impl Mode,
) -> Result<(), A::Error>
where
    A: MapAccess<'de>,
    T: Deserialize<'de>,
{
    if let Some(value) = map.next_value::<Option<T>>()? {
        *slot = Some(value);
    }
    Ok(())
}

/// `reasoning_content`: read into the field only when `reasoning` has not given it a value
/// (absent so far or `null`); a `reasoning` after it still wins. Always read in full, so a
/// value of the wrong type is an error as with a derived decoder.
pub(in crate::types) fn fallback<'de, A, T>(
    map: &mut A,
    slot: &mut Option<T>,
    _: impl Mode,
) -> Result<(), A::Error>
where
    A: MapAccess<'de>,
    T: Deserialize<'de>,
{
    let value = map.next_value::<Option<T>>()?;
    if slot.is_none() {
        *slot = value;
    }
    Ok(())
}

/// `created`, read leniently (an integer, a float truncated, or `null` for 0).
pub(in crate::types) fn timestamp<'de, A: MapAccess<'de>>(
    map: &mut A,
    slot: &mut u64,
    _: impl Mode,
) -> Result<(), A::Error> {
    *slot = map.next_value::<Timestamp>()?.0;
    Ok(())
}

/// A `created` that may be absent, read leniently (`null` is `None`).
pub(in crate::types) fn opt_timestamp<'de, A: MapAccess<'de>>(
    map: &mut A,
    slot: &mut Option<u64>,
    _: impl Mode,
) -> Result<(), A::Error> {
    *slot = map.next_value::<OptTimestamp>()?.0;
    Ok(())
}

/// A nested decoded type, filled where it stays; `null` gives its default.
pub(in crate::types) fn in_place<'de, A, T, M>(
    map: &mut A,
    slot: &mut T,
    mode: M,
) -> Result<(), A::Error>
where
    A: MapAccess<'de>,
    T: Fill<'de>,
    M: Mode,
{
    map.next_value_seed(Nested::<T, T, M> {
        slot,
        mode,
        _t: PhantomData,
    })
}

/// An optional nested decoded type: `null` is `None`, an object is filled in the `Some`
/// (made in place, not decoded apart and moved in: a usage is 136 bytes).
pub(in crate::types) fn option_in_place<'de, A, T, M>(
    map: &mut A,
    slot: &mut Option<T>,
    mode: M,
) -> Result<(), A::Error>
where
    A: MapAccess<'de>,
    T: Fill<'de>,
    M: Mode,
{
    map.next_value_seed(Nested::<Option<T>, T, M> {
        slot,
        mode,
        _t: PhantomData,
    })
}

/// A list of a decoded type, each element filled in the `Vec` ([`Reused`], into the element
/// already at its place, if any); `null` is an empty list.
pub(in crate::types) fn elements<'de, A, T, M>(
    map: &mut A,
    slot: &mut Vec<T>,
    mode: M,
) -> Result<(), A::Error>
where
    A: MapAccess<'de>,
    T: Fill<'de>,
    M: Mode,
{
    map.next_value_seed(Elements { list: slot, mode })
}

/// Keeps the value of a key this crate has no field for.
pub(in crate::types) fn keep<'de, A: MapAccess<'de>>(
    map: &mut A,
    extra: &mut Extra,
    key: Text<'de>,
) -> Result<(), A::Error> {
    let value = map.next_value()?;
    crate::bounded::charge_string(key.0.len())?;
    crate::bounded::charge_entry::<String, serde_json::Value, A::Error>()?;
    extra.insert(key.0.into_owned(), value);
    Ok(())
}

/// `created`, read leniently (an integer, a float, or `null`).
struct Timestamp(u64);

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        lenient_timestamp(deserializer).map(Timestamp)
    }
}

/// A `created` that may be absent, read leniently (an integer, a float, or `null` for `None`).
struct OptTimestamp(Option<u64>);

impl<'de> Deserialize<'de> for OptTimestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        lenient_opt_timestamp(deserializer).map(OptTimestamp)
    }
}

/// The seed of [`or_default`] and [`option`] when they reuse: `null`, or a value decoded
/// into the one the slot holds (`deserialize_in_place`: a string or a list keeps its
/// allocation), or, when it holds none, decoded anew and put there.
struct Nullable<'a, S, T>(&'a mut S, PhantomData<fn() -> T>);

/// A field [`Nullable`] and [`Nested`] read into: a `T` whose `null` is its default, or an
/// `Option<T>`. A trait rather than function pointers in the seeds, so that each is inlined.
trait Slot<T> {
    /// What `null` does to the slot.
    fn null(&mut self);
    /// The value in the slot that a value is decoded into, if there is one.
    fn open(&mut self) -> Option<&mut T>;
    /// Puts a value decoded anew into the slot.
    fn put(&mut self, value: T);
    /// The value in the slot, made as `T`'s default if there is none, and whether it was
    /// just made.
    fn open_or_default(&mut self) -> (&mut T, bool)
    where
        T: Default;
}

impl<T: Default> Slot<T> for T {
    fn null(&mut self) {
        *self = T::default();
    }

    fn open(&mut self) -> Option<&mut T> {
        Some(self)
    }

    fn put(&mut self, value: T) {
        *self = value;
    }

    fn open_or_default(&mut self) -> (&mut T, bool) {
        (self, false)
    }
}

impl<T> Slot<T> for Option<T> {
    fn null(&mut self) {
        *self = None;
    }

    fn open(&mut self) -> Option<&mut T> {
        self.as_mut()
    }

    fn put(&mut self, value: T) {
        *self = Some(value);
    }

    fn open_or_default(&mut self) -> (&mut T, bool)
    where
        T: Default,
    {
        match self {
            Some(earlier) => (earlier, false),
            None => (self.insert(T::default()), true),
        }
    }
}

impl<'de, S: Slot<T>, T: Deserialize<'de>> DeserializeSeed<'de> for Nullable<'_, S, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, S: Slot<T>, T: Deserialize<'de>> Visitor<'de> for Nullable<'_, S, T> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.0.null();
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        match self.0.open() {
            Some(value) => T::deserialize_in_place(deserializer, value),
            None => {
                let value = T::deserialize(deserializer)?;
                self.0.put(value);
                Ok(())
            }
        }
    }
}

/// The seed of [`in_place`] and [`option_in_place`]: `null`, or an object filled into the
/// value the slot holds or, when it holds none, into a default made there (filled
/// [`Fresh`]).
struct Nested<'a, S, T, M> {
    slot: &'a mut S,
    /// Whether the slot may hold an earlier value.
    mode: M,
    _t: PhantomData<fn() -> T>,
}

impl<'de, S: Slot<T>, T: Fill<'de>, M: Mode> DeserializeSeed<'de> for Nested<'_, S, T, M> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, S: Slot<T>, T: Fill<'de>, M: Mode> Visitor<'de> for Nested<'_, S, T, M> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.slot.null();
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        let (value, new) = self.slot.open_or_default();
        if M::REUSE && !new {
            InPlace {
                value,
                mode: self.mode,
            }
            .deserialize(deserializer)
        } else {
            InPlace { value, mode: Fresh }.deserialize(deserializer)
        }
    }
}

/// [`elements`]' seed: `null`, or an array whose elements are filled in the `Vec`.
struct Elements<'a, T, M> {
    list: &'a mut Vec<T>,
    mode: M,
}

impl<'de, T: Fill<'de>, M: Mode> DeserializeSeed<'de> for Elements<'_, T, M> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, T: Fill<'de>, M: Mode> Visitor<'de> for Elements<'_, T, M> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.list.clear();
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
        let list = self.list;
        let mut read = 0;
        while seq
            .next_element_seed(Element {
                list: &mut *list,
                at: read,
                mode: self.mode,
            })?
            .is_some()
        {
            read += 1;
        }
        list.truncate(read);
        Ok(())
    }
}

/// The element at `at` of [`Elements`]' list: `next_element_seed` calls it only when there is
/// one, so it is filled into the element already there (an earlier value's), or one made in
/// the list and filled there; never moved.
struct Element<'a, T, M> {
    list: &'a mut Vec<T>,
    at: usize,
    /// Whether the list may hold an earlier value's elements.
    mode: M,
}

impl<'de, T: Fill<'de>, M: Mode> DeserializeSeed<'de> for Element<'_, T, M> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        let list = self.list;
        let earlier = M::REUSE && self.at < list.len();
        if self.at >= list.len() {
            let before = list.capacity();
            if before == 0 {
                // Almost every list here has one element (one choice per chunk); `push` would
                // make room for four, which for a choice (~300 bytes) is an allocation too big
                // for the allocator's fast per-thread cache.
                list.reserve_exact(1);
            }
            // `resize_with` writes the default where it stays; `push(T::default())` built it
            // on the stack and copied it in.
            list.resize_with(self.at + 1, T::default);
            crate::bounded::charge_growth::<T, D::Error>(before, list.capacity())?;
        }
        match list.get_mut(self.at) {
            Some(value) if earlier => InPlace {
                value,
                mode: self.mode,
            }
            .deserialize(deserializer),
            Some(value) => InPlace { value, mode: Fresh }.deserialize(deserializer),
            None => Ok(()),
        }
    }
}

/// Implements [`Fill`] and `Deserialize` for the struct `$ty` from its list of known keys:
/// each (`"id" => id by or_default`) names the field it is read into and the reader above
/// that reads it; any other key goes into the struct's `extra`. A macro so that every
/// response type shares one loop, and only its list of keys is its own.
macro_rules! fill_decoder {
    (
        $ty:ident {
            $($key:literal => $field:ident by $read:ident),+ $(,)?
        }
    ) => {
        impl<'de> $crate::types::decode::Fill<'de> for $ty {
            const EXPECTING: &'static str = concat!("struct ", stringify!($ty));

            fn fill<A: serde::de::MapAccess<'de>, M: $crate::types::decode::Mode>(
                &mut self,
                mut map: A,
                mode: M,
            ) -> Result<(), A::Error> {
                use $crate::types::decode as field;
                const KEYS: &[&str] = &[$($key),+];
                const FIELDS: &[&str] = &[$(stringify!($field)),+];
                // A key's position is its bit in `seen`.
                const { assert!(KEYS.len() <= 64) };
                if M::REUSE {
                    // A field read from two keys (`reasoning`, `reasoning_content`) starts
                    // from its default: its readers combine what the keys give.
                    $(if const { field::field_keys(KEYS, FIELDS, stringify!($field)).count_ones() > 1 } {
                        self.$field = Default::default();
                    })+
                    // Usually empty: `clear` would still build and drop an iterator.
                    if !self.extra.is_empty() {
                        self.extra.clear();
                    }
                }
                let mut seen = 0u64;
                while let Some(key) = map.next_key::<field::Text<'de>>()? {
                    match &*key.0 {
                        $($key => {
                            field::first(&mut seen, const { field::position(KEYS, $key) }, $key)?;
                            field::$read(&mut map, &mut self.$field, mode)?;
                        })+
                        _ => field::keep(&mut map, &mut self.extra, key)?,
                    }
                }
                if M::REUSE {
                    // A field none of whose keys came takes its default, in place of the
                    // earlier value's.
                    $(if seen & const { field::field_keys(KEYS, FIELDS, stringify!($field)) } == 0 {
                        self.$field = Default::default();
                    })+
                }
                Ok(())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let mut value = Self::default();
                serde::de::DeserializeSeed::deserialize(
                    $crate::types::decode::InPlace {
                        value: &mut value,
                        mode: $crate::types::decode::Fresh,
                    },
                    deserializer,
                )?;
                Ok(value)
            }

            /// Decodes into `place`, reusing the allocations of the value it holds; after
            /// an error, `place` holds a partly decoded value.
            fn deserialize_in_place<D: serde::Deserializer<'de>>(
                deserializer: D,
                place: &mut Self,
            ) -> Result<(), D::Error> {
                serde::de::DeserializeSeed::deserialize(
                    $crate::types::decode::InPlace {
                        value: place,
                        mode: $crate::types::decode::Reused,
                    },
                    deserializer,
                )
            }
        }
    };
}
pub(in crate::types) use fill_decoder;

/// Implements `Deserialize` for an open string enum (`Role`, `FinishReason`): each known value
/// is its variant, any other string is kept in `Other`. Hand-written because the derive, for
/// an enum with an `#[serde(untagged)]` variant, buffers every value into serde's content
/// tree and then tries it twice (as a variant name, then as the untagged variant).
macro_rules! open_enum_decoder {
    ($ty:ident { $($wire:literal => $variant:ident),+ $(,)? }) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = $crate::types::decode::Text::deserialize(deserializer)?;
                Ok(match &*text.0 {
                    $($wire => $ty::$variant,)+
                    _ => $ty::Other(text.0.into_owned()),
                })
            }
        }
    };
}
pub(in crate::types) use open_enum_decoder;

/// Decodes `text` as `T` (hand-written) and as `R` (the derived reference); both must fail,
/// or both succeed with the same result as JSON, which shows every field and every `extra`
/// entry. Returns the `T`.
#[cfg(test)]
pub(in crate::types) fn decoded_alike<T, R>(text: &str) -> Option<T>
where
    T: serde::de::DeserializeOwned + serde::Serialize,
    R: serde::de::DeserializeOwned + serde::Serialize,
{
    match (
        serde_json::from_str::<T>(text),
        serde_json::from_str::<R>(text),
    ) {
        (Ok(ours), Ok(reference)) => {
            assert_eq!(
                serde_json::to_value(&ours).unwrap(),
                serde_json::to_value(&reference).unwrap(),
                "{text}"
            );
            Some(ours)
        }
        (Err(_), Err(_)) => None,
        (ours, reference) => panic!(
            "{text}: hand-written {:?}, derived {:?}",
            ours.map(|_| ()),
            reference.map(|_| ())
        ),
    }
}

/// The message of the error that decoding `text` as `T` fails with.
#[cfg(test)]
pub(in crate::types) fn decode_error<T: serde::de::DeserializeOwned>(text: &str) -> String {
    match serde_json::from_str::<T>(text) {
        Ok(_) => panic!("{text} decoded"),
        Err(e) => e.to_string(),
    }
}

/// Decodes `text` into a copy of `earlier` (reusing it, as a stream's `next_into` does) and
/// into a new value: both must fail, or both succeed with the same value.
#[cfg(test)]
pub(in crate::types) fn reused_alike<T>(earlier: &T, text: &str)
where
    T: serde::de::DeserializeOwned + serde::Serialize + Clone,
{
    let mut place = earlier.clone();
    let mut de = serde_json::Deserializer::from_str(text);
    let reused = T::deserialize_in_place(&mut de, &mut place).and_then(|()| de.end());
    match (reused, serde_json::from_str::<T>(text)) {
        (Ok(()), Ok(fresh)) => assert_eq!(
            serde_json::to_value(&place).unwrap(),
            serde_json::to_value(&fresh).unwrap(),
            "{text}"
        ),
        (Err(_), Err(_)) => {}
        (reused, fresh) => panic!(
            "{text}: reused {:?}, new {:?}",
            reused.map(|_| ()),
            fresh.map(|_| ())
        ),
    }
}

/// Checks with [`decoded_alike`] that each of `fixtures` decodes (to the same value both ways)
/// and that each of its [`variants`] decodes alike, and so do documents that are not an
/// object at all or not complete JSON; and with [`reused_alike`] that each decodes into a
/// value that held another fixture, or the variant before it, as into a new one. Returns
/// how many variants were checked.
#[cfg(test)]
pub(in crate::types) fn variants_decoded_alike<T, R>(fixtures: &[&str]) -> usize
where
    T: serde::de::DeserializeOwned + serde::Serialize + Clone,
    R: serde::de::DeserializeOwned + serde::Serialize,
{
    let decoded: Vec<T> = fixtures
        .iter()
        .map(|text| decoded_alike::<T, R>(text).unwrap_or_else(|| panic!("{text}")))
        .collect();
    for text in [
        "{}",
        "null",
        "[]",
        "[{}]",
        "\"x\"",
        "1",
        "{} trailing",
        "{\"x\":1",
    ] {
        decoded_alike::<T, R>(text);
        for earlier in &decoded {
            reused_alike(earlier, text);
        }
    }
    let mut checked = 0;
    for (i, text) in fixtures.iter().enumerate() {
        for earlier in &decoded {
            reused_alike(earlier, text);
        }
        let other = &decoded[(i + 1) % decoded.len()];
        let mut before = decoded[i].clone();
        for variant in variants(text) {
            if let Some(value) = decoded_alike::<T, R>(&variant) {
                reused_alike(other, &variant);
                reused_alike(&before, &variant);
                before = value;
            }
            checked += 1;
        }
    }
    checked
}

/// The documents `text` (a JSON object) turns into when each of its values, one at a time, is
/// replaced by each of a set of values of other types and shapes (`null`, numbers, strings,
/// arrays, objects), and when each key is renamed to an unknown one: inputs on which a
/// hand-written decoder must agree with the derived one it replaces.
#[cfg(test)]
pub(in crate::types) fn variants(text: &str) -> Vec<String> {
    use serde_json::{Value, json};

    fn paths(v: &Value, at: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
        out.push(at.clone());
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    at.push(json!(k));
                    paths(child, at, out);
                    at.pop();
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    at.push(json!(i));
                    paths(child, at, out);
                    at.pop();
                }
            }
            _ => {}
        }
    }
    fn at_mut<'a>(v: &'a mut Value, path: &[Value]) -> &'a mut Value {
        path.iter().fold(v, |v, step| match step {
            Value::String(k) => &mut v[k.as_str()],
            Value::Number(i) => &mut v[i.as_u64().unwrap() as usize],
            _ => unreachable!(),
        })
    }
    let replacements = [
        json!(null),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(4_294_967_296_u64),
        json!(""),
        json!("stop"),
        json!("assistant"),
        json!([]),
        json!([1, "a"]),
        json!({}),
        json!({"index": 2, "content": "x", "text": "y", "unknown": [1]}),
        json!(true),
    ];
    let doc: Value = serde_json::from_str(text).unwrap();
    let mut all = Vec::new();
    paths(&doc, &mut Vec::new(), &mut all);
    let mut out = Vec::new();
    for path in &all {
        for replacement in &replacements {
            let mut changed = doc.clone();
            *at_mut(&mut changed, path) = replacement.clone();
            out.push(changed.to_string());
        }
        if let Some((Value::String(key), parent)) = path.split_last() {
            let mut changed = doc.clone();
            let object = at_mut(&mut changed, parent).as_object_mut().unwrap();
            let value = object.remove(key).unwrap();
            object.insert(format!("x_{key}"), value);
            out.push(changed.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::types::{ChatCompletionChunk, FinishReason, Role};

    #[test]
    fn list_elements_are_filled_in_order_in_a_list_sized_for_one_first() {
        let one: ChatCompletionChunk =
            serde_json::from_str(r#"{"choices":[{"index":0,"delta":{"content":"a"}}]}"#).unwrap();
        assert_eq!(one.choices.capacity(), 1);
        let three: ChatCompletionChunk = serde_json::from_str(
            r#"{"choices":[{"index":0,"delta":{"content":"a"}},{"index":1},{"index":2,"delta":null}]}"#,
        )
        .unwrap();
        let indexes: Vec<u32> = three.choices.iter().map(|c| c.index).collect();
        assert_eq!(indexes, [0, 1, 2]);
        assert_eq!(three.choices[0].delta.content.as_deref(), Some("a"));
        let none: ChatCompletionChunk = serde_json::from_str(r#"{"choices":[]}"#).unwrap();
        assert_eq!((none.choices.len(), none.choices.capacity()), (0, 0));
    }

    #[test]
    fn open_enums_read_known_values_escaped_or_not_and_keep_others() {
        let roles = [
            Role::System,
            Role::Developer,
            Role::User,
            Role::Assistant,
            Role::Tool,
            Role::Function,
            Role::Other("narrator".into()),
        ];
        for role in roles {
            let text = serde_json::to_string(&role).unwrap();
            assert_eq!(text, format!("\"{}\"", role.as_str()));
            assert_eq!(serde_json::from_str::<Role>(&text).unwrap(), role);
        }
        // Every `FinishReason` is checked in `common.rs`; here its escaped and wrong forms.
        // Escaped, a known value is still that value; the match is exact.
        let stop: FinishReason = serde_json::from_str(r#""st\u006fp""#).unwrap();
        assert_eq!(stop, FinishReason::Stop);
        let upper: Role = serde_json::from_str(r#""User""#).unwrap();
        assert_eq!(upper, Role::Other("User".into()));
        // From a `Value` too (owned strings).
        let tool: Role = serde_json::from_value(serde_json::json!("tool")).unwrap();
        assert_eq!(tool, Role::Tool);
        let e = serde_json::from_str::<FinishReason>("5").unwrap_err();
        assert!(e.to_string().contains("expected a string"), "{e}");
        assert!(serde_json::from_str::<Role>(r#"{"user":null}"#).is_err());
    }
}
