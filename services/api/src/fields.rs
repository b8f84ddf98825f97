//! Request fields that never fail to deserialize: each holds its value or why it has none, so
//! a body with several wrong fields is answered with all of them at once (`error.fields`)
//! instead of serde's first complaint. The services check the rules (ranges, lengths); these
//! check only type, and presence where the service could not tell absent from zero.

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use shippy_common::{ErrorKind, FieldCode, FieldErrors};

use crate::error::ApiError;

/// A JSON field's value, absent, or the code and words of what was wrong with it.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Field<T> {
    /// Absent, or `null`.
    #[default]
    Missing,
    Value(T),
    Wrong(FieldCode, &'static str),
}

/// A whole number in a JSON body: `2` and `2.0` alike, as JSON Schema's `integer` allows;
/// required.
pub type Whole = Field<i32>;
/// A string in a JSON body; absent is empty, for the service to judge; `null` is not a
/// string (the API document does not allow it), so it is refused as one.
pub type Text = Field<String>;

const NOT_WHOLE: &str = "must be a whole number from -2147483648 to 2147483647";

impl Whole {
    /// The number, or 0 with the fault noted in `errors` under `name`.
    pub fn take(self, errors: &mut FieldErrors, name: &str) -> i32 {
        match self {
            Field::Value(n) => n,
            Field::Missing => {
                errors.add(name, FieldCode::Required, "is required");
                0
            }
            Field::Wrong(code, message) => {
                errors.add(name, code, message);
                0
            }
        }
    }
}

impl Text {
    /// The string (empty when absent), or empty with the fault noted in `errors`.
    pub fn take(self, errors: &mut FieldErrors, name: &str) -> String {
        match self {
            Field::Value(s) => s,
            Field::Missing => String::new(),
            Field::Wrong(code, message) => {
                errors.add(name, code, message);
                String::new()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(deserializer)? {
            Value::Null => Field::Missing,
            Value::Number(n) => n
                .as_f64()
                .filter(|f| f.fract() == 0.0)
                .filter(|f| (f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(f))
                .map_or(Field::Wrong(FieldCode::NotANumber, NOT_WHOLE), |f| {
                    #[allow(clippy::cast_possible_truncation)]
                    Field::Value(f as i32)
                }),
            _ => Field::Wrong(FieldCode::NotANumber, NOT_WHOLE),
        })
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(deserializer)? {
            Value::String(s) => Field::Value(s),
            _ => Field::Wrong(FieldCode::BadFormat, "must be a string"),
        })
    }
}

/// A whole number in a query string: `?capacity=3`; empty counts as missing; required.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryWhole(Whole);

impl<'de> Deserialize<'de> for QueryWhole {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        let raw = raw.trim();
        Ok(Self(if raw.is_empty() {
            Field::Missing
        } else {
            raw.parse()
                .map_or(Field::Wrong(FieldCode::NotANumber, NOT_WHOLE), Field::Value)
        }))
    }
}

impl QueryWhole {
    pub fn take(self, errors: &mut FieldErrors, name: &str) -> i32 {
        self.0.take(errors, name)
    }

    /// The number, `default` when absent, or 0 with the fault noted in `errors`.
    pub fn take_or(self, errors: &mut FieldErrors, name: &str, default: i32) -> i32 {
        match self.0 {
            Field::Missing => default,
            whole => whole.take(errors, name),
        }
    }
}

/// `Ok` when `errors` is empty, else a 400 naming every field in it.
pub fn check(errors: FieldErrors) -> Result<(), ApiError> {
    errors.finish().map_err(ApiError::invalid)
}

impl ApiError {
    /// A 400 naming every field in `errors`.
    pub fn invalid(errors: FieldErrors) -> Self {
        let message = errors.to_string();
        Self {
            fields: errors,
            ..Self::new(ErrorKind::InvalidArgument, message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        name: Text,
        #[serde(default)]
        company: Text,
        #[serde(default)]
        weight: Whole,
        #[serde(default)]
        capacity: Whole,
    }

    #[test]
    fn every_wrong_field_of_a_body_is_named_at_once() {
        let body: Body =
            serde_json::from_str(r#"{"name": 5, "weight": 2.5, "capacity": 2.0}"#).unwrap();
        let mut errors = FieldErrors::new();
        assert_eq!(body.name.take(&mut errors, "name"), "");
        assert_eq!(body.company.take(&mut errors, "company"), "");
        assert_eq!(body.weight.take(&mut errors, "weight"), 0);
        assert_eq!(body.capacity.take(&mut errors, "capacity"), 2);
        let codes: Vec<_> = errors
            .iter()
            .map(|e| format!("{} {}", e.field, e.code.as_str()))
            .collect();
        assert_eq!(codes, ["name bad_format", "weight not_a_number"]);
        let missing: Body = serde_json::from_str("{}").unwrap();
        let mut errors = FieldErrors::new();
        assert_eq!(missing.company.take(&mut errors, "company"), "");
        missing.weight.take(&mut errors, "weight");
        assert_eq!(
            errors.to_string(),
            "weight: is required",
            "absent text is empty"
        );
        // `null` is no string: an optional text field sent as null is refused, not emptied.
        let null: Body = serde_json::from_str(r#"{"company": null}"#).unwrap();
        let mut errors = FieldErrors::new();
        null.company.take(&mut errors, "company");
        assert_eq!(errors.to_string(), "company: must be a string");
    }

    #[derive(Deserialize)]
    struct Spec {
        #[serde(default)]
        capacity: QueryWhole,
        #[serde(default)]
        max_weight: QueryWhole,
    }

    #[test]
    fn an_empty_or_wordy_query_number_is_named_not_a_deserializer_error() {
        let spec: Spec = serde_urlencoded::from_str("capacity=&max_weight=ten").unwrap();
        let mut errors = FieldErrors::new();
        spec.capacity.take(&mut errors, "capacity");
        spec.max_weight.take(&mut errors, "max_weight");
        assert_eq!(
            errors.to_string(),
            format!("capacity: is required; max_weight: {NOT_WHOLE}")
        );
        let spec: Spec = serde_urlencoded::from_str("capacity=3&max_weight=-1").unwrap();
        let mut errors = FieldErrors::new();
        assert_eq!(
            (
                spec.capacity.take(&mut errors, "capacity"),
                spec.max_weight.take(&mut errors, "max_weight")
            ),
            (3, -1)
        );
        assert!(errors.is_empty());
    }
}
