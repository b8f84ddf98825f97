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

/// Two log-service instances share the log group, so each event is stored by one of them;
/// a watcher on either sees every new event of its user all the same.
#[tokio::test]
async fn watchers_on_each_log_instance_see_every_new_event() {
    use shippy_common::names;
    use shippy_proto::log::WatchRequest;
    use shippy_proto::log::log_service_client::LogServiceClient;

    let mut system = System::start().await;
    let second = system.start_extra(names::LOG).await;
    let alice = system.rest_user("alice-two@example.com").await;
    let instances = system.instances(names::LOG).await;
    assert_eq!(instances.len(), 2, "{instances:?}");
    let mut watches = vec![];
    for address in &instances {
        let mut client = LogServiceClient::connect(format!("http://{address}"))
            .await
            .unwrap();
        let mut request = tonic::Request::new(WatchRequest::default());
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {alice}").parse().unwrap());
        watches.push(client.watch(request).await.unwrap().into_inner());
    }
    for i in 0..4 {
        let vessel = serde_json::json!({
            "id": format!("live-{i}"), "name": format!("Live {i}"),
            "capacity": 5, "max_weight": 50_000,
        });
        let (status, body) = system
            .rest("POST", "/api/v1/vessels", Some(&alice), Some(vessel))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    for (address, watch) in instances.iter().zip(&mut watches) {
        let mut seen = vec![];
        let read = tokio::time::timeout(Duration::from_secs(10), async {
            while seen.len() < 4 {
                let event = watch.message().await.unwrap().expect("the stream goes on");
                if event.message.contains("Live ") {
                    seen.push(event.message);
                }
            }
        })
        .await;
        assert!(read.is_ok(), "the watcher on {address} saw only {seen:?}");
    }
    second.kill().await.unwrap();
    system.stop_all().await;
}

/// A live feed lives no longer than its token: a log-out ends it within about a second, and
/// the next feed the token asks for is refused.
#[tokio::test]
async fn a_live_feed_ends_when_its_token_is_logged_out() {
    let mut system = System::start().await;
    let alice = system.rest_user("alice@example.com").await;
    let url = format!("{}/api/v1/logs/stream", system.api_url().await);
    let mut stream = reqwest::Client::new()
        .get(&url)
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let (status, _) = system
        .rest("POST", "/api/v1/auth/logout", Some(&alice), None)
        .await;
    assert_eq!(status, 204);
    let logged_out = std::time::Instant::now();
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "the feed went on after log-out\n{}",
        system.logs()
    );
    eprintln!(
        "the live feed ended {} ms after the log-out",
        logged_out.elapsed().as_millis()
    );
    let again = reqwest::Client::new()
        .get(&url)
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 401);
    system.stop_all().await;
}
