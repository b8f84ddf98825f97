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
