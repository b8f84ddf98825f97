//! One trace per request: a booking through REST leaves spans in the gateway,
//! consignment-service, vessel-service and (through the broker's headers) the log service's
//! consumer, all with one trace id and each parented by the span that caused it. The spans
//! are exported over OTLP/HTTP to a collector this test runs.

use serde_json::Value;
use shippy_system_tests::otlp::{Span, collector};
use shippy_system_tests::{System, eventually, sample};

fn one<'a>(spans: &'a [Span], service: &str, name: &str) -> &'a Span {
    let found: Vec<&Span> = spans
        .iter()
        .filter(|s| s.service == service && s.name.contains(name))
        .collect();
    assert_eq!(found.len(), 1, "one {name} span in {service}: {spans:#?}");
    found[0]
}

#[tokio::test]
async fn a_booking_is_one_trace_across_gateway_services_and_broker() {
    let (url, spans) = collector().await;
    let mut system = System::start_with(&[
        ("SHIPPY_TELEMETRY__OTLP_ENDPOINT", &url),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ])
    .await;
    let token = system.rest_user("traced@example.com").await;
    let consignment: Value =
        serde_json::from_str(&std::fs::read_to_string(sample("consignment.json")).unwrap())
            .unwrap();
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/consignments", system.api_url().await))
        .bearer_auth(&token)
        .json(&consignment)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let trace = response.headers()["x-trace-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    let user_id = body["consignment"]["user_id"].as_str().unwrap().to_owned();

    let traced = eventually(20, || async {
        let all: Vec<Span> = spans
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.trace_id == trace)
            .cloned()
            .collect();
        let services: std::collections::BTreeSet<&str> =
            all.iter().map(|s| s.service.as_str()).collect();
        let records = all.iter().filter(|s| s.name.contains("record")).count();
        (services.len() == 4 && records == 3).then_some(all)
    })
    .await
    .unwrap_or_else(|| panic!("spans of trace {trace}: {:#?}", spans.lock().unwrap()));

    let gateway = one(&traced, "shippy.api", "POST /api/v1/consignments");
    let booking = one(&traced, "shippy.consignment", "CreateConsignment");
    let lookup = one(&traced, "shippy.vessel", "FindAvailable");
    let reserve = one(&traced, "shippy.vessel", "Reserve");
    assert_eq!(gateway.parent, "", "the gateway's span is the root");
    assert_eq!(
        booking.parent, gateway.span_id,
        "the gateway called consignment"
    );
    assert_eq!(lookup.parent, booking.span_id, "consignment called vessel");
    assert_eq!(reserve.parent, booking.span_id, "and reserved the room");
    // The saga's three events (pending and booked from the booking, the reservation from
    // the vessel service) were each recorded, as children of the span that wrote them.
    let records: Vec<&Span> = traced
        .iter()
        .filter(|s| s.service == "shippy.log" && s.name.contains("record"))
        .collect();
    let parents: Vec<&str> = records.iter().map(|r| r.parent.as_str()).collect();
    assert_eq!(records.len(), 3, "{records:#?}");
    assert_eq!(
        parents.iter().filter(|p| **p == booking.span_id).count(),
        2,
        "{parents:?}"
    );
    assert!(parents.contains(&reserve.span_id.as_str()), "{parents:?}");
    assert_eq!(booking.attributes["user.id"], user_id);
    assert_eq!(
        lookup.attributes["user.id"], "service:shippy.consignment",
        "the saga calls as the consignment service: it must go on after a restart, with no \
         user's token at hand"
    );
    assert_eq!(booking.attributes["rpc.grpc.status_code"], "0");
    assert_eq!(gateway.attributes["http.response.status_code"], "201");
    assert!(!booking.error && !gateway.error);

    // Each process logs one line for its part, with the trace id and the request id.
    let logs = system.logs();
    let lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains(&request_id) && l.contains(&trace))
        .collect();
    for part in ["http request", "CreateConsignment", "FindAvailable"] {
        assert_eq!(
            lines.iter().filter(|l| l.contains(part)).count(),
            1,
            "one {part} line with both ids: {lines:#?}"
        );
    }
    // The request spans go to the tracer only: their fields are not printed on the lines.
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("rpc.system") || l.contains("http.route")),
        "{lines:#?}"
    );

    // A failure is marked on the span that failed, with its code.
    let heavy = serde_json::json!({"description": "lead", "weight": 2_000_000_000,
        "containers": [{"customer_id": "c", "origin": "x"}]});
    let refused = reqwest::Client::new()
        .post(format!("{}/api/v1/consignments", system.api_url().await))
        .bearer_auth(&token)
        .json(&heavy)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let trace = refused.headers()["x-trace-id"].to_str().unwrap().to_owned();
    let failed = eventually(20, || async {
        spans
            .lock()
            .unwrap()
            .iter()
            .find(|s| s.trace_id == trace && s.name.contains("FindAvailable"))
            .cloned()
    })
    .await
    .expect("the failed lookup's span");
    assert!(failed.error, "{failed:?}");
    assert_eq!(failed.attributes["rpc.grpc.status_code"], "5", "NOT_FOUND");
    system.stop_all().await;
}
