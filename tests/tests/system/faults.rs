//! Fault flags switched on and off in a running system with `shippy flags`, under
//! `shippy load`: one of two vessel instances fails every call; the consignment service's
//! breaker for it opens while bookings keep going through the other; the faults name
//! themselves in metrics and logs; switched off, the breaker closes and the instance serves
//! again. Also: a broker refusing publishes delays events and loses none, and a store
//! refusing writes answers 503 and stores nothing.

use std::time::Duration;

use serde_json::Value;
use shippy_common::names;
use shippy_system_tests::otlp::{Spans, collector};
use shippy_system_tests::prometheus::{scrape, scrape_instance, value};
use shippy_system_tests::{System, eventually, sample};

/// A system whose services follow a flags file of their own and export their spans to a
/// test collector; answers the flags file's folder and the spans too.
async fn system_with_flags() -> (System, tempfile::TempDir, Spans) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flags.json").display().to_string();
    let (collector, spans) = collector().await;
    let system = System::start_with(&[
        ("SHIPPY_FAULTS__FLAGS_FILE", &file),
        ("SHIPPY_TELEMETRY__OTLP_ENDPOINT", &collector),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ])
    .await;
    (system, dir, spans)
}

/// Waits for a span of `service` carrying an event that names `flag`.
async fn span_event_names(spans: &Spans, service: &str, flag: &str) -> bool {
    eventually(10, || async {
        spans
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.service == service)
            .any(|s| {
                s.events.iter().any(|(name, attributes)| {
                    name.contains("injected fault")
                        && attributes.get("fault").is_some_and(|f| f == flag)
                })
            })
            .then_some(())
    })
    .await
    .is_some()
}

async fn flags(system: &System, args: &[&str]) -> String {
    let mut all = vec!["flags"];
    all.extend(args);
    let run = system.cli("shippy", &all, None).await;
    assert!(run.success, "shippy {all:?}: {run:?}");
    run.stdout
}

/// Waits until `service` has `flag` at `expected` in effect (its `shippy_fault_flag`).
async fn in_effect(system: &System, service: &str, flag: &str, expected: f64) {
    let seen = eventually(10, || async {
        let samples = scrape(system, service).await;
        (value(&samples, "shippy_fault_flag", &[("flag", flag)]) == Some(expected)).then_some(())
    })
    .await;
    assert!(seen.is_some(), "{service} follows {flag} = {expected}");
}

async fn book(system: &System, token: &str) -> (u16, Value) {
    let consignment: Value =
        serde_json::from_str(&std::fs::read_to_string(sample("consignment.json")).unwrap())
            .unwrap();
    system
        .rest(
            "POST",
            "/api/v1/consignments",
            Some(token),
            Some(consignment),
        )
        .await
}

/// The consignment service's breaker for the vessel instance at `address`: 1 while open.
async fn breaker(system: &System, address: &str) -> Option<f64> {
    let samples = scrape(system, names::CONSIGNMENT).await;
    value(
        &samples,
        "shippy_breaker_open",
        &[("service", names::VESSEL), ("instance", address)],
    )
}

#[tokio::test]
async fn a_failing_vessel_instance_is_broken_out_while_bookings_go_on_and_let_back_when_healed() {
    let (system, _flags_dir, spans) = system_with_flags().await;
    let _second = system.start_extra(names::VESSEL).await;
    let token = system.rest_user("faults@example.com").await;
    system.tutorial_vessels(&token).await;
    let vessels = system.instances(names::VESSEL).await;
    assert_eq!(vessels.len(), 2, "{vessels:?}");
    let (sick, well) = (vessels[0].clone(), vessels[1].clone());

    // Steady traffic, as a learner would run it beside the fault.
    let report = system.dir.path().join("load.json");
    let mut load = system
        .command("shippy")
        .args(["load", "--api", &system.api_url().await, "--users", "2"])
        .args(["--rate", "4", "--duration", "120", "--progress-secs", "2"])
        .arg("--report")
        .arg(&report)
        // Beside the services' logs, so a failure shows what the load saw.
        .stdout(std::fs::File::create(system.dir.path().join("logs/load.out.log")).unwrap())
        .stderr(std::fs::File::create(system.dir.path().join("logs/load.err.log")).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    let set = flags(&system, &["set", "vessel.fail_rate=1", "--instance", &sick]).await;
    assert!(
        set.contains(&format!("vessel.fail_rate: 1 on {sick}")),
        "{set}"
    );
    let listed = flags(&system, &[]).await;
    assert!(listed.contains(&format!("1 on {sick}")), "{listed}");

    let opened = eventually(30, || async {
        (breaker(&system, &sick).await == Some(1.0)).then_some(())
    })
    .await;
    assert!(
        opened.is_some(),
        "the consignment service's breaker for the failing instance opens\n{}",
        system.logs()
    );
    assert_eq!(
        breaker(&system, &well).await,
        Some(0.0),
        "the other stays in"
    );

    // While it is out, every booking goes through on the other instance.
    for _ in 0..10 {
        let (status, body) = book(&system, &token).await;
        assert_eq!(status, 201, "{body}");
    }

    // The fault names itself: on the failing instance's metrics and in its log.
    let sick_metrics = scrape_instance(&system, names::VESSEL, &sick).await;
    let flag = [("flag", "vessel.fail_rate")];
    assert_eq!(value(&sick_metrics, "shippy_fault_flag", &flag), Some(1.0));
    assert!(value(&sick_metrics, "shippy_faults_injected_total", &flag).unwrap_or(0.0) >= 1.0);
    let well_metrics = scrape_instance(&system, names::VESSEL, &well).await;
    assert_eq!(value(&well_metrics, "shippy_fault_flag", &flag), Some(0.0));
    assert_eq!(
        value(&well_metrics, "shippy_faults_injected_total", &flag),
        Some(0.0)
    );
    assert!(
        span_event_names(&spans, names::VESSEL, "vessel.fail_rate").await,
        "a failed call's span carries the fault as an event"
    );
    let logs = system.logs();
    assert!(logs.contains("fault flag on: vessel.fail_rate"), "{logs}");
    assert!(logs.contains("injected fault"), "{logs}");
    let opened_total = value(
        &scrape(&system, names::CONSIGNMENT).await,
        "shippy_breaker_opened_total",
        &[("instance", &sick)],
    );
    assert!(opened_total.unwrap_or(0.0) >= 1.0, "{opened_total:?}");

    // Healed: the breaker's next probe succeeds and closes it, and the instance serves.
    let off = flags(&system, &["off", "vessel.fail_rate"]).await;
    assert!(off.contains("vessel.fail_rate: off"), "{off}");
    let closed = eventually(30, || async {
        (breaker(&system, &sick).await == Some(0.0)).then_some(())
    })
    .await;
    assert!(
        closed.is_some(),
        "the breaker closes once the instance heals"
    );
    let served_before = ok_calls(&system, &sick).await;
    let served = eventually(30, || async {
        let _ = book(&system, &token).await;
        (ok_calls(&system, &sick).await > served_before).then_some(())
    })
    .await;
    assert!(served.is_some(), "the healed instance gets calls again");

    // The load ends with a summary: its bookings went on through the fault.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(load.id().unwrap()).unwrap()),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), load.wait())
        .await
        .expect("shippy load stops on Ctrl-C")
        .unwrap();
    assert!(status.success(), "{status}");
    let summary: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let steps = summary["steps"].as_array().unwrap();
    let booked = steps.iter().find(|s| s["step"] == "book").unwrap();
    assert!(booked["ok"].as_u64().unwrap() > 0, "{summary}");
    assert!(summary["journeys"].as_u64().unwrap() > 0, "{summary}");
}

/// Whether the activity log mentions `id`.
async fn logged(system: &System, token: &str, id: &str) -> bool {
    let log = system.rest_all("/api/v1/logs", token, "events").await;
    serde_json::json!(log).to_string().contains(id)
}

/// FindAvailable and Reserve calls the vessel instance at `address` answered OK.
async fn ok_calls(system: &System, address: &str) -> f64 {
    scrape_instance(system, names::VESSEL, address)
        .await
        .iter()
        .filter(|(n, l, _)| {
            n == "shippy_requests_total"
                && l.get("code").is_some_and(|c| c == "0")
                && l.get("method").is_some_and(|m| !m.contains("grpc.health"))
        })
        .map(|(_, _, v)| v)
        .sum()
}

#[tokio::test]
async fn a_broker_refusing_publishes_delays_events_and_a_store_refusing_writes_stores_nothing() {
    let (system, _flags_dir, spans) = system_with_flags().await;
    let token = system.rest_user("refusals@example.com").await;
    system.tutorial_vessels(&token).await;

    flags(&system, &["set", "broker.refuse_publish=on"]).await;
    for service in [names::USER, names::VESSEL, names::CONSIGNMENT] {
        in_effect(&system, service, "broker.refuse_publish", 1.0).await;
    }
    let (status, body) = book(&system, &token).await;
    assert_eq!(status, 201, "a booking needs no broker: {body}");
    let id = body["consignment"]["id"].as_str().unwrap().to_owned();
    let backlog = eventually(10, || async {
        let samples = scrape(&system, names::CONSIGNMENT).await;
        value(&samples, "shippy_outbox_backlog", &[]).filter(|b| *b > 0.0)
    })
    .await;
    assert!(backlog.is_some(), "the booking's events wait in the outbox");
    assert!(
        !logged(&system, &token, &id).await,
        "nothing reached the log yet"
    );

    flags(&system, &["off", "broker.refuse_publish"]).await;
    let delivered = eventually(20, || async {
        logged(&system, &token, &id).await.then_some(())
    })
    .await;
    assert!(
        delivered.is_some(),
        "once the broker takes them, the events arrive"
    );

    flags(&system, &["set", "store.refuse_writes=on"]).await;
    in_effect(&system, names::CONSIGNMENT, "store.refuse_writes", 1.0).await;
    let (status, body) = book(&system, &token).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    assert!(
        span_event_names(&spans, names::CONSIGNMENT, "store.refuse_writes").await,
        "the refused write's request span carries the fault as an event"
    );
    let (_, listed) = system
        .rest("GET", "/api/v1/consignments", Some(&token), None)
        .await;
    assert_eq!(
        listed["consignments"].as_array().unwrap().len(),
        1,
        "the refused booking stored nothing: {listed}"
    );
    flags(&system, &["off", "--all"]).await;
    // A booking writes on both sides: each service follows the flag on its own poll.
    in_effect(&system, names::CONSIGNMENT, "store.refuse_writes", 0.0).await;
    in_effect(&system, names::VESSEL, "store.refuse_writes", 0.0).await;
    let (status, body) = book(&system, &token).await;
    assert_eq!(status, 201, "writes go through again: {body}");
}
