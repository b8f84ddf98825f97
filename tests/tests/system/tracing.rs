//! One trace per request: a booking through REST leaves spans in the gateway,
//! consignment-service, vessel-service and (through the broker's headers) the log service's
//! consumer, all with one trace id and each parented by the span that caused it: a SERVER
//! span per request served, a CLIENT span per gRPC call made, a PRODUCER span per event the
//! outbox relay sends and a CONSUMER span (linked to it) per event consumed. Each keeps
//! OpenTelemetry's semantic conventions for its kind. The spans are exported over OTLP/HTTP
//! to a collector this test runs.

use serde_json::Value;
use shippy_system_tests::otlp::{Span, collector};
use shippy_system_tests::{System, conventions, eventually, sample};

/// The log service's consumer group (`broker.log_group`).
const LOG_GROUP: &str = "shippy.log-service";

fn one<'a>(spans: &'a [Span], service: &str, kind: &str, name: &str) -> &'a Span {
    let found: Vec<&Span> = spans
        .iter()
        .filter(|s| s.service == service && s.kind == kind && s.name.contains(name))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {kind} {name} span in {service}: {spans:#?}"
    );
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
        let kind = |k: &str| all.iter().filter(|s| s.kind == k).count();
        // Three events, each sent once, stored once and fed live once.
        (services.len() == 4 && kind("producer") == 3 && kind("consumer") == 6).then_some(all)
    })
    .await
    .unwrap_or_else(|| panic!("spans of trace {trace}: {:#?}", spans.lock().unwrap()));

    // Every span keeps the conventions for its kind, and comes from a named instance.
    for span in &traced {
        let breaches = conventions::breaches(span);
        assert!(breaches.is_empty(), "{breaches:?} in {span:#?}");
    }
    let instances: std::collections::BTreeSet<&str> = traced
        .iter()
        .map(|s| s.resource["service.instance.id"].as_str())
        .collect();
    assert_eq!(
        instances.len(),
        4,
        "one instance of each of the four services"
    );

    let gateway = one(&traced, "shippy.api", "server", "POST /api/v1/consignments");
    let call = one(&traced, "shippy.api", "client", "CreateConsignment");
    let booking = one(&traced, "shippy.consignment", "server", "CreateConsignment");
    let find = one(&traced, "shippy.consignment", "client", "FindAvailable");
    let reserving = one(&traced, "shippy.consignment", "client", "Reserve");
    let lookup = one(&traced, "shippy.vessel", "server", "FindAvailable");
    let reserve = one(&traced, "shippy.vessel", "server", "Reserve");
    assert_eq!(gateway.parent, "", "the gateway's span is the root");
    assert_eq!(
        call.parent, gateway.span_id,
        "the gateway called consignment"
    );
    assert_eq!(
        booking.parent, call.span_id,
        "and consignment answered that call"
    );
    assert_eq!(find.parent, booking.span_id, "consignment called vessel");
    assert_eq!(lookup.parent, find.span_id);
    assert_eq!(reserving.parent, booking.span_id, "and reserved the room");
    assert_eq!(reserve.parent, reserving.span_id);
    // A client span names the service, the method and the instance that answered.
    assert_eq!(
        reserving.attributes["rpc.service"],
        "shippy.vessel.VesselService"
    );
    assert_eq!(reserving.attributes["rpc.method"], "Reserve");
    assert_eq!(
        format!(
            "{}:{}",
            reserving.attributes["server.address"], reserving.attributes["server.port"]
        ),
        format!(
            "{}:{}",
            reserve.attributes["server.address"], reserve.attributes["server.port"]
        ),
        "the client names the address the vessel instance took the call on"
    );
    assert_eq!(call.attributes["rpc.grpc.status_code"], "0");

    // The relay sent the saga's three events (pending and booked from the booking, the
    // reservation from the vessel service), each in a PRODUCER span under the span that
    // wrote it, saying how long it waited in the outbox.
    let sent: Vec<&Span> = traced.iter().filter(|s| s.kind == "producer").collect();
    let writers: Vec<&str> = sent.iter().map(|s| s.parent.as_str()).collect();
    assert_eq!(
        writers.iter().filter(|p| **p == booking.span_id).count(),
        2,
        "{writers:?}"
    );
    assert!(writers.contains(&reserve.span_id.as_str()), "{writers:?}");
    for send in &sent {
        assert_eq!(send.attributes["messaging.destination.name"], "shippy.log");
        assert_eq!(send.attributes["messaging.system"], "shippy_sqlite");
        // A whole number of milliseconds (how long is the machine's business, not a test's).
        let waited = send.attributes["shippy.outbox.wait_ms"].parse::<u64>();
        assert!(waited.is_ok(), "{send:#?}");
    }
    // The log service stored each (its group) and fed it live (a group of the instance's
    // own): each a CONSUMER span under the send, linked to it, of the same message.
    let consumed: Vec<&Span> = traced.iter().filter(|s| s.kind == "consumer").collect();
    let live = format!("{LOG_GROUP}.live.");
    for group in [LOG_GROUP, &live] {
        let mine: Vec<&&Span> = consumed
            .iter()
            .filter(|c| {
                let of = &c.attributes["messaging.consumer.group.name"];
                of == group || (group == live && of.starts_with(group))
            })
            .collect();
        assert_eq!(mine.len(), 3, "{group}: {consumed:#?}");
        for send in &sent {
            let consumer = mine
                .iter()
                .find(|c| c.parent == send.span_id)
                .unwrap_or_else(|| panic!("{group}: nothing consumed {send:#?}"));
            assert_eq!(consumer.service, "shippy.log");
            assert!(
                consumer
                    .links
                    .contains(&(send.trace_id.clone(), send.span_id.clone())),
                "{consumer:#?}"
            );
            assert_eq!(
                consumer.attributes["messaging.message.id"],
                send.attributes["messaging.message.id"]
            );
        }
    }
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
        let spans = spans.lock().unwrap();
        let lookup = |kind: &str| {
            spans
                .iter()
                .find(|s| s.trace_id == trace && s.kind == kind && s.name.contains("FindAvailable"))
                .cloned()
        };
        lookup("client").zip(lookup("server"))
    })
    .await
    .expect("the failed lookup's spans, the saga's call and the vessel service's answer");
    for span in [failed.0, failed.1] {
        assert!(span.error, "{span:?}");
        assert_eq!(span.attributes["rpc.grpc.status_code"], "5", "NOT_FOUND");
    }
    system.stop_all().await;
}
