//! The tutorial on the real-infrastructure adapters, MongoDB and Kafka (the wire-protocol
//! test servers `make test` starts): a crash of the log service mid-stream loses no event
//! and records none twice, and a stock Kafka consumer reads the events with nothing but
//! `log.proto`'s field numbers.

use serde_json::Value;
use shippy_common::names;
use shippy_system_tests::{System, eventually, sample, servers, venv_tool};

const READ_TOPIC: &str = r#"
import json, sys
from kafka import KafkaConsumer

def event(data):
    # shippy.log.LogEvent (proto/proto/log.proto), decoded by its field numbers: 1-5 strings,
    # 6 a varint, as any protobuf library would with the .proto.
    names = {1: "id", 2: "origin", 3: "method", 4: "message", 5: "user_id", 6: "time_unix_ms"}
    out, i = {}, 0
    def varint():
        nonlocal i
        n = shift = 0
        while True:
            b = data[i]; i += 1
            n |= (b & 0x7F) << shift; shift += 7
            if b < 0x80:
                return n
    while i < len(data):
        key = varint()
        field, wire = key >> 3, key & 7
        if wire == 0:
            out[names.get(field, field)] = varint()
        elif wire == 2:
            n = varint()
            out[names.get(field, field)] = data[i:i + n].decode()
            i += n
        else:
            raise ValueError(f"unexpected wire type {wire}")
    return out

consumer = KafkaConsumer(sys.argv[2], bootstrap_servers=sys.argv[1], auto_offset_reset="earliest",
                         consumer_timeout_ms=5000, group_id=None)
print(json.dumps([{"key": (m.key or b"").decode(), "headers": {k: v.decode() for k, v in m.headers},
                   "event": event(m.value)} for m in consumer]))
"#;

async fn book(system: &System, token: &str, consignment: &Value) -> u16 {
    system
        .rest(
            "POST",
            "/api/v1/consignments",
            Some(token),
            Some(consignment.clone()),
        )
        .await
        .0
}

#[tokio::test]
async fn a_log_service_crash_on_kafka_loses_no_event_and_records_none_twice() {
    let (Some(kafka), Some(mongo)) = (servers::kafka().await, servers::mongo()) else {
        return;
    };
    let run = format!("{}_{}", std::process::id(), shippy_plugins::now_unix_ms());
    let (database, topic, group) = (
        format!("shippy_kafka_{run}"),
        format!("shippy.log.{run}"),
        format!("log-{run}"),
    );
    let mut system = System::start_with(&[
        ("SHIPPY_STORE__KIND", "mongodb"),
        ("SHIPPY_STORE__MONGODB_URI", &mongo),
        ("SHIPPY_STORE__MONGODB_DATABASE", &database),
        ("SHIPPY_BROKER__KIND", "kafka"),
        ("SHIPPY_BROKER__KAFKA_BROKERS", &kafka.brokers),
        ("SHIPPY_BROKER__LOG_TOPIC", &topic),
        ("SHIPPY_BROKER__LOG_GROUP", &group),
    ])
    .await;
    let token = system.rest_user("kafka@example.com").await;
    system.tutorial_vessels(&token).await;
    let consignment: Value =
        serde_json::from_str(&std::fs::read_to_string(sample("consignment.json")).unwrap())
            .unwrap();
    for _ in 0..5 {
        assert_eq!(book(&system, &token, &consignment).await, 201);
    }
    system.kill_service(names::LOG).await;
    for _ in 0..5 {
        assert_eq!(
            book(&system, &token, &consignment).await,
            201,
            "writes need no log service"
        );
    }
    system.start_service(names::LOG).await;

    let count = || async {
        let (_, logs) = system
            .rest("GET", "/api/v1/logs?limit=100", Some(&token), None)
            .await;
        logs["events"].as_array().map_or(0, Vec::len)
    };
    // The sign-up, the tutorial's two new vessels, and three steps for each of ten
    // bookings: pending, reserved, booked.
    let all = eventually(60, || async { (count().await >= 33).then_some(()) }).await;
    assert!(
        all.is_some(),
        "only {} of 33 events recorded\n{}",
        count().await,
        system.logs()
    );
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(
        count().await,
        33,
        "the sign-up, two vessels and ten bookings' steps, each recorded once"
    );
    system.stop_all().await;

    let out = std::process::Command::new(venv_tool("python3"))
        .args(["-c", READ_TOPIC, &kafka.brokers, &topic])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records: Vec<Value> = serde_json::from_slice::<Vec<Value>>(&out.stdout)
        .unwrap()
        .into_iter()
        .filter(|r| r["event"]["method"] != "Seed")
        .collect();
    assert_eq!(records.len(), 33, "{records:?}");
    for step in [
        "ConsignmentPending",
        "CapacityReserved",
        "ConsignmentBooked",
    ] {
        let n = records
            .iter()
            .filter(|r| r["event"]["method"] == step)
            .count();
        assert_eq!(n, 10, "{step}");
    }
    let first = &records[0];
    assert_eq!(first["headers"]["content-type"], "application/x-protobuf");
    assert_eq!(first["headers"]["event-id"], first["event"]["id"]);
    assert_eq!(first["key"], first["event"]["user_id"]);
}
