//! The request meters every server keeps (`shippy_requests_total{method,code}`,
//! `shippy_requests_in_flight`, and the duration histogram the conventions name for its
//! kind of server: `rpc_server_call_duration_seconds` for gRPC, OpenTelemetry's
//! `rpc.server.call.duration`, and `http_server_request_duration_seconds` for REST, its
//! `http.server.request.duration`), with their handles kept per thread by method and code, so
//! a request looks them up by `&str` rather than building label strings and a registry key
//! each time. `shippy_request_duration_seconds{method}`, the duration before those, is kept
//! one more release, while the dashboards move over. [`describe`] gives every metric of the
//! workspace its HELP text.

use std::cell::RefCell;
use std::collections::HashMap;

use metrics::{Counter, Gauge, Histogram, Unit};

#[derive(Default)]
struct Method {
    duration: Option<Histogram>,
    codes: HashMap<i64, (Counter, Histogram)>,
}

thread_local! {
    static METHODS: RefCell<HashMap<String, Method>> = RefCell::new(HashMap::new());
    static IN_FLIGHT: Gauge = metrics::gauge!("shippy_requests_in_flight");
}

/// One more request in flight.
pub fn started() {
    IN_FLIGHT.with(|g| g.increment(1.0));
}

/// A request to `method` ended with `code` (gRPC code or HTTP status) after `seconds`;
/// `conventional` makes the histogram the conventions name for it (once per method, code
/// and thread).
pub fn finished(method: &str, code: i64, seconds: f64, conventional: impl FnOnce() -> Histogram) {
    IN_FLIGHT.with(|g| g.decrement(1.0));
    METHODS.with(|methods| {
        let mut methods = methods.borrow_mut();
        if !methods.contains_key(method) {
            methods.insert(method.to_owned(), Method::default());
        }
        let Some(meters) = methods.get_mut(method) else {
            return;
        };
        meters
            .duration
            .get_or_insert_with(|| {
                metrics::histogram!("shippy_request_duration_seconds", "method" => method.to_owned())
            })
            .record(seconds);
        let (count, duration) = meters.codes.entry(code).or_insert_with(|| {
            let count = metrics::counter!(
                "shippy_requests_total", "method" => method.to_owned(), "code" => code.to_string()
            );
            (count, conventional())
        });
        count.increment(1);
        duration.record(seconds);
    });
}

/// `rpc.server.call.duration` of a gRPC call to `path` (`/package.Service/Method`) that
/// ended with `code`.
pub fn rpc_duration(path: &str, code: i64) -> Histogram {
    let (service, method) = crate::grpc::rpc_names(path);
    metrics::histogram!(
        RPC_SERVER_DURATION,
        "rpc_system" => "grpc",
        "rpc_service" => service.to_owned(),
        "rpc_method" => method.to_owned(),
        "rpc_grpc_status_code" => code.to_string(),
    )
}

/// `http.server.request.duration` of a REST request to `route` that ended with `status`.
pub fn http_duration(method: &str, route: &str, status: i64) -> Histogram {
    metrics::histogram!(
        HTTP_SERVER_DURATION,
        "http_request_method" => method.to_owned(),
        "http_route" => route.to_owned(),
        "http_response_status_code" => status.to_string(),
    )
}

/// OpenTelemetry's `rpc.server.call.duration` (seconds), as Prometheus names it.
pub const RPC_SERVER_DURATION: &str = "rpc_server_call_duration_seconds";
/// OpenTelemetry's `http.server.request.duration` (seconds), as Prometheus names it.
pub const HTTP_SERVER_DURATION: &str = "http_server_request_duration_seconds";

/// Gives every metric any code here records its HELP text; once, right after the recorder
/// is installed ([`crate::admin::install`]).
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "shippy_requests_total",
        "Requests served, by method (gRPC path, or HTTP method and route) and code (gRPC \
         status code or HTTP status)."
    );
    describe_gauge!("shippy_requests_in_flight", "Requests being served now.");
    describe_histogram!(
        "shippy_request_duration_seconds",
        Unit::Seconds,
        "Time to serve a request, by method. Superseded by rpc_server_call_duration_seconds \
         and http_server_request_duration_seconds; kept one more release."
    );
    describe_histogram!(
        RPC_SERVER_DURATION,
        Unit::Seconds,
        "Time to serve a gRPC call (OpenTelemetry rpc.server.call.duration), by service, \
         method and status code."
    );
    describe_histogram!(
        HTTP_SERVER_DURATION,
        Unit::Seconds,
        "Time to serve a REST request (OpenTelemetry http.server.request.duration), by \
         method, route and status code."
    );
    describe_gauge!(
        "shippy_registry_instances",
        "Healthy instances of a service this process knows of, by service."
    );
    describe_gauge!(
        "shippy_breaker_open",
        "Whether the breaker in front of an instance is open (1) or closed (0)."
    );
    describe_counter!(
        "shippy_breaker_opened_total",
        "Times the breaker in front of an instance opened."
    );
    describe_counter!(
        "shippy_faults_injected_total",
        "Faults injected, by fault flag."
    );
    describe_gauge!(
        "shippy_fault_flag",
        "The value of each fault flag (0: off)."
    );
    describe_counter!(
        "shippy_events_published_total",
        "Events the outbox relay published to the broker, by topic."
    );
    describe_counter!(
        "shippy_event_publish_failures_total",
        "Batches of events the broker refused, by topic: they wait in the outbox."
    );
    describe_gauge!(
        "shippy_outbox_backlog",
        "Events waiting in the outbox for the broker."
    );
    describe_counter!(
        "shippy_events_consumed_total",
        "Events the log service consumed, by topic."
    );
    describe_gauge!(
        "shippy_consumer_lag_seconds",
        Unit::Seconds,
        "Age of the newest event the log service consumed, when it consumed it."
    );
    describe_gauge!(
        "shippy_live_feeds_open",
        "Live log feeds being streamed now."
    );
    describe_counter!(
        "shippy_password_work_refused_total",
        "Password hashings refused because too many were under way."
    );
    describe_gauge!(
        "shippy_revocations_behind_seconds",
        Unit::Seconds,
        "How long this process has not been known up to date with the log-outs (0: it is)."
    );
}
