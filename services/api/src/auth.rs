//! The caller's token, as an extractor: a handler that takes a [`Bearer`] is only reached by
//! a request with `Authorization: Bearer <token>`; any other is answered 401 in the API's
//! format with the words the services use. The gateway verifies nothing itself: the token
//! travels on with the gRPC call, and the service that answers checks it.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use shippy_common::ErrorKind;
use shippy_common::auth::{AuthError, bearer_from_metadata};
use shippy_proto::tonic::Request;
use shippy_proto::tonic::metadata::{Ascii, MetadataValue};

use crate::error::ApiError;

/// The `authorization` metadata to send on: `Bearer <token>`.
#[derive(Clone)]
pub struct Bearer(MetadataValue<Ascii>);

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer(<redacted>)")
    }
}

impl Bearer {
    /// A gRPC request for `message`, carrying the caller's token.
    pub fn request<T>(self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        request.metadata_mut().insert("authorization", self.0);
        request
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let refused = |e: AuthError| ApiError::new(ErrorKind::Unauthenticated, e.to_string());
        // Only `Authorization`: the services' other spelling (`token`) is not the REST API's.
        if !parts.headers.contains_key(AUTHORIZATION) {
            return Err(refused(AuthError::Missing));
        }
        let token = bearer_from_metadata(&parts.headers).map_err(refused)?;
        format!("Bearer {token}")
            .parse()
            .map(Self)
            .map_err(|_| refused(AuthError::Malformed))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    async fn bearer(authorization: Option<HeaderValue>) -> Result<Bearer, ApiError> {
        let mut request = axum::http::Request::new(());
        if let Some(value) = authorization {
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        let (mut parts, ()) = request.into_parts();
        Bearer::from_request_parts(&mut parts, &()).await
    }

    #[tokio::test]
    async fn no_header_is_a_401_saying_how_to_send_the_token() {
        let error = bearer(None).await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::Unauthenticated);
        assert_eq!(error.message, AuthError::Missing.to_string());
        assert!(error.message.contains("missing token"), "{}", error.message);
    }

    #[tokio::test]
    async fn a_header_that_is_not_a_bearer_token_is_a_401_malformed() {
        for value in [
            HeaderValue::from_static("Basic dXNlcjpwYXNz"),
            HeaderValue::from_static("Bearer"),
            HeaderValue::from_bytes("Bearer caf\u{e9}".as_bytes()).unwrap(),
        ] {
            let error = bearer(Some(value.clone())).await.unwrap_err();
            assert_eq!(error.kind, ErrorKind::Unauthenticated, "{value:?}");
            assert_eq!(error.message, AuthError::Malformed.to_string(), "{value:?}");
        }
    }

    #[tokio::test]
    async fn the_token_travels_on_with_the_grpc_call() {
        let value = HeaderValue::from_static("bearer  abc.def.ghi ");
        let request = bearer(Some(value)).await.unwrap().request(());
        assert_eq!(
            request.metadata().get("authorization").unwrap(),
            "Bearer abc.def.ghi"
        );
    }
}
