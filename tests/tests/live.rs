//! The live activity stream: a watcher sees a new consignment's event without asking again,
//! and sees only its own user's events.

use std::time::Duration;

use serde_json::Value;
use shippy_system_tests::{System, sample};

#[tokio::test]
async fn a_watcher_sees_its_new_consignment_event_and_not_other_users_events() {
    let mut system = System::start().await;
    let alice = system.rest_user("alice@example.com").await;
    let bob = system.rest_user("bob@example.com").await;
    let url = format!("{}/api/v1/logs/stream", system.api_url().await);
    let mut stream = reqwest::Client::new()
        .get(url)
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");

    let consignment: Value =
        serde_json::from_str(&std::fs::read_to_string(sample("consignment.json")).unwrap())
            .unwrap();
    let (status, _) = system
        .rest(
            "POST",
            "/api/v1/consignments",
            Some(&bob),
            Some(consignment.clone()),
        )
        .await;
    assert_eq!(status, 201);
    let (status, booked) = system
        .rest(
            "POST",
            "/api/v1/consignments",
            Some(&alice),
            Some(consignment),
        )
        .await;
    assert_eq!(status, 201);
    let id = booked["consignment"]["id"].as_str().unwrap().to_owned();

    let mut seen = String::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = stream.chunk().await.unwrap() {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains(&id) {
                return;
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "alice's event never arrived; the stream said: {seen}\n{}",
        system.logs()
    );
    assert!(seen.contains("event: log"), "{seen}");
    assert_eq!(
        seen.matches("ConsignmentPending").count(),
        1,
        "bob's booking is not alice's to see: {seen}"
    );
    system.stop_all().await;
}
