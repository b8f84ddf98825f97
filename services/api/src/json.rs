//! A `Json` extractor whose rejections speak the API's error format (400 with the reason)
//! instead of axum's plain-text bodies.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;
use shippy_common::ErrorKind;

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// An `i32` from any JSON number that is a whole number: `2` and `2.0` alike, as JSON
/// Schema's `integer` allows; a fraction or a number out of range is refused.
pub fn whole_i32<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i32, D::Error> {
    use serde::Deserialize;
    use serde::de::{Error, Unexpected};
    let number = f64::deserialize(deserializer)?;
    if number.fract() == 0.0 && (f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&number) {
        #[allow(clippy::cast_possible_truncation)]
        return Ok(number as i32);
    }
    Err(D::Error::invalid_value(
        Unexpected::Float(number),
        &"a whole number from -2147483648 to 2147483647",
    ))
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let kind = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ErrorKind::TooLarge
        } else {
            ErrorKind::InvalidArgument
        };
        ApiError::new(kind, rejection.body_text())
    }
}

#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::new(ErrorKind::InvalidArgument, rejection.body_text())
    }
}
