//! Log-out from the user's side and from a thief's: once a token is logged out, every
//! service refuses it (gRPC straight at each, and REST), also a service that starts later,
//! while the same user's other sessions go on working.

use std::time::Instant;

use shippy_common::names;
use shippy_proto::consignment::GetRequest;
use shippy_proto::consignment::shipping_service_client::ShippingServiceClient;
use shippy_proto::log::ListRequest as LogListRequest;
use shippy_proto::log::log_service_client::LogServiceClient;
use shippy_proto::user::User;
use shippy_proto::user::user_service_client::UserServiceClient;
use shippy_proto::vessel::ListRequest as VesselListRequest;
use shippy_proto::vessel::vessel_service_client::VesselServiceClient;
use shippy_system_tests::{System, eventually};
use tonic::{Code, Request};

fn authed<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// What each gRPC service answers `token`, by service: OK or the status code.
async fn answers(system: &System, token: &str) -> Vec<(&'static str, Code, String)> {
    let mut out = vec![];
    let url = |name| system.grpc_url(name);
    let users = UserServiceClient::connect(url(names::USER).await)
        .await
        .unwrap()
        .get(authed(User::default(), token))
        .await;
    out.push((names::USER, users.map(|_| ())));
    let vessels = VesselServiceClient::connect(url(names::VESSEL).await)
        .await
        .unwrap()
        .list(authed(VesselListRequest::default(), token))
        .await;
    out.push((names::VESSEL, vessels.map(|_| ())));
    let consignments = ShippingServiceClient::connect(url(names::CONSIGNMENT).await)
        .await
        .unwrap()
        .get_consignments(authed(GetRequest::default(), token))
        .await;
    out.push((names::CONSIGNMENT, consignments.map(|_| ())));
    let logs = LogServiceClient::connect(url(names::LOG).await)
        .await
        .unwrap()
        .list(authed(LogListRequest::default(), token))
        .await;
    out.push((names::LOG, logs.map(|_| ())));
    out.into_iter()
        .map(|(name, r)| match r {
            Ok(()) => (name, Code::Ok, String::new()),
            Err(s) => (name, s.code(), s.message().to_owned()),
        })
        .collect()
}

fn all(answers: &[(&str, Code, String)], code: Code) -> bool {
    answers.iter().all(|(_, c, _)| *c == code)
}

#[tokio::test]
async fn a_logged_out_token_is_refused_by_every_service_and_other_sessions_go_on() {
    let mut system = System::start().await;
    let token = system.rest_user("leaving@example.com").await;
    let (status, other) = system
        .rest(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(serde_json::json!({"email": "leaving@example.com", "password": "Testing123"})),
        )
        .await;
    assert_eq!(status, 200, "{other}");
    let other = other["token"].as_str().unwrap().to_owned();
    let before = answers(&system, &token).await;
    assert!(all(&before, Code::Ok), "{before:?}");

    let (status, body) = system
        .rest("POST", "/api/v1/auth/logout", Some(&token), None)
        .await;
    assert_eq!(status, 204, "{body}");
    let started = Instant::now();
    let after = eventually(10, || async {
        let now = answers(&system, &token).await;
        all(&now, Code::Unauthenticated).then_some(now)
    })
    .await
    .unwrap_or_else(|| panic!("still accepted somewhere"));
    println!(
        "every service refused the token {} ms after log-out",
        started.elapsed().as_millis()
    );
    for (name, _, message) in &after {
        assert!(message.contains("revoked"), "{name}: {message}");
    }
    let (status, body) = system
        .rest("GET", "/api/v1/vessels", Some(&token), None)
        .await;
    assert_eq!(status, 401, "REST too: {body}");
    assert!(
        all(&answers(&system, &other).await, Code::Ok),
        "the user's other session still works"
    );

    // Logging out again is not an error (a forged token is); a service started afterwards
    // learns of the log-out.
    let (status, _) = system
        .rest("POST", "/api/v1/auth/logout", Some(&token), None)
        .await;
    assert_eq!(status, 204);
    let (status, body) = system
        .rest("POST", "/api/v1/auth/logout", Some("not.a.token"), None)
        .await;
    assert_eq!(status, 401, "a forged token is not logged out: {body}");
    system.stop_service(names::VESSEL).await;
    system.start_service(names::VESSEL).await;
    let restarted = eventually(10, || async {
        let now = answers(&system, &token).await;
        (now[1].1 != Code::Unavailable).then_some(now)
    })
    .await
    .unwrap();
    assert_eq!(
        restarted[1].1,
        Code::Unauthenticated,
        "the restarted vessel service: {restarted:?}"
    );

    // The activity feed says so.
    let (_, log) = system.rest("GET", "/api/v1/logs", Some(&other), None).await;
    assert!(log.to_string().contains("logged out"), "{log}");
    system.stop_all().await;
}
