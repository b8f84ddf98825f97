//! The gRPC edge of the log service: proto in, the domain's rules, the store, proto out.
//! The conversions between the wire's `LogEvent` and the domain's [`Event`] live here, and
//! the broker consumer uses them too.

use std::pin::Pin;
use std::sync::Arc;

use shippy_common::auth::caller;
use shippy_common::error::to_status;
use shippy_common::paging::PageRequest;
use shippy_common::shutdown::Stopping;
use shippy_proto::log::{self as pb, log_service_server::LogService};
use shippy_proto::tonic::{self, Request, Response, Status};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::{Stream, StreamExt};

use crate::domain::{Event, EventKey, Filter, ListQuery, LogError, Watch};
use crate::feeds::Feeds;
use crate::repo::LogRepository;

/// Serves `shippy.log.LogService`.
#[derive(Clone)]
pub struct LogHandler {
    repo: Arc<dyn LogRepository>,
    live: broadcast::Sender<Event>,
    feeds: Feeds,
    stopping: Stopping,
}

impl LogHandler {
    /// `live` carries every newly recorded event, for `Watch`; `feeds` bounds the watches,
    /// which end at `stopping` too.
    pub fn new(
        repo: Arc<dyn LogRepository>,
        live: broadcast::Sender<Event>,
        feeds: Feeds,
        stopping: Stopping,
    ) -> Self {
        Self {
            repo,
            live,
            feeds,
            stopping,
        }
    }
}

impl From<pb::LogEvent> for Event {
    fn from(e: pb::LogEvent) -> Self {
        Event {
            id: e.id,
            origin: e.origin,
            method: e.method,
            message: e.message,
            user_id: e.user_id,
            time_unix_ms: e.time_unix_ms,
            subject: e.subject,
            sequence: e.sequence,
            detail: e.detail,
        }
    }
}

impl From<Event> for pb::LogEvent {
    fn from(e: Event) -> Self {
        pb::LogEvent {
            id: e.id,
            origin: e.origin,
            method: e.method,
            message: e.message,
            user_id: e.user_id,
            time_unix_ms: e.time_unix_ms,
            subject: e.subject,
            sequence: e.sequence,
            detail: e.detail,
        }
    }
}

impl From<pb::ListRequest> for ListQuery {
    fn from(r: pb::ListRequest) -> Self {
        ListQuery {
            user_id: r.user_id,
            origin: r.origin,
            since_unix_ms: r.since_unix_ms,
            until_unix_ms: r.until_unix_ms,
            limit: r.limit,
            page_size: r.page_size,
            page_token: r.page_token,
        }
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::LogEvent, Status>> + Send>>;

/// The filter and page a request asks for, on behalf of `caller_id`: a caller sees only
/// their own.
pub fn filter(
    req: &pb::ListRequest,
    caller_id: &str,
) -> Result<(Filter, PageRequest<EventKey>), Status> {
    ListQuery::from(req.clone())
        .filter_for(caller_id)
        .map_err(|e| to_status(&e))
}

fn status(e: LogError) -> Status {
    if let LogError::Store(_) = e {
        tracing::warn!(error = %e.detail(), "log store unavailable");
    }
    to_status(&e)
}

#[tonic::async_trait]
impl LogService for LogHandler {
    async fn list(
        &self,
        request: Request<pb::ListRequest>,
    ) -> Result<Response<pb::ListResponse>, Status> {
        let caller_id = caller(&request)?.user_id().to_owned();
        let (filter, page) = filter(request.get_ref(), &caller_id)?;
        let rows = self
            .repo
            .list(&filter, &page)
            .await
            .map_err(|e| status(e.into()))?;
        let page = page.page(rows, Event::key, &filter.query());
        Ok(Response::new(pb::ListResponse {
            events: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    type WatchStream = EventStream;

    async fn watch(
        &self,
        request: Request<pb::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let claims = Arc::clone(&caller(&request)?.claims);
        let seat = self.feeds.seat(&claims.sub).map_err(status)?;
        let watch = Watch::new(&claims.sub, &request.into_inner().origin);
        let events =
            BroadcastStream::new(self.live.subscribe()).filter_map(move |next| match next {
                Ok(e) if watch.sees(&e) => Some(Ok(e.into())),
                Ok(_) => None,
                Err(lagged) => {
                    tracing::warn!(%lagged, "a watcher fell behind; some live events skipped");
                    None
                }
            });
        let events = self.feeds.bound(events, claims, seat);
        Ok(Response::new(Box::pin(self.stopping.bound(events))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shippy_common::paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

    #[test]
    fn a_caller_lists_only_their_own_events_within_the_limit() {
        let (mine, page) = filter(&pb::ListRequest::default(), "alice").unwrap();
        assert_eq!(
            (mine.user_id.as_str(), page.size),
            ("alice", DEFAULT_PAGE_SIZE)
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
        assert_eq!(filter(&huge, "alice").unwrap().1.size, MAX_PAGE_SIZE);
        let sized = pb::ListRequest {
            limit: 7,
            page_size: 3,
            ..Default::default()
        };
        assert_eq!(filter(&sized, "alice").unwrap().1.size, 3, "page_size wins");
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
    use shippy_common::paging::MAX_PAGE_SIZE;

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
            let request = pb::ListRequest {
                user_id, origin, since_unix_ms: since, until_unix_ms: until, limit,
                ..Default::default()
            };
            match filter(&request, "alice") {
                Ok((f, page)) => {
                    prop_assert_eq!(f.user_id.as_str(), "alice");
                    prop_assert!(page.size >= 1 && page.size <= MAX_PAGE_SIZE);
                }
                Err(status) => prop_assert!(matches!(
                    status.code(),
                    tonic::Code::InvalidArgument | tonic::Code::PermissionDenied
                )),
            }
        }
    }
}
