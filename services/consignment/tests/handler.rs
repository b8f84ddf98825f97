//! The consignment service's gRPC handler called in-process, over the in-memory consignment
//! store and an in-memory vessel service: what someone booking, listing and cancelling
//! consignments notices.

mod support;

use shippy_common::fields::from_status;
use shippy_consignment::repo::ConsignmentRepository;
use shippy_proto::consignment::shipping_service_server::ShippingService;
use shippy_proto::consignment::{Consignment, ConsignmentRef, Container, GetRequest};
use shippy_proto::tonic::Code;
use support::{Shipping, from, shipping, shipping_with_quota};

fn consignment(containers: usize, weight: i32) -> Consignment {
    Consignment {
        description: "This is a test consignment".into(),
        weight,
        containers: (0..containers)
            .map(|i| Container {
                id: format!("c{i}"),
                customer_id: "cust001".into(),
                origin: "Manchester, United Kingdom".into(),
                user_id: "user001".into(),
            })
            .collect(),
        ..Consignment::default()
    }
}

#[tokio::test]
async fn a_booking_holds_room_on_the_smallest_vessel_that_fits_and_records_one_event_a_step() {
    let s = shipping();
    s.fleet.launch("big", 500, 200_000).await;
    s.fleet.launch("small", 5, 60_000).await;
    let booked = s
        .handler
        .create_consignment(from("alice", Some("k1"), consignment(3, 55_000)))
        .await
        .unwrap()
        .into_inner();
    assert!(booked.created);
    let c = booked.consignment.unwrap();
    assert_eq!(
        (c.status.as_str(), c.vessel_id.as_str()),
        ("booked", "small")
    );
    assert_eq!(c.user_id, "alice");
    let steps: Vec<_> = c.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(steps, ["pending", "reserved", "booked"]);
    assert_eq!(s.fleet.room("small").await, (2, 5_000));
    assert_eq!(
        s.recorded().await,
        ["ConsignmentPending", "ConsignmentBooked"]
    );
    assert_eq!(
        s.recorded_by_vessels().await,
        ["Create", "Create", "CapacityReserved"]
    );
}

#[tokio::test]
async fn a_consignment_no_vessel_can_carry_is_refused_and_holds_no_room() {
    let s = shipping();
    s.fleet.launch("small", 5, 60_000).await;
    let refused = s
        .handler
        .create_consignment(from("alice", None, consignment(6, 1_000)))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(
        refused.message(),
        "no available vessel has room for 6 containers and 1000 kg"
    );
    assert_eq!(s.fleet.room("small").await, (5, 60_000));
    let listed = s
        .handler
        .get_consignments(from("alice", None, GetRequest::default()))
        .await;
    let listed = listed.unwrap().into_inner().consignments;
    assert_eq!(listed.len(), 1, "kept, to say why");
    assert_eq!(listed[0].status, "rejected");
    assert!(listed[0].vessel_id.is_empty());
}

#[tokio::test]
async fn an_invalid_consignment_names_every_bad_field_and_stores_nothing() {
    let s = shipping();
    let bad = Consignment {
        description: " ".into(),
        ..consignment(0, 0)
    };
    let refused = s
        .handler
        .create_consignment(from("alice", None, bad))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(
        from_status(&refused).names(),
        ["description", "weight", "containers"]
    );
    assert!(s.recorded().await.is_empty(), "nothing stored, no event");
}

#[tokio::test]
async fn a_retry_with_the_same_key_books_once_and_another_body_under_it_is_refused() {
    let s = shipping();
    s.fleet.launch("v1", 10, 100_000).await;
    let book = |c| s.handler.create_consignment(from("alice", Some("k1"), c));
    let first = book(consignment(2, 1_000)).await.unwrap().into_inner();
    let again = book(consignment(2, 1_000)).await.unwrap().into_inner();
    assert_eq!(first.consignment.unwrap().id, again.consignment.unwrap().id);
    assert_eq!(s.fleet.room("v1").await, (8, 99_000), "room held once");
    let other = book(consignment(3, 1_000)).await.unwrap_err();
    assert_eq!(other.code(), Code::Aborted);
    assert!(
        other.message().starts_with("idempotency-key: already used"),
        "{other:?}"
    );
}

#[tokio::test]
async fn cancelling_gives_the_room_back_and_cancelling_again_changes_nothing() {
    let s = shipping();
    s.fleet.launch("v1", 10, 100_000).await;
    let booked = s
        .handler
        .create_consignment(from("alice", None, consignment(2, 1_000)))
        .await
        .unwrap();
    let id = booked.into_inner().consignment.unwrap().id;
    let cancel = || {
        s.handler
            .cancel_consignment(from("alice", None, ConsignmentRef { id: id.clone() }))
    };
    let cancelled = cancel().await.unwrap().into_inner().consignment.unwrap();
    assert_eq!(cancelled.status, "cancelled");
    assert_eq!(s.fleet.room("v1").await, (10, 100_000));
    let twice = cancel().await.unwrap().into_inner().consignment.unwrap();
    assert_eq!(twice.status, "cancelled");
    assert_eq!(
        s.recorded_by_vessels().await,
        ["Create", "CapacityReserved", "CapacityReleased"],
        "given back once"
    );
}

#[tokio::test]
async fn another_users_consignment_is_not_found_and_not_listed() {
    let s = shipping();
    s.fleet.launch("v1", 10, 100_000).await;
    let booked = s
        .handler
        .create_consignment(from("alice", None, consignment(1, 1_000)))
        .await
        .unwrap();
    let id = booked.into_inner().consignment.unwrap().id;
    let theirs = s
        .handler
        .get_consignment(from("bob", None, ConsignmentRef { id: id.clone() }))
        .await
        .unwrap_err();
    assert_eq!(theirs.code(), Code::NotFound);
    let cancel = s
        .handler
        .cancel_consignment(from("bob", None, ConsignmentRef { id: id.clone() }))
        .await
        .unwrap_err();
    assert_eq!(cancel.code(), Code::NotFound, "nor cancellable");
    let listed = s
        .handler
        .get_consignments(from("bob", None, GetRequest::default()))
        .await;
    assert!(listed.unwrap().into_inner().consignments.is_empty());
    let mine = s
        .handler
        .get_consignment(from("alice", None, ConsignmentRef { id }))
        .await;
    assert_eq!(
        mine.unwrap().into_inner().consignment.unwrap().status,
        "booked"
    );
}

#[tokio::test]
async fn a_booking_during_a_vessel_outage_stays_pending_and_a_retry_finishes_it() {
    let s = shipping();
    s.fleet.launch("v1", 10, 100_000).await;
    s.fleet.set_down(true);
    let book = || {
        s.handler
            .create_consignment(from("alice", Some("k1"), consignment(1, 1_000)))
    };
    let unfinished = book().await.unwrap_err();
    assert_eq!(unfinished.code(), Code::Unavailable);
    assert!(
        unfinished
            .message()
            .contains("retry with the same idempotency key"),
        "{unfinished:?}"
    );
    assert_eq!(s.fleet.room("v1").await, (10, 100_000));
    s.fleet.set_down(false);
    let booked = book().await.unwrap().into_inner().consignment.unwrap();
    assert_eq!(booked.status, "booked");
    assert_eq!(s.fleet.room("v1").await, (9, 99_000));
    assert_eq!(
        s.recorded().await,
        ["ConsignmentPending", "ConsignmentBooked"]
    );
}

/// Alice books one container, 1,000 kg, under key `k1`.
async fn book_k1(s: &Shipping) -> Result<Consignment, shippy_proto::tonic::Status> {
    let asked = from("alice", Some("k1"), consignment(1, 1_000));
    let answer = s.handler.create_consignment(asked).await?;
    Ok(answer.into_inner().consignment.unwrap())
}

/// On a fleet of one vessel with room for exactly alice's booking, the vessel service holds
/// the room and its answer never arrives (the instance died): the booking is cut off
/// holding the fleet's last room.
async fn cut_off_holding_the_last_room(s: &Shipping) {
    s.fleet.launch("last", 1, 1_000).await;
    s.fleet.lose_reserve_answers(true);
    let cut_off = book_k1(s).await.unwrap_err();
    assert_eq!(cut_off.code(), Code::Unavailable, "{cut_off:?}");
    assert_eq!(s.fleet.room("last").await, (0, 0), "the fleet is full now");
    s.fleet.lose_reserve_answers(false);
}

/// Booked on the vessel where it held room, once, never given back.
async fn booked_where_it_held_room(s: &Shipping, booked: &Consignment) {
    assert_eq!(
        (booked.status.as_str(), booked.vessel_id.as_str()),
        ("booked", "last")
    );
    assert_eq!(s.fleet.room("last").await, (0, 0), "one reservation");
    assert_eq!(
        s.recorded_by_vessels().await,
        ["Create", "CapacityReserved"],
        "held once, never given back"
    );
}

#[tokio::test]
async fn a_booking_that_held_the_last_room_before_a_crash_is_booked_after_it_not_rejected() {
    let s = shipping();
    cut_off_holding_the_last_room(&s).await;
    // Another instance's sweep resumes it (once its last step is older than stale_secs, 0
    // here: a millisecond on), then the client retries with the same key.
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    assert_eq!(
        s.saga
            .sweep(std::time::Duration::from_secs(5))
            .await
            .unwrap(),
        1
    );
    booked_where_it_held_room(&s, &book_k1(&s).await.unwrap()).await;
    assert_eq!(
        s.recorded().await,
        ["ConsignmentPending", "ConsignmentBooked"]
    );
}

#[tokio::test]
async fn a_retry_of_a_booking_whose_answer_was_lost_keeps_the_room_it_holds() {
    let s = shipping();
    cut_off_holding_the_last_room(&s).await;
    booked_where_it_held_room(&s, &book_k1(&s).await.unwrap()).await;
}

/// Sweeps (as another instance would) until `id` stands at `status`, for at most 2 s.
async fn sweep_until(s: &Shipping, id: &str, status: &str) {
    for _ in 0..100 {
        let _ = s.saga.sweep(std::time::Duration::from_secs(1)).await;
        let now = s.repo.get(id).await.unwrap().unwrap();
        if now.status.as_str() == status {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("{id} never became {status}");
}

#[tokio::test]
async fn a_booking_the_vessel_service_keeps_failing_is_given_up_and_ends_failed_holding_nothing() {
    let s = shipping();
    s.fleet.launch("v1", 10, 100_000).await;
    // The room is held but the answer is lost; then the vessel service fails every call.
    s.fleet.lose_reserve_answers(true);
    let cut_off = book_k1(&s).await.unwrap_err();
    assert_eq!(cut_off.code(), Code::Unavailable, "{cut_off:?}");
    s.fleet.set_down(true);
    let id = s.repo.by_key("alice", "key-k1").await.unwrap().unwrap().id;
    // Three sweeps in a row fail (the waits between them grow): shippy gives up, and keeps
    // trying to give the room back, however long that takes.
    sweep_until(&s, &id, "failing").await;
    assert_eq!(
        s.fleet.room("v1").await,
        (9, 99_000),
        "still held while it cannot release"
    );
    s.fleet.set_down(false);
    s.fleet.lose_reserve_answers(false);
    sweep_until(&s, &id, "failed").await;
    assert_eq!(
        s.fleet.room("v1").await,
        (10, 100_000),
        "its room is free again"
    );
    let failed = s.repo.get(&id).await.unwrap().unwrap();
    assert!(
        failed.reason.contains("gave up after 3 tries"),
        "{failed:?}"
    );
    let steps: Vec<&str> = failed.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(steps, ["pending", "failing", "released", "failed"]);
    assert_eq!(
        s.recorded().await,
        ["ConsignmentPending", "ConsignmentFailed"]
    );
    // Asking again under the same key says so, with what to do.
    let again = book_k1(&s).await.unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition, "{again:?}");
    assert!(again.message().contains("book it again"), "{again:?}");
}

#[tokio::test]
async fn bookings_that_keep_failing_do_not_delay_a_new_ones_recovery() {
    let s = shipping();
    s.fleet.launch("big", 1_000, 10_000_000).await;
    s.fleet.set_down(true);
    // 200 bookings stall on the vessel service; two sweeps of 100 fail on each.
    for i in 0..200 {
        let asked = from("alice", Some(&format!("stuck-{i}")), consignment(1, 1_000));
        assert!(s.handler.create_consignment(asked).await.is_err());
    }
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let sweep = || s.saga.sweep(std::time::Duration::from_secs(1));
    for _ in 0..2 {
        assert_eq!(sweep().await.unwrap(), 0);
    }
    // A new booking stalls after them; the vessel service comes back.
    let asked = from("bob", Some("new"), consignment(1, 1_000));
    assert!(s.handler.create_consignment(asked).await.is_err());
    s.fleet.set_down(false);
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    // The next sweep of 100 reaches it first: no sweep has failed on it yet, so it goes
    // before all 200 older ones that keep failing (oldest first, it would be the 201st).
    sweep().await.unwrap();
    let new = s.repo.by_key("bob", "key-new").await.unwrap().unwrap();
    assert_eq!(new.status.as_str(), "booked", "{new:?}");
}

#[tokio::test]
async fn a_user_past_their_bookings_in_flight_is_told_which_quota_and_a_finished_one_makes_room() {
    let s = shipping_with_quota(2);
    s.fleet.launch("v1", 100, 1_000_000).await;
    let book = |key: &'static str| {
        s.handler
            .create_consignment(from("alice", Some(key), consignment(1, 1_000)))
    };
    // The vessel service is down: two bookings stay pending, in flight.
    s.fleet.set_down(true);
    for key in ["k1", "k2"] {
        assert_eq!(book(key).await.unwrap_err().code(), Code::Unavailable);
    }
    let refused = book("k3").await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused
            .message()
            .contains("limits.bookings_in_flight_per_user"),
        "names the quota and how to raise it: {refused:?}"
    );
    let bobs = from("bob", Some("k1"), consignment(1, 1_000));
    let bobs = s.handler.create_consignment(bobs).await.unwrap_err();
    assert_eq!(bobs.code(), Code::Unavailable, "bob has his own quota");
    // Back up: a retry under a used key is answered as before, quota or not, and a booking
    // the saga has finished with counts no more.
    s.fleet.set_down(false);
    let again = book("k1").await.expect("the retry finishes it");
    assert_eq!(again.into_inner().consignment.unwrap().status, "booked");
    book("k3")
        .await
        .expect("one in flight now: room for another");
}

#[tokio::test]
async fn a_page_of_consignments_never_outgrows_a_grpc_message() {
    use shippy_proto::prost::Message;
    let s = shipping();
    s.fleet.launch("v1", 40_000, 100_000_000).await;
    // Three bookings of 10,000 containers with long origins: about 3 MB each as an answer.
    let mut big = consignment(10_000, 1_000);
    for c in &mut big.containers {
        c.origin = "o".repeat(256);
    }
    for key in ["k1", "k2", "k3"] {
        let asked = from("alice", Some(key), big.clone());
        s.handler.create_consignment(asked).await.unwrap();
    }
    let (mut seen, mut page_token) = (0, String::new());
    loop {
        let asked = GetRequest {
            page_token,
            ..GetRequest::default()
        };
        let page = s
            .handler
            .get_consignments(from("alice", None, asked))
            .await
            .unwrap()
            .into_inner();
        assert!(
            page.encoded_len() < 4 * 1024 * 1024,
            "{} bytes",
            page.encoded_len()
        );
        assert!(!page.consignments.is_empty());
        seen += page.consignments.len();
        page_token = page.next_page_token;
        if page_token.is_empty() {
            break;
        }
    }
    assert_eq!(seen, 3, "every one, over pages that end early");
}
