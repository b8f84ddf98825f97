//! The caller's activity log.

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use serde::{Deserialize, Serialize};
use shippy_common::shutdown::Stopping;
use shippy_proto::log as pb;
use shippy_proto::log::log_event::Detail;
use tokio_stream::{Stream, StreamExt};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Bearer;
use crate::error::{ApiError, ErrorBody};
use crate::fields;
use crate::json::{Json, Query};
use crate::paging::PageParams;
use crate::state::{AppState, LogService};
use shippy_common::FieldErrors;

/// The calls: they answer once.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// The live stream: it stays open as long as the caller reads.
pub fn live() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream))
}

/// Which events to list.
#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Filter {
    /// Only events from this service, e.g. `shippy.consignment`.
    #[serde(default)]
    origin: String,
    /// Only events at or after this time (unix ms).
    #[serde(default)]
    #[param(minimum = 0)]
    since_unix_ms: i64,
    /// Only events before this time (unix ms).
    #[serde(default)]
    #[param(minimum = 0)]
    until_unix_ms: i64,
    /// The same as `page_size`, kept for clients from before paging (`page_size` wins).
    #[serde(default)]
    #[param(minimum = 0)]
    limit: i32,
}

/// Something that happened.
///
/// `detail` says what, typed by its `type` (one schema per kind of event); `message` says the
/// same in English for readers from before it, and may be reworded at any release: read
/// `detail`. A booking's events share its consignment id as `subject` and are numbered by
/// `sequence` in the order its steps happened.
#[derive(Serialize, ToSchema)]
pub struct Event {
    id: String,
    /// The service it came from.
    #[schema(example = "shippy.consignment")]
    origin: String,
    /// The RPC name older readers filter on.
    #[schema(example = "ConsignmentBooked")]
    method: String,
    /// The event in English, for people; not for programs to parse.
    message: String,
    user_id: String,
    time_unix_ms: i64,
    /// What the event is about: a booking's consignment id, a vessel's, a user's.
    subject: String,
    /// Its place among its subject's events, from 1 (0: unordered).
    sequence: i64,
    /// The kind of event and its facts; absent only on events from before details.
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<Detail>,
}

impl From<pb::LogEvent> for Event {
    fn from(e: pb::LogEvent) -> Self {
        Self {
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

#[derive(Serialize, ToSchema)]
pub struct EventList {
    events: Vec<Event>,
    /// The `page_token` of the next page; empty after the last.
    next_page_token: String,
}

/// List your events.
///
/// Your events, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/logs", tag = "logs", operation_id = "listEvents",
    params(Filter, PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of your events", body = EventList),
        (status = 400, description = "A bad filter, page size or page token", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    ))]
pub async fn list(
    State(logs): State<LogService>,
    bearer: Bearer,
    Query(f): Query<Filter>,
    Query(page): Query<PageParams>,
) -> Result<Json<EventList>, ApiError> {
    let mut errors = FieldErrors::new();
    let (page_size, page_token) = page.take(&mut errors);
    fields::check(errors)?;
    let message = pb::ListRequest {
        user_id: String::new(),
        origin: f.origin,
        since_unix_ms: f.since_unix_ms,
        until_unix_ms: f.until_unix_ms,
        limit: f.limit,
        page_size,
        page_token,
    };
    let mut client = logs.get().await?;
    let page = client.list(bearer.request(message)).await?.into_inner();
    Ok(Json(EventList {
        events: page.events.into_iter().map(Event::from).collect(),
        next_page_token: page.next_page_token,
    }))
}

/// Which live events to stream.
#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WatchFilter {
    /// Only events from this service, e.g. `shippy.consignment`.
    #[serde(default)]
    origin: String,
}

/// Stream your new events.
///
/// Your new events as they are recorded, as Server-Sent Events: one `log` event each, its
/// data an `Event` in JSON. Send the token in the `Authorization` header (read the stream
/// with `fetch`; `EventSource` cannot send headers).
#[utoipa::path(get, path = "/api/v1/logs/stream", tag = "logs", operation_id = "streamEvents",
    params(WatchFilter),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A stream of `log` events", content_type = "text/event-stream", body = Event),
        (status = 401, description = "No valid token", body = ErrorBody),
    ))]
pub async fn stream(
    State(logs): State<LogService>,
    State(stopping): State<Stopping>,
    bearer: Bearer,
    Query(f): Query<WatchFilter>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, std::convert::Infallible>>>, ApiError> {
    let mut client = logs.get().await?;
    let request = bearer.request(pb::WatchRequest { origin: f.origin });
    let events = client.watch(request).await?.into_inner();
    // The stream ends when the log service goes away; the browser reconnects.
    let sse = events.map_while(Result::ok).map(|e| {
        let id = e.id.clone();
        let event = SseEvent::default().event("log").id(id);
        Ok(event.json_data(Event::from(e)).unwrap_or_default())
    });
    Ok(Sse::new(stopping.bound(sse)).keep_alive(KeepAlive::default()))
}
