//! The deadline of every request that answers once (every route but the live log stream):
//! past it the gateway stops waiting and answers 503 in the API's format, a failure the
//! caller may retry. It follows the call timeout (`request_timeout_secs`): a handler waits at
//! most that long for an instance, then at most that long for the call, so the deadline only
//! fires when something else hangs, and a slow service is still answered by its client's own,
//! more specific 503.

use std::future::{Ready, ready};
use std::time::Duration;

use shippy_common::ErrorKind;
use tower::BoxError;

use crate::error::ApiError;

/// The deadline for handlers whose service calls time out after `call_timeout`.
pub fn for_calls(call_timeout: Duration) -> Duration {
    call_timeout * 2 + Duration::from_secs(1)
}

/// What a request past `deadline` is answered (for axum's `HandleErrorLayer` over tower's
/// `TimeoutLayer`, whose only error is the elapsed deadline).
pub fn answer(deadline: Duration) -> impl Fn(BoxError) -> Ready<ApiError> + Clone + Send + Sync {
    move |_| {
        tracing::warn!(?deadline, "request passed its deadline");
        ready(ApiError::new(
            ErrorKind::Unavailable,
            format!(
                "the gateway gave up waiting after {deadline:?}; retry (a booking with the same Idempotency-Key)"
            ),
        ))
    }
}
