//! The tutorial on the real-infrastructure adapters, MongoDB and Kafka (the wire-protocol
//! test servers `make test` starts): a crash of the log service mid-stream loses no event
//! and records none twice, and a stock Kafka consumer reads the events with nothing but
//! `log.proto`'s field numbers.

use serde_json::Value;
use shippy_common::names;
use shippy_system_tests::{System, eventually, sample, servers, venv_tool};

const READ_TOPIC: &str = r#"
# A consumer that knows only the CloudEvents SDK and the published log.proto: it compiles
# the .proto (protoc from grpcio-tools), reads each record's CloudEvent in the Kafka binary
# binding (ce_* headers) and decodes its data as shippy.log.LogEvent.
import json, sys, tempfile
from cloudevents.kafka import KafkaMessage, from_binary
from google.protobuf.json_format import MessageToDict
from grpc_tools import protoc
from kafka import KafkaConsumer

brokers, topic, protos = sys.argv[1:4]
out = tempfile.mkdtemp()
if protoc.main(["protoc", f"-I{protos}", f"--python_out={out}", "log.proto"]) != 0:
    sys.exit("protoc failed")
sys.path.insert(0, out)
import log_pb2

def data(payload):
    return MessageToDict(log_pb2.LogEvent.FromString(payload), preserving_proto_field_name=True)

consumer = KafkaConsumer(topic, bootstrap_servers=brokers, auto_offset_reset="earliest",
                         consumer_timeout_ms=5000, group_id=None)
records = []
for m in consumer:
    headers = {k: v for k, v in m.headers}
    event = from_binary(KafkaMessage(headers=headers, key=m.key, value=m.value),
                        data_unmarshaller=data)
    records.append({"key": (m.key or b"").decode(),
                    "headers": {k: v.decode() for k, v in headers.items()},
                    "attributes": {k: str(v) for k, v in event.get_attributes().items()},
                    "event": event.get_data()})
print(json.dumps(records))
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
        .args([
            "-c",
            READ_TOPIC,
            &kafka.brokers,
            &topic,
            &format!("{}/../proto/proto", env!("CARGO_MANIFEST_DIR")),
        ])
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
    // Each booking's events, typed, in the order its steps happened by their sequence.
    let mut bookings: std::collections::BTreeMap<String, Vec<&Value>> = Default::default();
    for r in records.iter().filter(|r| {
        r["attributes"]["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("io.shippy.consignment") || t.contains("capacity"))
    }) {
        let subject = r["attributes"]["subject"].as_str().unwrap().to_owned();
        bookings.entry(subject).or_default().push(r);
    }
    assert_eq!(bookings.len(), 10, "{bookings:?}");
    for (subject, mut steps) in bookings {
        steps.sort_by_key(|r| {
            r["attributes"]["sequence"]
                .as_str()
                .unwrap()
                .parse::<i64>()
                .unwrap()
        });
        let kinds: Vec<&str> = steps
            .iter()
            .map(|r| r["attributes"]["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "io.shippy.consignment.pending.v1",
                "io.shippy.vessel.capacity_reserved.v1",
                "io.shippy.consignment.booked.v1"
            ],
            "{subject}"
        );
        for r in &steps {
            assert_eq!(r["attributes"]["specversion"], "1.0");
            assert_eq!(r["attributes"]["id"], r["event"]["id"]);
            assert_eq!(r["attributes"]["sequence"], r["event"]["sequence"], "{r}");
            assert_eq!(r["event"]["subject"], subject.as_str());
        }
        let pending = &steps[0]["event"]["consignment_pending"];
        assert_eq!(pending["consignment_id"], subject.as_str());
        assert!(pending["containers"].as_i64().unwrap() > 0, "{pending}");
        let reserved = &steps[1]["event"]["capacity_reserved"];
        let booked = &steps[2]["event"]["consignment_booked"];
        assert_eq!(
            reserved["vessel_id"], booked["vessel_id"],
            "{reserved} {booked}"
        );
        assert_eq!(reserved["weight"], pending["weight"]);
    }
}
