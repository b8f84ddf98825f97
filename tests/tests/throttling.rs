//! Log-in throttling from the attacker's side, with the shipped limits (5 failures per
//! account, 20 per address, in 5 minutes): guessing locks the account, spraying many
//! accounts locks the address, and both say how long to wait, over REST and gRPC.

use serde_json::json;
use shippy_common::names;
use shippy_proto::user::User;
use shippy_proto::user::user_service_client::UserServiceClient;
use shippy_system_tests::System;
use tonic::Code;

async fn log_in(system: &System, email: &str, password: &str) -> (u16, serde_json::Value) {
    system
        .rest(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": email, "password": password})),
        )
        .await
}

#[tokio::test]
async fn guessing_passwords_locks_the_account_then_the_address_and_says_how_long() {
    let mut system = System::start().await;
    let victim = "victim@example.com";
    system.rest_user(victim).await;

    for guess in 0..5 {
        let (status, body) = log_in(&system, victim, &format!("guess-{guess}-wrong")).await;
        assert_eq!(status, 401, "guess {guess}: {body}");
    }
    let url = format!("{}/api/v1/auth/login", system.api_url().await);
    let locked = reqwest::Client::new()
        .post(&url)
        .json(&json!({"email": victim, "password": "Testing123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        locked.status().as_u16(),
        429,
        "even the right password waits out the lock"
    );
    let wait: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&wait), "Retry-After {wait}");
    let body: serde_json::Value = locked.json().await.unwrap();
    assert_eq!(body["error"]["code"], "resource_exhausted");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too many failed log-ins")
    );

    // Spraying other accounts from the same address: 15 more failures reach the 20 limit.
    for i in 0..15 {
        let (status, _) = log_in(&system, &format!("nobody{i}@example.com"), "whatever-123").await;
        assert_eq!(status, 401, "spray {i}");
    }
    system
        .rest(
            "POST",
            "/api/v1/users",
            None,
            Some(json!({"name": "Legit", "email": "legit@example.com", "password": "Testing123"})),
        )
        .await;
    let (status, _) = log_in(&system, "legit@example.com", "Testing123").await;
    assert_eq!(status, 429, "the address is locked for every account");

    let mut grpc = UserServiceClient::connect(system.grpc_url(names::USER).await)
        .await
        .unwrap();
    let attempt = User {
        email: "legit@example.com".into(),
        password: "Testing123".into(),
        ..Default::default()
    };
    let refused = grpc.auth(attempt).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(refused.metadata().get("retry-after").is_some());
    system.stop_all().await;
}

/// Lists vessels over gRPC straight at vessel-service as the holder of `token`.
async fn grpc_list(system: &System, token: &str) -> Result<(), tonic::Status> {
    use shippy_proto::vessel::ListRequest;
    use shippy_proto::vessel::vessel_service_client::VesselServiceClient;
    let mut client = VesselServiceClient::connect(system.grpc_url(names::VESSEL).await)
        .await
        .unwrap();
    let mut request = tonic::Request::new(ListRequest::default());
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    client.list(request).await.map(|_| ())
}

#[tokio::test]
async fn a_client_over_its_rate_is_told_to_wait_and_other_clients_are_not() {
    let mut system = System::start_with(&[
        ("SHIPPY_LIMITS__REQUESTS_PER_SEC", "2"),
        ("SHIPPY_LIMITS__BURST", "5"),
    ])
    .await;
    let alice = system.rest_user("alice-rate@example.com").await;
    let bob = system.rest_user("bob-rate@example.com").await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;

    // gRPC: per user, whoever calls.
    let mut refused = None;
    for _ in 0..10 {
        if let Err(status) = grpc_list(&system, &alice).await {
            refused = Some(status);
            break;
        }
    }
    let refused = refused.expect("alice is limited within ten quick calls");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(refused.metadata().get("retry-after").unwrap(), "1");
    assert!(
        refused.message().contains("2 requests a second"),
        "{refused:?}"
    );
    grpc_list(&system, &bob)
        .await
        .expect("bob has his own budget");

    // REST: per address, with Retry-After and the JSON error body.
    let url = format!("{}/api/v1/vessels", system.api_url().await);
    let http = reqwest::Client::new();
    let mut limited = None;
    for _ in 0..10 {
        let response = http.get(&url).bearer_auth(&bob).send().await.unwrap();
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
    }
    let limited = limited.expect("the gateway limits within ten quick calls");
    assert_eq!(limited.headers()["retry-after"], "1");
    let body: serde_json::Value = limited.json().await.unwrap();
    assert_eq!(body["error"]["code"], "resource_exhausted", "{body}");

    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    grpc_list(&system, &alice)
        .await
        .expect("alice may call again after waiting");
    system.stop_all().await;
}
