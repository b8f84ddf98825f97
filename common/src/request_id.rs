//! The id of the request being served (the gateway's `x-request-id`), kept for the task
//! that serves it: the server side sets it, log lines and the calls made onward read it.
//! Its own module, so the client that carries it onward needs nothing of the server's.

use std::future::Future;

tokio::task_local! {
    /// The id of the request being served (the gateway's `x-request-id`), for the calls it
    /// makes onward and for log lines.
    static REQUEST_ID: String;
}

/// The header the request id travels in.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of the request this task serves, if one came in.
pub fn request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Runs `work` as serving request `id`: calls it makes onward carry the id.
pub async fn with_request_id<F: Future>(id: String, work: F) -> F::Output {
    REQUEST_ID.scope(id, work).await
}
