//! The request meters every server keeps (`shippy_requests_total{method,code}`,
//! `shippy_request_duration_seconds{method}`, `shippy_requests_in_flight`), with their
//! handles kept per thread by method and code, so a request looks them up by `&str` rather
//! than building label strings and a registry key each time.

use std::cell::RefCell;
use std::collections::HashMap;

use metrics::{Counter, Gauge, Histogram};

#[derive(Default)]
struct Method {
    duration: Option<Histogram>,
    codes: HashMap<i64, Counter>,
}

thread_local! {
    static METHODS: RefCell<HashMap<String, Method>> = RefCell::new(HashMap::new());
    static IN_FLIGHT: Gauge = metrics::gauge!("shippy_requests_in_flight");
}

/// One more request in flight.
pub fn started() {
    IN_FLIGHT.with(|g| g.increment(1.0));
}

/// A request to `method` ended with `code` (gRPC code or HTTP status) after `seconds`.
pub fn finished(method: &str, code: i64, seconds: f64) {
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
        meters
            .codes
            .entry(code)
            .or_insert_with(|| {
                metrics::counter!(
                    "shippy_requests_total", "method" => method.to_owned(), "code" => code.to_string()
                )
            })
            .increment(1);
    });
}
