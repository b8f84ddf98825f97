//! A `Json` extractor whose rejections speak the API's error format (400 with the reason)
//! instead of axum's plain-text bodies.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;
use shippy_common::{ErrorKind, FieldCode, FieldErrors};

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::new(ErrorKind::TooLarge, rejection.body_text());
        }
        let text = rejection.body_text();
        let mut error = ApiError::new(ErrorKind::InvalidArgument, &text);
        // A value of the wrong shape deep in the body: serde names its path.
        if let JsonRejection::JsonDataError(_) = rejection
            && let Some((field, why)) = text
                .split_once("target type: ")
                .and_then(|(_, rest)| rest.split_once(": "))
                .filter(|(field, _)| !field.contains(' '))
        {
            error.fields = FieldErrors::one(field, FieldCode::BadFormat, why);
        }
        error
    }
}

#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        let text = rejection.body_text();
        let mut error = ApiError::new(ErrorKind::InvalidArgument, &text);
        // A parameter of the wrong shape: serde names it, so the answer names it too.
        if let Some((field, why)) = text
            .split_once("query string: ")
            .and_then(|(_, rest)| rest.split_once(": "))
            .filter(|(field, _)| !field.contains(' '))
        {
            error.fields = FieldErrors::one(field, FieldCode::BadFormat, why);
        }
        error
    }
}
