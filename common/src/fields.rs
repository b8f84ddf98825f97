//! Every field a request got wrong, at once: a domain checks all its fields and returns the
//! lot, gRPC carries them as `google.rpc.BadRequest` field violations, and the gateway answers
//! them as `error.fields`, so a person fixes a form in one go instead of one field per try.

use std::fmt;

/// Why a field was refused, as a stable code a client can word for a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldCode {
    /// Missing, or empty where a value is needed.
    Required,
    /// Not a whole number where one is needed.
    NotANumber,
    TooSmall,
    TooLarge,
    TooLong,
    /// Not in the form asked for (an email without `@`, a key with spaces).
    BadFormat,
}

/// code, REST code, gRPC `FieldViolation.reason`.
#[rustfmt::skip]
const CODES: [(FieldCode, &str, &str); 6] = [
    (FieldCode::Required,   "required",     "REQUIRED"),
    (FieldCode::NotANumber, "not_a_number", "NOT_A_NUMBER"),
    (FieldCode::TooSmall,   "too_small",    "TOO_SMALL"),
    (FieldCode::TooLarge,   "too_large",    "TOO_LARGE"),
    (FieldCode::TooLong,    "too_long",     "TOO_LONG"),
    (FieldCode::BadFormat,  "bad_format",   "BAD_FORMAT"),
];

impl FieldCode {
    /// The lowercase code REST clients see in `error.fields[].code`.
    pub fn as_str(self) -> &'static str {
        CODES
            .iter()
            .find(|row| row.0 == self)
            .map_or("", |row| row.1)
    }

    /// The SCREAMING_SNAKE_CASE reason a gRPC field violation carries.
    pub fn reason(self) -> &'static str {
        CODES
            .iter()
            .find(|row| row.0 == self)
            .map_or("", |row| row.2)
    }

    /// The code of a gRPC reason; an unknown one (another server's) counts as a bad format.
    pub fn from_reason(reason: &str) -> Self {
        CODES
            .iter()
            .find(|row| row.2 == reason)
            .map_or(FieldCode::BadFormat, |row| row.0)
    }
}

/// One refused field: its name as the client sent it, why, and the rule in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub code: FieldCode,
    pub message: String,
}

/// The most fields one answer names; past that they are counted, so that a consignment with
/// thousands of bad containers still fits its refusal in a gRPC header.
pub const MAX_FIELDS: usize = 20;

/// The fields a request got wrong, in the order they were checked (the first
/// [`MAX_FIELDS`], and how many more).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldErrors {
    errors: Vec<FieldError>,
    more: usize,
}

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// The errors of one field.
    pub fn one(field: impl Into<String>, code: FieldCode, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, code, message);
        errors
    }

    /// Records that `field` is wrong; a field already refused keeps its first reason.
    pub fn add(&mut self, field: impl Into<String>, code: FieldCode, message: impl Into<String>) {
        let field = field.into();
        if self.has(&field) {
            return;
        }
        if self.errors.len() >= MAX_FIELDS {
            self.more += 1;
            return;
        }
        self.errors.push(FieldError {
            field,
            code,
            message: message.into(),
        });
    }

    /// Records `field` as wrong unless `ok`.
    pub fn check(&mut self, ok: bool, field: &str, code: FieldCode, message: &str) {
        if !ok {
            self.add(field, code, message);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &FieldError> {
        self.errors.iter()
    }

    /// Whether `field` was refused.
    pub fn has(&self, field: &str) -> bool {
        self.errors.iter().any(|e| e.field == field)
    }

    /// The names of the refused fields, in order.
    pub fn names(&self) -> Vec<&str> {
        self.errors.iter().map(|e| e.field.as_str()).collect()
    }

    /// `Ok` when nothing was refused, else every refusal.
    pub fn finish(self) -> Result<(), Self> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

/// `name: must not be empty; capacity: must be greater than 0`.
impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", e.field, e.message)?;
        }
        if self.more > 0 {
            write!(f, "; and {} more", self.more)?;
        }
        Ok(())
    }
}

impl FieldErrors {
    /// A status of `code` saying `message` and carrying these as field violations.
    pub fn status(&self, code: tonic::Code, message: impl Into<String>) -> tonic::Status {
        use tonic_types::{ErrorDetails, StatusExt};
        let violations: Vec<_> = self
            .iter()
            .map(|e| tonic_types::FieldViolation {
                reason: e.code.reason().to_owned(),
                ..tonic_types::FieldViolation::new(&e.field, &e.message)
            })
            .collect();
        tonic::Status::with_error_details(code, message, ErrorDetails::with_bad_request(violations))
    }
}

impl From<&tonic_types::BadRequest> for FieldErrors {
    fn from(request: &tonic_types::BadRequest) -> Self {
        let mut errors = FieldErrors::new();
        for v in &request.field_violations {
            errors.add(&v.field, FieldCode::from_reason(&v.reason), &v.description);
        }
        errors
    }
}

/// The field errors a status carries, if any.
pub fn from_status(status: &tonic::Status) -> FieldErrors {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|request| FieldErrors::from(&request))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_kept_once_in_order_and_said_in_one_line() {
        let mut errors = FieldErrors::new();
        errors.check(false, "name", FieldCode::Required, "must not be empty");
        errors.check(
            true,
            "id",
            FieldCode::TooLong,
            "must be at most 64 characters",
        );
        errors.add("capacity", FieldCode::TooSmall, "must be greater than 0");
        errors.add("name", FieldCode::TooLong, "a second reason is dropped");
        assert_eq!(errors.names(), ["name", "capacity"]);
        assert_eq!(
            errors.to_string(),
            "name: must not be empty; capacity: must be greater than 0"
        );
        assert!(FieldErrors::new().finish().is_ok());
    }

    #[test]
    fn thousands_of_bad_fields_are_named_up_to_the_cap_and_counted_past_it() {
        let mut errors = FieldErrors::new();
        for i in 0..5_000 {
            errors.add(
                format!("containers[{i}].origin"),
                FieldCode::TooLong,
                "too long",
            );
        }
        assert_eq!(errors.iter().count(), MAX_FIELDS);
        assert!(errors.to_string().ends_with("; and 4980 more"), "{errors}");
        let status = errors.status(tonic::Code::InvalidArgument, errors.to_string());
        let response = status.into_http::<()>();
        let size: usize = response
            .headers()
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len())
            .sum();
        assert!(size < 8 * 1024, "{size} bytes of headers");
    }

    #[test]
    fn field_errors_cross_grpc_whole() {
        let mut errors = FieldErrors::new();
        for (row, (code, _, _)) in CODES.iter().enumerate() {
            errors.add(format!("f{row}"), *code, format!("rule {row}"));
        }
        let status = errors.status(tonic::Code::InvalidArgument, errors.to_string());
        assert_eq!(status.message(), errors.to_string());
        assert_eq!(from_status(&status), errors);
        assert!(from_status(&tonic::Status::invalid_argument("x: y")).is_empty());
    }
}
