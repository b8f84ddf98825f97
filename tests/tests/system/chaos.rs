//! Chaos tests: infrastructure and processes fail under a stream of bookings, and still every
//! booking that was answered `created` is stored once and its event recorded once.
//! Bounded in time and requests; all traffic on loopback.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use shippy_common::names;
use shippy_system_tests::{System, eventually, sample, servers};
use tokio::sync::Mutex;

fn consignment() -> Value {
    serde_json::from_str(&std::fs::read_to_string(sample("consignment.json")).unwrap()).unwrap()
}

/// Holds the write lock of a SQLite file for `hold`, as another process hogging it would.
/// Answers once the lock is held; the returned thread ends when it is released.
fn lock_sqlite(path: &Path, hold: Duration) -> std::thread::JoinHandle<()> {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
    std::thread::spawn(move || {
        std::thread::sleep(hold);
        conn.execute_batch("COMMIT").unwrap();
    })
}

/// Books one consignment through REST: the status and, when created, its id.
async fn book(system: &System, token: &str) -> (u16, Option<String>) {
    let (status, body) = system
        .rest(
            "POST",
            "/api/v1/consignments",
            Some(token),
            Some(consignment()),
        )
        .await;
    let id = body["consignment"]["id"].as_str().map(str::to_owned);
    (status, id)
}

/// The ids of the caller's consignments, as listed.
async fn listed(system: &System, token: &str) -> Vec<String> {
    let all = system.rest_all("/api/v1/consignments", token, "consignments");
    all.await
        .expect("the consignments are listed")
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// How many of the caller's recorded events were bookings.
async fn booking_events(system: &System, token: &str) -> usize {
    let events = system.rest_all("/api/v1/logs", token, "events").await;
    events
        .unwrap_or_default()
        .iter()
        .filter(|e| e["method"] == "ConsignmentBooked")
        .count()
}

/// Waits until exactly `n` booking events are recorded, and that they stay `n`.
async fn assert_booking_events_once(system: &System, token: &str, n: usize) {
    let reached = eventually(60, || async {
        (booking_events(system, token).await >= n).then_some(())
    })
    .await;
    assert!(
        reached.is_some(),
        "only {} of {n} booking events recorded\n{}",
        booking_events(system, token).await,
        system.logs()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        booking_events(system, token).await,
        n,
        "each event recorded once"
    );
}

/// Books every 250 ms for `during`; every booking must be created. Answers the ids.
async fn book_steadily(system: &System, token: &str, during: Duration) -> Vec<String> {
    let mut ids = Vec::new();
    let until = tokio::time::Instant::now() + during;
    while tokio::time::Instant::now() < until {
        let (status, id) = book(system, token).await;
        assert_eq!(status, 201, "a booking failed while the broker was down");
        ids.push(id.unwrap());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    ids
}

#[tokio::test]
async fn the_embedded_broker_locked_for_10_s_delays_events_and_loses_none() {
    let mut system = System::start().await;
    let token = system.rest_user("broker-down@example.com").await;
    system.tutorial_vessels(&token).await;
    let broker = system.config.data_file("broker");
    let outage = lock_sqlite(&broker, Duration::from_secs(10));
    let booked = book_steadily(&system, &token, Duration::from_secs(10)).await;
    outage.join().unwrap();
    // Every booking made while it was down was answered 201 (book_steadily holds that).
    assert!(!booked.is_empty(), "no booking was tried during the outage");
    assert_booking_events_once(&system, &token, booked.len()).await;
    system.stop_all().await;
}

#[tokio::test]
async fn kafka_paused_for_10_s_delays_events_and_loses_none() {
    let Some(kafka) = servers::kafka().await else {
        return;
    };
    let pid = kafka.pid.expect("make test names the broker's process");
    let run = format!("{}_{}", std::process::id(), shippy_plugins::now_unix_ms());
    let (topic, group) = (format!("shippy.chaos.{run}"), format!("chaos-{run}"));
    let mut system = System::start_with(&[
        ("SHIPPY_BROKER__KIND", "kafka"),
        ("SHIPPY_BROKER__KAFKA_BROKERS", &kafka.brokers),
        ("SHIPPY_BROKER__LOG_TOPIC", &topic),
        ("SHIPPY_BROKER__LOG_GROUP", &group),
        (
            "RUST_LOG",
            "debug,h2=info,hyper=info,tower=info,tonic=info,rdkafka=debug",
        ),
    ])
    .await;
    let token = system.rest_user("kafka-down@example.com").await;
    system.tutorial_vessels(&token).await;
    // Steady state first: one booking relayed and recorded, so every client is connected.
    let (status, _) = book(&system, &token).await;
    assert_eq!(status, 201);
    assert_booking_events_once(&system, &token, 1).await;
    let broker = nix::unistd::Pid::from_raw(pid);
    nix::sys::signal::kill(broker, nix::sys::signal::Signal::SIGSTOP).unwrap();
    let booked = book_steadily(&system, &token, Duration::from_secs(10)).await;
    nix::sys::signal::kill(broker, nix::sys::signal::Signal::SIGCONT).unwrap();
    // Every booking made while it was down was answered 201 (book_steadily holds that).
    assert!(!booked.is_empty(), "no booking was tried during the outage");
    assert_booking_events_once(&system, &token, booked.len() + 1).await;
    system.stop_all().await;
}

/// Books straight at the gateway `api`, for clients that run beside the test.
async fn book_at(http: &reqwest::Client, api: &str, token: &str) -> Option<String> {
    book_answer(http, api, token).await.1
}

/// A booking's status (0 when no answer came) and, when booked, its id.
async fn book_answer(http: &reqwest::Client, api: &str, token: &str) -> (u16, Option<String>) {
    let sent = http
        .post(format!("{api}/api/v1/consignments"))
        .bearer_auth(token)
        .json(&consignment())
        .send()
        .await;
    let Ok(response) = sent else { return (0, None) };
    let status = response.status().as_u16();
    if status != 201 {
        return (status, None);
    }
    let body: Value = response.json().await.unwrap_or_default();
    (
        status,
        body["consignment"]["id"].as_str().map(str::to_owned),
    )
}

#[tokio::test]
async fn a_consignment_service_killed_under_load_loses_and_doubles_nothing_it_confirmed() {
    let mut system = System::start().await;
    let token = system.rest_user("crash@example.com").await;
    system.tutorial_vessels(&token).await;
    let api = system.api_url().await;
    let created = Arc::new(Mutex::new(Vec::<String>::new()));
    let failures = Arc::new(Mutex::new(Vec::<u16>::new()));

    // Four clients book 30 times each; consignment-service is killed (SIGKILL) early on and
    // restarted a second later. Bookings during the outage may fail, as 503 (retry), never
    // 500; none may be lost.
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (created, token, api) = (created.clone(), token.clone(), api.clone());
            let failures = failures.clone();
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                for _ in 0..30 {
                    match book_answer(&http, &api, &token).await {
                        (_, Some(id)) => created.lock().await.push(id),
                        (status, None) => failures.lock().await.push(status),
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    system.kill_service(names::CONSIGNMENT).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    system.start_service(names::CONSIGNMENT).await;
    for client in clients {
        client.await.unwrap();
    }

    let failures = failures.lock().await.clone();
    println!("{} bookings failed during the outage", failures.len());
    assert!(
        failures.iter().all(|s| *s == 503),
        "the outage answered only 503 (retry): {failures:?}"
    );
    let created = created.lock().await.clone();
    let listed = listed(&system, &token).await;
    let unique: BTreeSet<&String> = listed.iter().collect();
    assert_eq!(unique.len(), listed.len(), "a consignment listed twice");
    let missing: Vec<&String> = created.iter().filter(|id| !unique.contains(id)).collect();
    assert!(missing.is_empty(), "confirmed but lost: {missing:?}");
    assert!(
        created.len() >= 60,
        "{} bookings went through",
        created.len()
    );
    // Every stored booking's event arrives once, the ones whose answer was lost included.
    assert_booking_events_once(&system, &token, listed.len()).await;
    system.stop_all().await;
}

#[tokio::test]
async fn a_locked_store_answers_503_writes_nothing_and_recovers_by_itself() {
    let mut system = System::start().await;
    let token = system.rest_user("store-down@example.com").await;
    system.tutorial_vessels(&token).await;
    let (status, first) = book(&system, &token).await;
    assert_eq!(status, 201);

    let store = system.config.data_file("consignments");
    let outage = lock_sqlite(&store, Duration::from_secs(5));
    let (status, body) = system
        .rest(
            "POST",
            "/api/v1/consignments",
            Some(&token),
            Some(consignment()),
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    assert!(body["error"]["message"].as_str().is_some(), "{body}");
    outage.join().unwrap();

    let recovered = eventually(10, || async {
        let (status, id) = book(&system, &token).await;
        (status == 201).then_some(id)
    })
    .await
    .expect("bookings succeed again once the store is back");
    let listed = listed(&system, &token).await;
    assert_eq!(
        listed,
        vec![recovered.unwrap(), first.unwrap()],
        "the refused booking left nothing behind"
    );
    assert_booking_events_once(&system, &token, 2).await;
    system.stop_all().await;
}

#[tokio::test]
async fn a_vessel_instance_killed_under_load_fails_no_later_request_and_leaves_the_balancer() {
    let mut system = System::start().await;
    let token = system.rest_user("two-vessels@example.com").await;
    system.tutorial_vessels(&token).await;
    let second = system.start_extra(names::VESSEL).await;
    assert_eq!(system.instances(names::VESSEL).await.len(), 2);
    let api = system.api_url().await;

    // Two clients book without pause; each booking asks a vessel instance for a fit.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let log = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let (stop, log, token, api) = (stop.clone(), log.clone(), token.clone(), api.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                for _ in 0..2000 {
                    if stop.load(std::sync::atomic::Ordering::SeqCst) {
                        break;
                    }
                    let started = tokio::time::Instant::now();
                    let ok = book_at(&http, &api, &token).await.is_some();
                    log.lock().await.push((started, ok));
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let killed_at = tokio::time::Instant::now();
    second.kill().await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for client in clients {
        client.await.unwrap();
    }

    let log = log.lock().await.clone();
    let before = log.iter().filter(|(t, _)| *t < killed_at).count();
    let after: Vec<bool> = log
        .iter()
        .filter(|(t, _)| *t >= killed_at)
        .map(|(_, ok)| *ok)
        .collect();
    assert!(
        before >= 10 && after.len() >= 10,
        "{before} before, {} after",
        after.len()
    );
    let failed = after.iter().filter(|ok| !**ok).count();
    assert_eq!(
        failed,
        0,
        "{failed} of {} bookings started after the kill failed\n{}",
        after.len(),
        system.logs()
    );
    let ttl = system.config.registry.ttl_secs;
    let gone = eventually(ttl + 2, || async {
        (system.instances(names::VESSEL).await.len() == 1).then_some(())
    })
    .await;
    assert!(gone.is_some(), "the killed instance is still registered");
    system.stop_all().await;
}
