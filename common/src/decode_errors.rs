//! A gRPC request whose bytes do not decode (a string that is not UTF-8, a truncated field)
//! is the caller's mistake, but tonic answers it INTERNAL; a message over the 4 MiB cap it
//! answers OUT_OF_RANGE. This layer, mounted on every server, answers them as gRPC's own
//! servers do, INVALID_ARGUMENT and RESOURCE_EXHAUSTED, keeping tonic's message, which names
//! the field or the sizes.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::HeaderValue;

/// The layer for `Server::builder().layer(...)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct DecodeErrorsLayer;

impl<S> tower::Layer<S> for DecodeErrorsLayer {
    type Service = DecodeErrors<S>;

    fn layer(&self, inner: S) -> Self::Service {
        DecodeErrors { inner }
    }
}

#[derive(Clone, Debug)]
pub struct DecodeErrors<S> {
    inner: S,
}

/// The code a trailers-only answer should have had, when it is one of tonic's decoding
/// failures.
fn corrected(headers: &http::HeaderMap) -> Option<tonic::Code> {
    let status = headers.get("grpc-status")?;
    let message = headers
        .get("grpc-message")
        .map(HeaderValue::as_bytes)
        .unwrap_or_default();
    let starts = |text: &str| {
        message.starts_with(text.as_bytes())
            || message.starts_with(text.replace(' ', "%20").as_bytes())
    };
    if status == "13" && starts("failed to decode") {
        Some(tonic::Code::InvalidArgument)
    } else if status == "11" && starts("Error, decoded message length too large") {
        Some(tonic::Code::ResourceExhausted)
    } else {
        None
    }
}

impl<S, B, RB> tower::Service<http::Request<B>> for DecodeErrors<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let answer = self.inner.call(request);
        Box::pin(async move {
            let mut response = answer.await?;
            if let Some(code) = corrected(response.headers()) {
                response
                    .headers_mut()
                    .insert("grpc-status", HeaderValue::from(code as i32));
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: &str, message: &str) -> Option<tonic::Code> {
        let mut h = http::HeaderMap::new();
        h.insert("grpc-status", status.parse().unwrap());
        h.insert("grpc-message", message.parse().unwrap());
        corrected(&h)
    }

    #[test]
    fn only_tonics_decoding_failures_are_corrected() {
        let bad_bytes = "failed%20to%20decode%20Protobuf%20message";
        assert_eq!(answer("13", bad_bytes), Some(tonic::Code::InvalidArgument));
        let too_big = "Error,%20decoded%20message%20length%20too%20large:%20found";
        assert_eq!(answer("11", too_big), Some(tonic::Code::ResourceExhausted));
        assert_eq!(answer("13", "internal%20error"), None);
        assert_eq!(answer("3", "failed to decode"), None);
        assert_eq!(answer("11", "limit: must not be negative"), None);
    }
}
