//! Protected calls with no token, a garbage one, an expired one and one signed by a foreign
//! key are refused, over REST (401) and gRPC (the CLIs exit non-zero saying why).

use serde::Serialize;
use shippy_common::auth::generate_key_pair;
use shippy_system_tests::System;

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    email: &'a str,
    name: &'a str,
    iss: &'a str,
    aud: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
}

fn sign(private_pem: &[u8], iss: &str, exp_offset: i64) -> String {
    let now = shippy_plugins::now_unix_ms() / 1000;
    let claims = Claims {
        sub: "u1",
        email: "e@x.io",
        name: "n",
        iss,
        aud: "shippy",
        iat: now - 7200,
        nbf: now - 7200,
        exp: now + exp_offset,
    };
    let key = jsonwebtoken::EncodingKey::from_ed_pem(private_pem).unwrap();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA),
        &claims,
        &key,
    )
    .unwrap()
}

#[tokio::test]
async fn protected_calls_are_refused_without_a_valid_token_and_say_why() {
    let mut system = System::start().await;
    let own_key = std::fs::read(&system.config.auth.private_key).unwrap();
    let foreign_key = generate_key_pair().unwrap().private_pem;
    let cases = [
        (None, "missing token"),
        (Some("garbage".to_owned()), "malformed token"),
        (Some(sign(&own_key, "shippy.user", -3600)), "token expired"),
        (
            Some(sign(foreign_key.as_bytes(), "shippy.user", 3600)),
            "invalid token signature",
        ),
        (Some(sign(&own_key, "someone-else", 3600)), "wrong issuer"),
    ];
    for (token, why) in &cases {
        let (status, body) = system
            .rest("GET", "/api/v1/consignments", token.as_deref(), None)
            .await;
        assert_eq!(status, 401, "{why}: {body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(why),
            "{why}: {body}"
        );
        let run = system
            .cli("consignment-cli", &["list"], token.as_deref())
            .await;
        assert!(!run.success, "{why}: {run:?}");
        let expected = if token.is_none() { "no token" } else { why };
        assert!(run.stderr.contains(expected), "{why}: {run:?}");
    }
    let (status, _) = system
        .rest(
            "GET",
            "/api/v1/vessels",
            Some(&sign(&own_key, "shippy.user", 3600)),
            None,
        )
        .await;
    assert_eq!(
        status, 200,
        "a well-signed, unexpired token with the right issuer passes"
    );
    system.stop_all().await;
}
