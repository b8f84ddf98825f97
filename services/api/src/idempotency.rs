//! The `Idempotency-Key` a booking may carry, as an extractor that never refuses: the key is
//! judged with the body's fields, so that one 400 names every fault, and travels on to the
//! consignment service as gRPC metadata.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::HeaderValue;
use axum::http::request::Parts;
use shippy_common::{FieldCode, FieldErrors};
use shippy_proto::tonic::metadata::{Ascii, MetadataValue};

/// The header a client sends so a retried booking books once.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The `Idempotency-Key` header, if sent; judged in [`IdempotencyKey::check`], with the
/// body's fields, so that one 400 names every fault.
pub struct IdempotencyKey(Option<HeaderValue>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.headers.get(IDEMPOTENCY_KEY).cloned()))
    }
}

impl IdempotencyKey {
    /// The key as gRPC metadata, refused here unless it is a key the consignment service
    /// accepts: 1 to 128 visible ASCII characters. The refusal reads as the service's own
    /// does, so a client sees one message whichever refused it.
    pub fn check(self, errors: &mut FieldErrors) -> Option<MetadataValue<Ascii>> {
        let key = self.0?;
        let bytes = key.as_bytes();
        let valid = (1..=128).contains(&bytes.len()) && bytes.iter().all(u8::is_ascii_graphic);
        let parsed = valid.then(|| key.to_str().ok()?.parse().ok()).flatten();
        if parsed.is_none() {
            errors.add(
                IDEMPOTENCY_KEY,
                FieldCode::BadFormat,
                "must be 1 to 128 visible ASCII characters",
            );
        }
        parsed
    }
}
