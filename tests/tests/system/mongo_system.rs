//! The tutorial on the MongoDB adapters (the MongoDB-wire test server `make test` starts):
//! it works, survives a full restart, and what it stored is ordinary documents that a stock
//! client (pymongo) reads.

use serde_json::{Value, json};
use shippy_system_tests::{System, eventually, sample, servers, venv_tool};

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
    "outbox": sum(db[c].count_documents({}) for c in ("users_outbox", "vessels_outbox", "consignments_outbox")),
}, default=str))
"#;

#[tokio::test]
async fn the_tutorial_runs_on_mongodb_and_stores_plain_documents() {
    let Some(uri) = servers::mongo() else {
        return;
    };
    let database = format!(
        "shippy_system_{}_{}",
        std::process::id(),
        shippy_plugins::now_unix_ms()
    );
    let store = [
        ("SHIPPY_STORE__KIND", "mongodb"),
        ("SHIPPY_STORE__MONGODB_URI", uri.as_str()),
        ("SHIPPY_STORE__MONGODB_DATABASE", database.as_str()),
    ];
    let mut system = System::start_with(&store).await;
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
        json!([{"_id": c["_id"], "vessel_id": "vessel002", "capacity": 3, "weight": 55000, "held": true}]),
        "one reservation, keyed by the consignment"
    );
    assert_eq!(stored["room"]["vessel002"], json!([47, 5000]));
    assert_eq!(
        stored["outbox"], 0,
        "every event left the outbox once published"
    );
}
