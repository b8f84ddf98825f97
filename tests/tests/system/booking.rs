//! The booking saga from a user's side, through REST on a running system: no interleaving
//! of bookings on two instances of each service overbooks a vessel; a consignment-service
//! killed between reserving and booking, or in the middle of a cancel, ends consistent after
//! a restart; the same idempotency key books once.

use serde_json::{Value, json};
use shippy_common::names;
use shippy_system_tests::{System, eventually, join_all};

/// Heavier than the seeded vessel001 takes, so only the test's vessels can carry it.
const HEAVY: i64 = 300_000;

fn one_container(weight: i64) -> Value {
    json!({
        "description": "pallets",
        "weight": weight,
        "containers": [{"customer_id": "cust001", "origin": "Felixstowe"}],
    })
}

async fn create_vessel(system: &System, token: &str, id: &str, capacity: i64, weight: i64) {
    let vessel =
        json!({"id": id, "name": format!("The {id}"), "capacity": capacity, "max_weight": weight});
    let (status, body) = system
        .rest("POST", "/api/v1/vessels", Some(token), Some(vessel))
        .await;
    assert_eq!(status, 201, "{body}");
}

/// The room vessel `id` has left: (containers, kg).
async fn room(system: &System, token: &str, id: &str) -> (i64, i64) {
    let (status, body) = system
        .rest("GET", "/api/v1/vessels", Some(token), None)
        .await;
    assert_eq!(status, 200, "{body}");
    let vessel = body["vessels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("no vessel {id} in {body}"))
        .clone();
    (
        vessel["remaining_capacity"].as_i64().unwrap(),
        vessel["remaining_weight"].as_i64().unwrap(),
    )
}

async fn book(system: &System, token: &str, key: Option<&str>, body: Value) -> (u16, Value) {
    let headers: Vec<(&str, &str)> = key.map(|k| ("idempotency-key", k)).into_iter().collect();
    system
        .rest_with(
            "POST",
            "/api/v1/consignments",
            Some(token),
            Some(body),
            &headers,
        )
        .await
}

async fn consignments(system: &System, token: &str) -> Vec<Value> {
    consignments_now(system, token)
        .await
        .expect("the consignments are listed")
}

/// The caller's consignments, or `None` while the gateway cannot reach a live instance.
async fn consignments_now(system: &System, token: &str) -> Option<Vec<Value>> {
    system
        .rest_all("/api/v1/consignments", token, "consignments")
        .await
}

#[tokio::test]
async fn no_interleaving_of_bookings_on_two_instances_of_each_service_overbooks_a_vessel() {
    const ROOM: i64 = 5;
    let mut system = System::start().await;
    let _vessels = system.start_extra(names::VESSEL).await;
    let _consignments = system.start_extra(names::CONSIGNMENT).await;
    assert_eq!(system.instances(names::VESSEL).await.len(), 2);
    assert_eq!(system.instances(names::CONSIGNMENT).await.len(), 2);
    let mut users = Vec::new();
    for i in 0..4 {
        users.push(system.rest_user(&format!("shipper{i}@example.com")).await);
    }
    create_vessel(&system, &users[0], "tight", ROOM, ROOM * HEAVY).await;

    // 4N one-container bookings at once, from four users, for a vessel with room for N.
    let attempts = (0..ROOM * 4).map(|i| {
        let token = users[usize::try_from(i).unwrap() % users.len()].clone();
        let system = &system;
        async move {
            (
                token.clone(),
                book(system, &token, None, one_container(HEAVY)).await,
            )
        }
    });
    let outcomes = join_all(attempts).await;
    let booked: Vec<_> = outcomes
        .iter()
        .filter(|(_, (status, _))| *status == 201)
        .collect();
    let refused: Vec<_> = outcomes
        .iter()
        .filter(|(_, (status, _))| *status == 422)
        .collect();
    println!(
        "overbooking: {} attempts, {} booked, {} refused (422)",
        outcomes.len(),
        booked.len(),
        refused.len()
    );
    assert_eq!(
        booked.len(),
        usize::try_from(ROOM).unwrap(),
        "exactly as many booked as fit: {outcomes:?}\n{}",
        system.logs()
    );
    assert_eq!(refused.len(), outcomes.len() - booked.len(), "{outcomes:?}");
    for (_, (_, body)) in &booked {
        assert_eq!(body["consignment"]["vessel_id"], "tight", "{body}");
        assert_eq!(body["consignment"]["status"], "booked", "{body}");
    }
    for (_, (_, body)) in &refused {
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("room"), "a refusal says why: {body}");
    }
    assert_eq!(room(&system, &users[0], "tight").await, (0, 0));

    // The refused bookings are kept, as rejected with their reason.
    let all: Vec<Value> = join_all(users.iter().map(|t| consignments(&system, t)))
        .await
        .into_iter()
        .flatten()
        .collect();
    let rejected = all.iter().filter(|c| c["status"] == "rejected").count();
    assert_eq!(rejected, refused.len(), "{all:?}");

    // Cancelling one gives its room back, and the next booking takes it.
    let (owner, (_, first)) = booked[0];
    let id = first["consignment"]["id"].as_str().unwrap();
    let other = users.iter().find(|t| *t != owner).unwrap();
    let path = format!("/api/v1/consignments/{id}/cancel");
    let (status, body) = system.rest("POST", &path, Some(other), None).await;
    assert_eq!(status, 404, "someone else's is not found: {body}");
    let (status, body) = system.rest("POST", &path, Some(owner), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["consignment"]["status"], "cancelled", "{body}");
    let (status, again) = system.rest("POST", &path, Some(owner), None).await;
    assert_eq!(
        (status, &again["consignment"]["status"]),
        (200, &json!("cancelled")),
        "{again}"
    );
    assert_eq!(room(&system, owner, "tight").await, (1, HEAVY));
    let (status, body) = book(&system, owner, None, one_container(HEAVY)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(room(&system, owner, "tight").await, (0, 0));
    system.stop_all().await;
}

#[tokio::test]
async fn bookings_that_lose_the_race_for_the_last_room_go_to_the_next_smallest_vessel() {
    let mut system = System::start().await;
    let _vessels = system.start_extra(names::VESSEL).await;
    let token = system.rest_user("race@example.com").await;
    create_vessel(&system, &token, "small", 2, 2 * HEAVY).await;
    create_vessel(&system, &token, "large", 20, 20 * HEAVY).await;
    let outcomes =
        join_all((0..10).map(|_| book(&system, &token, None, one_container(HEAVY)))).await;
    let mut on = std::collections::BTreeMap::<String, usize>::new();
    for (status, body) in &outcomes {
        assert_eq!(*status, 201, "every booking finds room somewhere: {body}");
        let vessel = body["consignment"]["vessel_id"]
            .as_str()
            .unwrap()
            .to_owned();
        *on.entry(vessel).or_default() += 1;
    }
    assert_eq!(
        on.get("small"),
        Some(&2),
        "the smallest fills first: {on:?}"
    );
    assert_eq!(on.get("large"), Some(&8), "{on:?}");
    assert_eq!(room(&system, &token, "small").await, (0, 0));
    assert_eq!(room(&system, &token, "large").await, (12, 12 * HEAVY));
    system.stop_all().await;
}

#[tokio::test]
async fn a_booking_killed_after_taking_the_last_room_ends_booked_with_one_reservation() {
    let mut system = System::start_with(&[("SHIPPY_SAGA__PAUSE_AT", "after-reserve")]).await;
    let token = system.rest_user("crash@example.com").await;
    // Room for this one booking only: once it holds it, the fleet is full.
    create_vessel(&system, &token, "solo", 1, HEAVY).await;

    let booking = {
        let (system, token) = (&system, token.clone());
        async move { book(system, &token, Some("crash-1"), one_container(HEAVY)).await }
    };
    let watch = async {
        let held = eventually(20, || async {
            (room(&system, &token, "solo").await == (0, 0)).then_some(())
        })
        .await;
        assert!(
            held.is_some(),
            "the reservation was never made\n{}",
            system.logs()
        );
    };
    // The saga is paused after the reservation: kill the process there, mid-call.
    let ((status, body), ()) = tokio::join!(booking, async {
        watch.await;
        system.kill_now(names::CONSIGNMENT);
    });
    assert_eq!(status, 503, "a call cut off mid-way is retryable: {body}");

    system.kill_service(names::CONSIGNMENT).await;
    system.set_env("SHIPPY_SAGA__PAUSE_AT", "");
    system.start_service(names::CONSIGNMENT).await;
    let booked = eventually(30, || async {
        let list = consignments_now(&system, &token).await?;
        (list.len() == 1 && list[0]["status"] == "booked").then(|| list[0].clone())
    })
    .await
    .unwrap_or_else(|| panic!("the booking was not resumed\n{}", system.logs()));
    assert_eq!(booked["vessel_id"], "solo");
    assert_eq!(
        room(&system, &token, "solo").await,
        (0, 0),
        "one reservation, kept: the restarted instance asked what the booking holds before \
         looking for room in a full fleet"
    );

    // The client retries with the same key (again while the gateway still meets the dead
    // instance and answers 503) and gets the first outcome.
    let (status, body) = eventually(20, || async {
        let answer = book(&system, &token, Some("crash-1"), one_container(HEAVY)).await;
        (answer.0 != 503).then_some(answer)
    })
    .await
    .expect("a retry gets through");
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["consignment"]["id"], booked["id"]);
    assert_eq!(room(&system, &token, "solo").await, (0, 0));
    system.stop_all().await;
}

#[tokio::test]
async fn a_cancel_killed_after_the_release_ends_cancelled_having_released_once() {
    let mut system = System::start_with(&[("SHIPPY_SAGA__PAUSE_AT", "after-release")]).await;
    let token = system.rest_user("cancel@example.com").await;
    create_vessel(&system, &token, "solo", 3, 3 * HEAVY).await;
    let (status, kept) = book(&system, &token, None, one_container(HEAVY)).await;
    assert_eq!(status, 201, "{kept}");
    let (status, body) = book(&system, &token, None, one_container(HEAVY)).await;
    assert_eq!(status, 201, "{body}");
    let id = body["consignment"]["id"].as_str().unwrap().to_owned();
    assert_eq!(room(&system, &token, "solo").await, (1, HEAVY));

    let path = format!("/api/v1/consignments/{id}/cancel");
    let cancel = system.rest("POST", &path, Some(&token), None);
    let watch = async {
        let released = eventually(20, || async {
            (room(&system, &token, "solo").await == (2, 2 * HEAVY)).then_some(())
        })
        .await;
        assert!(
            released.is_some(),
            "the room never came back\n{}",
            system.logs()
        );
        system.kill_now(names::CONSIGNMENT);
    };
    let ((status, body), ()) = tokio::join!(cancel, watch);
    assert_eq!(status, 503, "{body}");

    system.kill_service(names::CONSIGNMENT).await;
    system.set_env("SHIPPY_SAGA__PAUSE_AT", "");
    system.start_service(names::CONSIGNMENT).await;
    let path = format!("/api/v1/consignments/{id}");
    let cancelled = eventually(30, || async {
        let (status, body) = system.rest("GET", &path, Some(&token), None).await;
        (status == 200 && body["consignment"]["status"] == "cancelled").then_some(body)
    })
    .await
    .unwrap_or_else(|| panic!("the cancel was not resumed\n{}", system.logs()));
    let steps: Vec<&str> = cancelled["consignment"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "pending",
            "reserved",
            "booked",
            "cancelling",
            "released",
            "cancelled"
        ]
    );
    assert_eq!(
        room(&system, &token, "solo").await,
        (2, 2 * HEAVY),
        "released exactly once: the other booking still holds its room"
    );
    system.stop_all().await;
}

#[tokio::test]
async fn the_same_idempotency_key_books_once_and_another_body_under_it_is_a_conflict() {
    let mut system = System::start().await;
    let token = system.rest_user("retry@example.com").await;
    create_vessel(&system, &token, "solo", 10, 10 * HEAVY).await;

    let twice =
        join_all((0..2).map(|_| book(&system, &token, Some("same"), one_container(HEAVY)))).await;
    let ids: Vec<_> = twice
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 201, "{body}");
            body["consignment"]["id"].clone()
        })
        .collect();
    assert_eq!(ids[0], ids[1], "concurrent retries answer one booking");
    let (status, body) = book(&system, &token, Some("same"), one_container(HEAVY)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["consignment"]["id"], ids[0], "a later retry too");
    assert_eq!(consignments(&system, &token).await.len(), 1);
    assert_eq!(
        room(&system, &token, "solo").await,
        (9, 9 * HEAVY),
        "booked once"
    );

    let (status, body) = book(&system, &token, Some("same"), one_container(HEAVY + 1)).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict", "{body}");
    let (status, body) = book(&system, &token, Some("has space"), one_container(HEAVY)).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("idempotency-key"),
        "{body}"
    );
    let other = system.rest_user("other@example.com").await;
    let (status, body) = book(&system, &other, Some("same"), one_container(HEAVY)).await;
    assert_eq!(status, 201, "keys belong to their user: {body}");
    assert_ne!(body["consignment"]["id"], ids[0]);
    system.stop_all().await;
}

#[tokio::test]
async fn one_user_holds_at_most_their_share_of_a_vessel_they_do_not_own_and_is_told_why() {
    let system = System::start().await;
    let owner = system.rest_user("share-owner@example.com").await;
    let shipper = system.rest_user("share-shipper@example.com").await;
    // Smaller than the seeded vessel001 (500 containers, 200 t), so the search offers it first.
    create_vessel(&system, &owner, "shared", 10, 1_000_000).await;
    let mut placed = Vec::new();
    for _ in 0..6 {
        let (status, body) = book(&system, &shipper, None, one_container(100_000)).await;
        assert_eq!(status, 201, "{body}");
        placed.push(
            body["consignment"]["vessel_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Half of "shared" is 5 containers: the sixth goes to the next vessel with room for them.
    assert_eq!(placed[..5], ["shared"; 5], "{placed:?}");
    assert_eq!(placed[5], "vessel001", "{placed:?}");
    // Half of vessel001's 200 t is taken by then: no vessel has room the shipper may hold.
    let (status, body) = book(&system, &shipper, None, one_container(100_000)).await;
    assert_eq!(status, 422, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("50%") && message.contains("limits.vessel_share_percent"),
        "the refusal names the quota and its setting: {body}"
    );
    assert_eq!(room(&system, &owner, "shared").await, (5, 500_000));
    // The owner fills the rest of their own vessel.
    for _ in 0..5 {
        let (status, body) = book(&system, &owner, None, one_container(100_000)).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["consignment"]["vessel_id"], "shared", "{body}");
    }
}
