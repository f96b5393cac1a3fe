//! States and events as the JSON stores keep, refused when JSON cannot hold them exactly.
//!
//! `serde_json` writes a `NaN` or an infinity as `null`: the value would come back as
//! something else (or not at all). So before a value is encoded, a pass over it looks for
//! non-finite floats, and after, the text is decoded back once: a value that does not come
//! back is refused with a typed error, and nothing is written.

use std::any::TypeId;
use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::ser::{self, Serialize};

use crate::{FastSet, FlowState};

/// Why a value cannot be stored: what it is, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unstorable(pub(crate) String);

impl fmt::Display for Unstorable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `value` as JSON, if it comes back from JSON as it went in.
pub(crate) fn encode<T: Serialize + DeserializeOwned>(value: &T) -> Result<Arc<str>, Unstorable> {
    let text = write(value)?;
    read_back::<T>(&text)?;
    Ok(text)
}

/// A flow's state as JSON, if it comes back from JSON as it went in.
///
/// Every value is checked for floats JSON cannot hold; the read back, which costs as much as
/// the write, is made once per state of each flow in each thread: what it finds (a field
/// written but not read, a `Serialize` and a `Deserialize` that disagree) is a property of
/// the state's type, not of one value.
pub(crate) fn encode_state<S>(state: &S) -> Result<Arc<str>, Unstorable>
where
    S: FlowState + Serialize + DeserializeOwned,
{
    thread_local! {
        static READ_BACK: RefCell<FastSet<(TypeId, usize)>> = RefCell::new(FastSet::default());
    }
    let text = write(state)?;
    let key = (TypeId::of::<S>(), state.index());
    if !READ_BACK.with_borrow(|checked| checked.contains(&key)) {
        read_back::<S>(&text)?;
        READ_BACK.with_borrow_mut(|checked| checked.insert(key));
    }
    Ok(text)
}

/// `value` as JSON, refusing floats JSON cannot hold. Written into a per-thread buffer and
/// copied into its `Arc<str>` once: one allocation per value written, not two.
fn write<T: Serialize>(value: &T) -> Result<Arc<str>, Unstorable> {
    thread_local! {
        static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    value
        .serialize(FiniteFloats)
        .map_err(|NonFinite(path)| Unstorable(path))?;
    BUFFER.with_borrow_mut(|buffer| {
        buffer.clear();
        serde_json::to_writer(&mut *buffer, value)
            .map_err(|error| Unstorable(format!("it cannot be written as JSON: {error}")))?;
        let text = std::str::from_utf8(buffer).expect("serde_json writes UTF-8");
        Ok(text.into())
    })
}

/// Checks that `text` reads back as a `T`.
fn read_back<T: DeserializeOwned>(text: &str) -> Result<(), Unstorable> {
    match serde_json::from_str::<T>(text) {
        Ok(_) => Ok(()),
        Err(error) => Err(Unstorable(format!(
            "it does not read back from the JSON it is written as ({error}): check its \
             `Serialize` and `Deserialize` agree"
        ))),
    }
}

/// `text`, decoded.
pub(crate) fn decode<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    serde_json::from_str(text)
}

/// The error of [`FiniteFloats`]: a float JSON cannot hold.
#[derive(Debug)]
struct NonFinite(String);

impl fmt::Display for NonFinite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NonFinite {}

impl ser::Error for NonFinite {
    fn custom<M: fmt::Display>(message: M) -> Self {
        Self(format!("it cannot be serialized: {message}"))
    }
}

/// A serializer that writes nothing and fails at the first `NaN` or infinity.
struct FiniteFloats;

fn check(value: f64) -> Result<(), NonFinite> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(NonFinite(format!(
            "it holds the float {value}, which JSON cannot hold (it would be read back as \
             `null`)"
        )))
    }
}

macro_rules! accept {
    ($($method:ident($ty:ty);)*) => {
        $(fn $method(self, _: $ty) -> Result<(), NonFinite> { Ok(()) })*
    };
}

impl ser::Serializer for FiniteFloats {
    type Ok = ();
    type Error = NonFinite;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    accept! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32);
        serialize_i64(i64); serialize_i128(i128); serialize_u8(u8); serialize_u16(u16);
        serialize_u32(u32); serialize_u64(u64); serialize_u128(u128); serialize_char(char);
        serialize_str(&str); serialize_bytes(&[u8]); serialize_unit_struct(&'static str);
    }

    fn serialize_f32(self, value: f32) -> Result<(), NonFinite> {
        check(f64::from(value))
    }
    fn serialize_f64(self, value: f64) -> Result<(), NonFinite> {
        check(value)
    }
    fn serialize_none(self) -> Result<(), NonFinite> {
        Ok(())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), NonFinite> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), NonFinite> {
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), NonFinite> {
        Ok(())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), NonFinite> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &T,
    ) -> Result<(), NonFinite> {
        value.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, NonFinite> {
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, NonFinite> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, NonFinite> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, NonFinite> {
        Ok(self)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self, NonFinite> {
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, NonFinite> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, NonFinite> {
        Ok(self)
    }
}

macro_rules! compound {
    ($($trait:ident :: $method:ident;)*) => {$(
        impl ser::$trait for FiniteFloats {
            type Ok = ();
            type Error = NonFinite;
            fn $method<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), NonFinite> {
                value.serialize(FiniteFloats)
            }
            fn end(self) -> Result<(), NonFinite> {
                Ok(())
            }
        }
    )*};
}

compound! {
    SerializeSeq::serialize_element;
    SerializeTuple::serialize_element;
    SerializeTupleStruct::serialize_field;
    SerializeTupleVariant::serialize_field;
}

impl ser::SerializeMap for FiniteFloats {
    type Ok = ();
    type Error = NonFinite;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), NonFinite> {
        key.serialize(FiniteFloats)
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), NonFinite> {
        value.serialize(FiniteFloats)
    }
    fn end(self) -> Result<(), NonFinite> {
        Ok(())
    }
}

impl ser::SerializeStruct for FiniteFloats {
    type Ok = ();
    type Error = NonFinite;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), NonFinite> {
        value
            .serialize(FiniteFloats)
            .map_err(|NonFinite(why)| NonFinite(format!("field `{name}`: {why}")))
    }
    fn end(self) -> Result<(), NonFinite> {
        Ok(())
    }
}

impl ser::SerializeStructVariant for FiniteFloats {
    type Ok = ();
    type Error = NonFinite;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), NonFinite> {
        value
            .serialize(FiniteFloats)
            .map_err(|NonFinite(why)| NonFinite(format!("field `{name}`: {why}")))
    }
    fn end(self) -> Result<(), NonFinite> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Reading {
        celsius: f64,
        previous: Option<f64>,
        samples: Vec<f32>,
    }

    #[test]
    fn finite_values_are_encoded_and_read_back() {
        let reading = Reading {
            celsius: 21.5,
            previous: None,
            samples: vec![1.0, 2.5],
        };
        let text = encode(&reading).unwrap();
        assert_eq!(decode::<Reading>(&text).unwrap(), reading);
    }

    #[test]
    fn a_nan_or_an_infinity_anywhere_is_refused_with_the_field_named() {
        let nan = Reading {
            celsius: f64::NAN,
            previous: None,
            samples: vec![],
        };
        assert_eq!(
            encode(&nan).unwrap_err().0,
            "field `celsius`: it holds the float NaN, which JSON cannot hold (it would be read \
             back as `null`)"
        );
        // `Some(NaN)` would come back as `None`: decoding alone would not see it.
        let hidden = Reading {
            celsius: 1.0,
            previous: Some(f64::INFINITY),
            samples: vec![],
        };
        assert!(
            encode(&hidden)
                .unwrap_err()
                .0
                .starts_with("field `previous`")
        );
        let nested = Reading {
            celsius: 1.0,
            previous: None,
            samples: vec![1.0, f32::NEG_INFINITY],
        };
        assert!(
            encode(&nested)
                .unwrap_err()
                .0
                .starts_with("field `samples`")
        );
    }

    #[test]
    fn a_value_that_does_not_read_back_is_refused() {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Lossy {
            #[serde(skip_serializing)]
            needed: u32,
        }
        let lossy = Lossy { needed: 1 };
        assert_eq!(lossy.needed, 1);
        let error = encode(&lossy).unwrap_err();
        assert!(error.0.contains("does not read back"), "{error}");
    }
}
