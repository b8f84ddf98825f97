//! Every service serves Prometheus text at `/metrics` on its admin port (registered with the
//! instance): valid exposition format that `promtool check metrics` finds nothing wrong with
//! (HELP on every metric), with the request, breaker, broker, outbox, consumer and registry
//! metrics, the process collector's standard ones, the duration histograms the
//! OpenTelemetry conventions name, and numbers that moved with the traffic.

use serde_json::Value;
use shippy_common::names;
use shippy_system_tests::prometheus::{Sample, parse, promtool_findings, scrape, scrape_text};
use shippy_system_tests::{System, eventually, sample};

fn sum(samples: &[Sample], name: &str, label: Option<(&str, &str)>) -> f64 {
    samples
        .iter()
        .filter(|(n, l, _)| {
            n == name && label.is_none_or(|(k, v)| l.get(k).is_some_and(|x| x.contains(v)))
        })
        .map(|(_, _, v)| v)
        .sum()
}

fn has(samples: &[Sample], name: &str) -> bool {
    samples.iter().any(|(n, _, _)| n == name)
}

#[tokio::test]
async fn every_service_serves_its_metrics_in_prometheus_text() {
    let mut system = System::start().await;
    let token = system.rest_user("metrics@example.com").await;
    let mut consignment: Value =
        serde_json::from_str(&std::fs::read_to_string(sample("consignment.json")).unwrap())
            .unwrap();
    // Three of one user's on the seeded vessel: within their share of it (half of 200 t).
    consignment["weight"] = serde_json::json!(20_000);
    for _ in 0..3 {
        let (status, _) = system
            .rest(
                "POST",
                "/api/v1/consignments",
                Some(&token),
                Some(consignment.clone()),
            )
            .await;
        assert_eq!(status, 201);
    }
    // Wait until the log service has consumed the sign-up and the three steps (pending,
    // reserved, booked) of each of the three bookings.
    let consumed = eventually(10, || async {
        let log = scrape(&system, names::LOG).await;
        (sum(&log, "shippy_events_consumed_total", None) >= 10.0).then_some(log)
    })
    .await
    .expect("the log service counts what it consumed");
    assert!(has(&consumed, "shippy_consumer_lag_seconds"));
    let (status, body) = system.rest("GET", "/api/v1/logs", Some(&token), None).await;
    assert_eq!(status, 200, "{body}");

    for service in names::ALL {
        let text = scrape_text(&system, service).await;
        assert_eq!(
            promtool_findings(&text),
            "",
            "promtool on {service}'s metrics"
        );
        let samples = parse(&text);
        let duration = if service == names::API {
            "http_server_request_duration_seconds"
        } else {
            "rpc_server_call_duration_seconds"
        };
        for name in [
            "shippy_requests_total",
            "shippy_request_duration_seconds_bucket",
            "shippy_request_duration_seconds_count",
            "shippy_requests_in_flight",
            &format!("{duration}_bucket"),
            &format!("{duration}_count"),
        ] {
            assert!(has(&samples, name), "{service} lacks {name}");
        }
        // The process collector's metrics, with values a live process has.
        for name in [
            "process_cpu_seconds_total",
            "process_open_fds",
            "process_max_fds",
            "process_virtual_memory_bytes",
            "process_start_time_seconds",
        ] {
            assert!(sum(&samples, name, None) > 0.0, "{service}: {name}");
        }
        let resident = sum(&samples, "process_resident_memory_bytes", None);
        assert!(
            resident > 1_000_000.0,
            "{service}: {resident} bytes resident"
        );
    }
    let consignment = scrape(&system, names::CONSIGNMENT).await;
    assert_eq!(
        sum(
            &consignment,
            "rpc_server_call_duration_seconds_count",
            Some(("rpc_method", "CreateConsignment"))
        ),
        3.0
    );
    let calls: Vec<&Sample> = consignment
        .iter()
        .filter(|(n, _, _)| n == "rpc_server_call_duration_seconds_count")
        .collect();
    assert!(
        calls
            .iter()
            .any(|(_, l, _)| l["rpc_method"] == "CreateConsignment"
                && l["rpc_service"] == "shippy.consignment.ShippingService"
                && l["rpc_grpc_status_code"] == "0"
                && l["rpc_system"] == "grpc"),
        "the conventions' labels: {calls:#?}"
    );
    let api = scrape(&system, names::API).await;
    assert_eq!(
        sum(
            &api,
            "http_server_request_duration_seconds_count",
            Some(("http_route", "/api/v1/consignments"))
        ),
        3.0
    );

    let api = scrape(&system, names::API).await;
    assert_eq!(
        sum(
            &api,
            "shippy_requests_total",
            Some(("method", "POST /api/v1/consignments"))
        ),
        3.0
    );
    assert!(
        sum(
            &api,
            "shippy_registry_instances",
            Some(("service", "shippy.consignment"))
        ) >= 1.0
    );
    assert!(has(&api, "shippy_breaker_open"));

    let consignment = scrape(&system, names::CONSIGNMENT).await;
    assert_eq!(
        sum(
            &consignment,
            "shippy_requests_total",
            Some(("method", "CreateConsignment"))
        ),
        3.0
    );
    assert_eq!(
        sum(&consignment, "shippy_events_published_total", None),
        6.0,
        "pending and booked for each booking"
    );
    assert_eq!(sum(&consignment, "shippy_outbox_backlog", None), 0.0);
    assert_eq!(
        sum(
            &consignment,
            "shippy_breaker_open",
            Some(("service", "shippy.vessel"))
        ),
        0.0,
        "the vessel instance's breaker is closed"
    );
    assert!(
        sum(
            &consignment,
            "shippy_registry_instances",
            Some(("service", "shippy.vessel"))
        ) >= 1.0
    );

    let vessel = scrape(&system, names::VESSEL).await;
    assert_eq!(
        sum(
            &vessel,
            "shippy_requests_total",
            Some(("method", "FindAvailable"))
        ),
        3.0
    );
    assert_eq!(
        sum(
            &vessel,
            "shippy_requests_total",
            Some(("method", "Reserve"))
        ),
        3.0
    );
    system.stop_all().await;
}
