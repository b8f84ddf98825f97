//! The gRPC edge of the log service.

use std::sync::Arc;

use std::pin::Pin;

use shippy_common::auth::caller;
use shippy_common::events::LogEvent;
use shippy_common::shutdown::Stopping;
use shippy_common::{FieldCode, FieldErrors};
use shippy_proto::log::{self as pb, log_service_server::LogService};
use shippy_proto::tonic::{self, Request, Response, Status};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::{Stream, StreamExt};

use crate::repo::{Filter, LogRepository};

/// How many events `List` answers when the request does not say.
pub const DEFAULT_LIMIT: u32 = 50;
/// The most events one `List` answers.
pub const MAX_LIMIT: u32 = 1000;

/// Serves `shippy.log.LogService`.
#[derive(Clone)]
pub struct LogHandler {
    repo: Arc<dyn LogRepository>,
    live: broadcast::Sender<LogEvent>,
    stopping: Stopping,
}

impl LogHandler {
    /// `live` carries every newly recorded event, for `Watch`; watches end at `stopping`.
    pub fn new(
        repo: Arc<dyn LogRepository>,
        live: broadcast::Sender<LogEvent>,
        stopping: Stopping,
    ) -> Self {
        Self {
            repo,
            live,
            stopping,
        }
    }
}

fn to_proto(e: LogEvent) -> pb::LogEvent {
    pb::LogEvent {
        id: e.id,
        origin: e.origin,
        method: e.method,
        message: e.message,
        user_id: e.user_id,
        time_unix_ms: e.time_unix_ms,
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::LogEvent, Status>> + Send>>;

/// The filter a request asks for, on behalf of `caller_id`: a caller sees only their own.
pub fn filter(req: &pb::ListRequest, caller_id: &str) -> Result<Filter, Status> {
    if !req.user_id.is_empty() && req.user_id != caller_id {
        return Err(Status::permission_denied(
            "user_id: you can only list your own events",
        ));
    }
    let mut errors = FieldErrors::new();
    let negative = "must not be negative";
    errors.check(req.limit >= 0, "limit", FieldCode::TooSmall, negative);
    errors.check(
        req.since_unix_ms >= 0,
        "since_unix_ms",
        FieldCode::TooSmall,
        negative,
    );
    errors.check(
        req.until_unix_ms >= 0,
        "until_unix_ms",
        FieldCode::TooSmall,
        negative,
    );
    if !errors.is_empty() {
        return Err(errors.status(tonic::Code::InvalidArgument, errors.to_string()));
    }
    let limit = match req.limit {
        0 => DEFAULT_LIMIT,
        n => u32::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT),
    };
    Ok(Filter {
        user_id: caller_id.to_owned(),
        origin: Some(req.origin.trim().to_owned()).filter(|o| !o.is_empty()),
        since_unix_ms: Some(req.since_unix_ms).filter(|t| *t > 0),
        until_unix_ms: Some(req.until_unix_ms).filter(|t| *t > 0),
        limit,
    })
}

#[tonic::async_trait]
impl LogService for LogHandler {
    async fn list(
        &self,
        request: Request<pb::ListRequest>,
    ) -> Result<Response<pb::ListResponse>, Status> {
        let caller_id = caller(&request)?.user_id().to_owned();
        let filter = filter(request.get_ref(), &caller_id)?;
        let events = self.repo.list(&filter).await.map_err(|e| {
            tracing::warn!(error = %e, "log store unavailable");
            Status::unavailable("log store unavailable")
        })?;
        let events = events.into_iter().map(to_proto).collect();
        Ok(Response::new(pb::ListResponse { events }))
    }

    type WatchStream = EventStream;

    async fn watch(
        &self,
        request: Request<pb::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let caller_id = caller(&request)?.user_id().to_owned();
        let origin = request.into_inner().origin.trim().to_owned();
        let events =
            BroadcastStream::new(self.live.subscribe()).filter_map(move |next| match next {
                Ok(e) if e.user_id == caller_id && (origin.is_empty() || e.origin == origin) => {
                    Some(Ok(to_proto(e)))
                }
                Ok(_) => None,
                Err(lagged) => {
                    tracing::warn!(%lagged, "a watcher fell behind; some live events skipped");
                    None
                }
            });
        Ok(Response::new(Box::pin(self.stopping.bound(events))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_lists_only_their_own_events_within_the_limit() {
        let mine = filter(&pb::ListRequest::default(), "alice").unwrap();
        assert_eq!(
            (mine.user_id.as_str(), mine.limit),
            ("alice", DEFAULT_LIMIT)
        );
        let other = pb::ListRequest {
            user_id: "bob".into(),
            ..Default::default()
        };
        assert_eq!(
            filter(&other, "alice").unwrap_err().code(),
            tonic::Code::PermissionDenied
        );
        let huge = pb::ListRequest {
            limit: 1_000_000,
            ..Default::default()
        };
        assert_eq!(filter(&huge, "alice").unwrap().limit, MAX_LIMIT);
        let negative = pb::ListRequest {
            limit: -1,
            ..Default::default()
        };
        assert_eq!(
            filter(&negative, "alice").unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Any list request is the caller's own filter within the limit, or a clear refusal.
        #[test]
        fn any_list_request_is_bounded_or_refused(
            user_id in prop_oneof![Just(String::new()), Just("alice".to_owned()), ".{0,100}"],
            origin in ".{0,300}",
            since in any::<i64>(),
            until in any::<i64>(),
            limit in any::<i32>(),
        ) {
            let request = pb::ListRequest { user_id, origin, since_unix_ms: since, until_unix_ms: until, limit };
            match filter(&request, "alice") {
                Ok(f) => {
                    prop_assert_eq!(f.user_id.as_str(), "alice");
                    prop_assert!(f.limit >= 1 && f.limit <= MAX_LIMIT);
                }
                Err(status) => prop_assert!(matches!(
                    status.code(),
                    tonic::Code::InvalidArgument | tonic::Code::PermissionDenied
                )),
            }
        }
    }
}
