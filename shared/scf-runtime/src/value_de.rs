//! A serde `Deserializer` over a `serde_json::Value` whose errors keep serde's *kind* of error
//! (a missing field, a wrong type, an unknown field, ...) instead of only a message.
//!
//! Why: typed input (`input.rs`) answers a missing field with `MISSING_<FIELD>` and anything else
//! with `BAD_REQUEST` naming what was expected, never the value sent. serde_json's own errors
//! are all `Category::Data` with a message, so the kind had to be parsed back out of the text
//! ("missing field `code`"): a custom message that happened to start that way was taken for a
//! missing field, and a change of wording in serde would have silently broken the codes.
//! serde's `de::Error` trait has one constructor per kind; this error type keeps which one was
//! called. The deserializer itself is the JSON data model as serde_json's `Value` deserializer
//! presents it (numbers as u64, else i64, else f64; `null` is `None` for an `Option`; an enum is
//! a string or an object of one key).

use std::fmt;

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeSeed, Expected, IntoDeserializer, Unexpected, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::Value;

/// What went wrong, by serde's kind of error. The refused value is never kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InputError {
    /// A required field is absent (`de::Error::missing_field`).
    Missing(&'static str),
    /// A wrong type, value, length or enum variant: what was expected.
    Expected(String),
    /// A field the type does not know (`deny_unknown_fields`).
    UnknownField,
    /// A field given twice.
    DuplicateField,
    /// Any other message (a field type's own validation, `try_from`), passed on as it is.
    Custom(String),
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Missing(field) => write!(f, "missing field `{field}`"),
            InputError::Expected(what) => write!(f, "expected {what}"),
            InputError::UnknownField => f.write_str("not an accepted field"),
            InputError::DuplicateField => f.write_str("given twice"),
            InputError::Custom(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for InputError {}

impl de::Error for InputError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        InputError::Custom(msg.to_string())
    }
    fn invalid_type(_: Unexpected<'_>, exp: &dyn Expected) -> Self {
        InputError::Expected(exp.to_string())
    }
    fn invalid_value(_: Unexpected<'_>, exp: &dyn Expected) -> Self {
        InputError::Expected(exp.to_string())
    }
    fn invalid_length(_: usize, exp: &dyn Expected) -> Self {
        InputError::Expected(exp.to_string())
    }
    fn unknown_variant(_: &str, expected: &'static [&'static str]) -> Self {
        let names: Vec<String> = expected.iter().map(|v| format!("`{v}`")).collect();
        InputError::Expected(match names.as_slice() {
            [] => "no variant at all".to_owned(),
            [one] => one.clone(),
            more => format!("one of {}", more.join(", ")),
        })
    }
    fn unknown_field(_: &str, _: &'static [&'static str]) -> Self {
        InputError::UnknownField
    }
    fn missing_field(field: &'static str) -> Self {
        InputError::Missing(field)
    }
    fn duplicate_field(_: &'static str) -> Self {
        InputError::DuplicateField
    }
}

/// A JSON value to deserialize from (owned: the input is read once).
pub(crate) struct ValueDe(pub(crate) Value);

impl<'de> IntoDeserializer<'de, InputError> for ValueDe {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

fn unexpected(v: &Value) -> Unexpected<'_> {
    match v {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Unexpected::Unsigned(u),
            (_, Some(i)) => Unexpected::Signed(i),
            _ => Unexpected::Float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

impl<'de> de::Deserializer<'de> for ValueDe {
    type Error = InputError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, InputError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => visitor.visit_u64(u),
                (_, Some(i)) => visitor.visit_i64(i),
                _ => visitor.visit_f64(n.as_f64().unwrap_or_default()),
            },
            Value::String(s) => visitor.visit_string(s),
            Value::Array(items) => {
                let mut seq = SeqDeserializer::new(items.into_iter().map(ValueDe));
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            Value::Object(map) => {
                let mut map = MapDeserializer::new(map.into_iter().map(|(k, v)| (k, ValueDe(v))));
                let value = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(value)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, InputError> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(ValueDe(other)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, InputError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, InputError> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(s.into_deserializer()),
            Value::Object(map) if map.len() == 1 => {
                let Some((variant, value)) = map.into_iter().next() else {
                    return Err(de::Error::invalid_length(0, &"an object of one key"));
                };
                visitor.visit_enum(EnumDe { variant, value })
            }
            other => Err(de::Error::invalid_type(
                unexpected(&other),
                &"a string or an object of one key",
            )),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// An enum written as `{"Variant": value}`.
struct EnumDe {
    variant: String,
    value: Value,
}

impl<'de> de::EnumAccess<'de> for EnumDe {
    type Error = InputError;
    type Variant = ValueDe;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, ValueDe), InputError> {
        let variant = seed.deserialize(self.variant.into_deserializer())?;
        Ok((variant, ValueDe(self.value)))
    }
}

impl<'de> de::VariantAccess<'de> for ValueDe {
    type Error = InputError;

    fn unit_variant(self) -> Result<(), InputError> {
        match self.0 {
            Value::Null => Ok(()),
            other => Err(de::Error::invalid_type(unexpected(&other), &"unit variant")),
        }
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<S::Value, InputError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, InputError> {
        de::Deserializer::deserialize_any(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, InputError> {
        de::Deserializer::deserialize_any(self, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Shapes {
        n: u32,
        f: f64,
        i: i64,
        o: Option<String>,
        list: Vec<u8>,
        unit: Kind,
        tagged: Kind,
        newtype: Wrapped,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    enum Kind {
        A,
        B(u8),
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Wrapped(String);

    fn read<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, InputError> {
        T::deserialize(ValueDe(v))
    }

    #[test]
    fn the_json_data_model_as_serde_json_presents_it() {
        let v = json!({"n": 7, "f": 2, "i": -3, "o": null, "list": [1, 2], "unit": "A",
            "tagged": {"B": 4}, "newtype": "w"});
        assert_eq!(
            read::<Shapes>(v.clone()).ok(),
            serde_json::from_value(v).ok()
        );
    }

    #[test]
    fn errors_keep_their_kind_and_never_the_value() {
        let base = json!({"n": 7, "f": 2, "i": -3, "o": null, "list": [1], "unit": "A",
            "tagged": "A", "newtype": "w"});
        let with = |k: &str, v: Value| {
            let mut b = base.clone();
            b[k] = v;
            read::<Shapes>(b).unwrap_err()
        };
        let mut missing = base.clone();
        missing.as_object_mut().unwrap().remove("n");
        assert_eq!(
            read::<Shapes>(missing).unwrap_err(),
            InputError::Missing("n")
        );
        assert_eq!(
            with("n", json!("s3cret")),
            InputError::Expected("u32".into())
        );
        assert_eq!(with("n", json!(-1)), InputError::Expected("u32".into()));
        assert_eq!(
            with("unit", json!("s3cret")),
            InputError::Expected("one of `A`, `B`".into())
        );
        assert_eq!(with("extra", json!(1)), InputError::UnknownField);
        for e in [with("n", json!("s3cret")), with("unit", json!("s3cret"))] {
            assert!(!e.to_string().contains("s3cret"), "{e}");
        }
    }
}
