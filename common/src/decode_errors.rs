//! A gRPC request whose bytes do not decode (a string that is not UTF-8, a truncated field)
//! is the caller's mistake, but tonic answers it INTERNAL; a message over the 4 MiB cap it
//! answers OUT_OF_RANGE. Every server's answers pass through [`corrected`], which answers them as gRPC's own
//! servers do, INVALID_ARGUMENT and RESOURCE_EXHAUSTED, keeping tonic's message, which names
//! the field or the sizes.

use http::HeaderValue;

/// `response` with the code it should have had, when it is one of tonic's decoding failures
/// ([`crate::layers`] maps every answer through it).
pub fn corrected<B>(mut response: http::Response<B>) -> http::Response<B> {
    if let Some(code) = correction(response.headers()) {
        response
            .headers_mut()
            .insert("grpc-status", HeaderValue::from(code as i32));
    }
    response
}

/// The code a trailers-only answer should have had, when it is one of tonic's decoding
/// failures.
fn correction(headers: &http::HeaderMap) -> Option<tonic::Code> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: &str, message: &str) -> Option<tonic::Code> {
        let mut h = http::HeaderMap::new();
        h.insert("grpc-status", status.parse().unwrap());
        h.insert("grpc-message", message.parse().unwrap());
        correction(&h)
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
