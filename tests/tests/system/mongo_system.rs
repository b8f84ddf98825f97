//! The tutorial on the MongoDB adapters (the MongoDB-wire test server `make test` starts):
//! it works, survives a full restart, and what it stored is ordinary documents that a stock
//! client (pymongo) reads. A consignment-service killed under load, wherever it was in a
//! write, is resumed by the next instance within `saga.stale_secs` and a few seconds.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::{Value, json};
use shippy_common::names;
use shippy_system_tests::{System, eventually, join_all, sample, servers, venv_tool};

const READ_BACK: &str = r#"
import json, sys, pymongo
db = pymongo.MongoClient(sys.argv[1])[sys.argv[2]]
print(json.dumps({
    "consignments": list(db.consignments.find({}, {"stored_at_ns": 0})),
    "users": list(db.users.find({}, {"email": 1, "password_hash": 1})),
    "vessels": sorted(v["_id"] for v in db.vessels.find()),
    "room": {v["_id"]: [v["remaining_capacity"], v["remaining_weight"]] for v in db.vessels.find()},
    "reservations": list(db.reservations.find()),
    "events": list(db.events.find({"method": {"$ne": "Seed"}}, {"_id": 0, "origin": 1, "user_id": 1})),
    "outbox": sum(db[c].count_documents({}) for c in ("users_outbox", "vessels_outbox", "consignments_outbox"))
        + db.consignments.count_documents({"outbox_seq": {"$exists": True}}),
}, default=str))
"#;

/// The system on a database of its own (named from `prefix`) on the MongoDB-wire test
/// server, with the server's URI and the database's name; `None` without a server.
async fn on_mongodb(prefix: &str) -> Option<(System, String, String)> {
    let uri = servers::mongo()?;
    let database = format!(
        "{prefix}_{}_{}",
        std::process::id(),
        shippy_plugins::now_unix_ms()
    );
    let store = [
        ("SHIPPY_STORE__KIND", "mongodb"),
        ("SHIPPY_STORE__MONGODB_URI", uri.as_str()),
        ("SHIPPY_STORE__MONGODB_DATABASE", database.as_str()),
    ];
    Some((System::start_with(&store).await, uri, database))
}

#[tokio::test]
async fn the_tutorial_runs_on_mongodb_and_stores_plain_documents() {
    let Some((mut system, uri, database)) = on_mongodb("shippy_system").await else {
        return;
    };
    let token = system.rest_user("mongo@example.com").await;
    let vessels = system
        .cli(
            "vessel-cli",
            &["create", &sample("vessel.json")],
            Some(&token),
        )
        .await;
    assert!(vessels.success, "{vessels:?}");
    let consignment: Value =
        serde_json::from_str(&std::fs::read_to_string(sample("consignment.json")).unwrap())
            .unwrap();
    let (status, booked) = system
        .rest(
            "POST",
            "/api/v1/consignments",
            Some(&token),
            Some(consignment),
        )
        .await;
    assert_eq!(
        (status, booked["consignment"]["vessel_id"].as_str()),
        (201, Some("vessel002")),
        "{booked}"
    );

    system.stop_all().await;
    for service in shippy_common::names::ALL {
        system.start_service(service).await;
    }
    let (_, listed) = system
        .rest("GET", "/api/v1/consignments", Some(&token), None)
        .await;
    assert_eq!(
        listed["consignments"][0]["id"], booked["consignment"]["id"],
        "{listed}"
    );
    let events = eventually(10, || async {
        let (_, logs) = system.rest("GET", "/api/v1/logs", Some(&token), None).await;
        let n = logs["events"].as_array().map_or(0, Vec::len);
        (n >= 6).then_some(n)
    })
    .await;
    assert_eq!(
        events,
        Some(6),
        "user, two vessels and a booking's three steps, each once"
    );
    system.stop_all().await;

    let python = venv_tool("python3");
    let out = std::process::Command::new(&python)
        .args(["-c", READ_BACK, &uri, &database])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored: Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &stored["consignments"][0];
    assert_eq!(c["_id"], booked["consignment"]["id"]);
    assert_eq!(
        (c["vessel_id"].as_str(), c["weight"].as_i64()),
        (Some("vessel002"), Some(55000))
    );
    assert_eq!(c["containers"][1]["origin"], "Derby, United Kingdom");
    assert_eq!(
        stored["vessels"],
        json!(["vessel001", "vessel002", "vessel003"])
    );
    assert_eq!(stored["users"][0]["email"], "mongo@example.com");
    assert!(
        stored["users"][0]["password_hash"]
            .as_str()
            .unwrap()
            .starts_with("$argon2id$")
    );
    assert_eq!(stored["events"].as_array().unwrap().len(), 6);
    assert_eq!(
        stored["reservations"],
        json!([{"_id": c["_id"], "vessel_id": "vessel002", "capacity": 3, "weight": 55000, "held": true,
            "user_id": c["user_id"]}]),
        "one reservation, keyed by the consignment, naming whose it is"
    );
    assert_eq!(stored["room"]["vessel002"], json!([47, 5000]));
    assert_eq!(
        stored["outbox"], 0,
        "every event left the outbox once published"
    );
}

/// Heavier than any seeded or sample vessel takes, so only the test's vessel carries it.
const HEAVY: i64 = 250_000;
const CLIENTS: usize = 8;
const ROOM: i64 = 4_000;

#[tokio::test]
async fn a_consignment_service_killed_under_load_on_mongodb_is_resumed_within_stale_secs() {
    let Some((mut system, _, _)) = on_mongodb("shippy_crash").await else {
        return;
    };
    let token = system.rest_user("crash-mongo@example.com").await;
    let vessel =
        json!({"id": "hauler", "name": "The hauler", "capacity": ROOM, "max_weight": ROOM * HEAVY});
    let (status, body) = system
        .rest("POST", "/api/v1/vessels", Some(&token), Some(vessel))
        .await;
    assert_eq!(status, 201, "{body}");

    // Eight clients book, each with keys of its own, until consignment-service dies under
    // them: with bookings in every step, the kill lands wherever a write is.
    let (booked, stop) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let clients = (0..CLIENTS).map(|client| {
        let (system, token, booked, stop) = (&system, &token, booked.clone(), stop.clone());
        async move {
            let mut cut_off = Vec::new();
            for n in 0.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let key = format!("c{client}-{n}");
                let (status, body) = book(system, token, &key).await;
                match status {
                    201 => {
                        booked.fetch_add(1, Ordering::SeqCst);
                    }
                    503 => cut_off.push(key),
                    // The gateway meets the dead instance: nothing was stored under the key.
                    _ if stop.load(Ordering::SeqCst) => break,
                    other => panic!("booking {key}: {other} {body}"),
                }
            }
            cut_off
        }
    });
    let killer = async {
        let enough = eventually(60, || async {
            (booked.load(Ordering::SeqCst) >= 40).then_some(())
        })
        .await;
        assert!(
            enough.is_some(),
            "40 bookings were not made\n{}",
            system.logs()
        );
        system.kill_now(names::CONSIGNMENT);
        stop.store(true, Ordering::SeqCst);
    };
    let (cut_off, ()) = tokio::join!(join_all(clients), killer);
    let cut_off: Vec<String> = cut_off.into_iter().flatten().collect();

    system.kill_service(names::CONSIGNMENT).await;
    let restarted = tokio::time::Instant::now();
    system.start_service(names::CONSIGNMENT).await;
    let stale = system.config.saga.stale_secs;
    let settled = eventually(stale + 20, || async {
        let (status, body) = system
            .rest("GET", "/api/v1/consignments", Some(&token), None)
            .await;
        let list = body["consignments"].as_array().cloned().unwrap_or_default();
        let ended = |c: &Value| matches!(c["status"].as_str(), Some("booked" | "rejected"));
        (status == 200 && list.iter().all(ended)).then_some(list)
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "bookings still unfinished {stale} + 20 s after the restart\n{}",
            system.logs()
        )
    });
    eprintln!(
        "{} bookings, {} cut off by the kill; all ended {:.1} s after the restart (saga.stale_secs = {stale})",
        settled.len(),
        cut_off.len(),
        restarted.elapsed().as_secs_f64()
    );
    let on_hauler = settled.iter().filter(|c| c["status"] == "booked").count();
    assert_eq!(settled.len(), on_hauler, "room for all: none is rejected");

    // Every client whose answer the kill cut off gets the booking with a retry of its key.
    for key in &cut_off {
        let (status, body) = eventually(20, || async {
            let answer = book(&system, &token, key).await;
            (answer.0 != 503).then_some(answer)
        })
        .await
        .expect("a retry gets through");
        assert_eq!(status, 201, "{key}: {body}");
    }
    let (_, vessels) = system
        .rest("GET", "/api/v1/vessels", Some(&token), None)
        .await;
    let hauler = vessels["vessels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "hauler")
        .unwrap()
        .clone();
    let (_, listed) = system
        .rest("GET", "/api/v1/consignments", Some(&token), None)
        .await;
    let booked_now = listed["consignments"].as_array().unwrap().len();
    assert_eq!(
        hauler["remaining_capacity"].as_i64().unwrap(),
        ROOM - i64::try_from(booked_now).unwrap(),
        "one reservation per booking, no more, no less"
    );
    system.stop_all().await;
}

async fn book(system: &System, token: &str, key: &str) -> (u16, Value) {
    let body = json!({
        "description": "steel coils",
        "weight": HEAVY,
        "containers": [{"customer_id": "cust001", "origin": "Teesport"}],
    });
    system
        .rest_with(
            "POST",
            "/api/v1/consignments",
            Some(token),
            Some(body),
            &[("idempotency-key", key)],
        )
        .await
}
