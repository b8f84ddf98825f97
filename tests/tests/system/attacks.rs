//! The auth attack suite, over REST and gRPC: every way to forge, break or borrow a token
//! is refused with UNAUTHENTICATED (401) saying which check failed, without echoing the token
//! or anybody's data; a valid token of one user never reaches another user's data.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use shippy_common::auth::generate_key_pair;
use shippy_common::names;
use shippy_proto::consignment::GetRequest;
use shippy_proto::consignment::shipping_service_client::ShippingServiceClient;
use shippy_proto::log::ListRequest;
use shippy_proto::log::log_service_client::LogServiceClient;
use shippy_proto::user::Token;
use shippy_proto::user::user_service_client::UserServiceClient;
use shippy_proto::vessel::vessel_service_client::VesselServiceClient;
use shippy_proto::vessel::{ReleaseRequest, ReserveRequest};
use shippy_system_tests::{System, sample};
use tonic::{Code, Request};

fn now() -> i64 {
    shippy_plugins::now_unix_ms() / 1000
}

/// Claims as the user service would sign them for `sub`, with `changes` applied.
fn claims(sub: &str, changes: Value) -> Value {
    let mut c = json!({
        "sub": sub, "email": "x@example.com", "name": "X", "iss": "shippy.user", "aud": "shippy",
        "iat": now() - 60, "nbf": now() - 60, "exp": now() + 3600,
    });
    for (k, v) in changes.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

fn ed25519(private_pem: &[u8], claims: &Value) -> String {
    shippy_common::auth::ed25519::install();
    let key = EncodingKey::from_ed_pem(private_pem).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), claims, &key).unwrap()
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

/// A token whose header names `alg`, signed by `sign` over its first two parts, made by
/// hand: the jsonwebtoken that shippy builds has no HMAC or RSA code to make it with.
fn hand_signed(alg: &str, sign: &dyn Fn(&[u8]) -> Vec<u8>, claims: &Value) -> String {
    let signed = format!(
        "{}.{}",
        b64(&json!({"alg": alg, "typ": "JWT"})),
        b64(claims)
    );
    let signature = URL_SAFE_NO_PAD.encode(sign(signed.as_bytes()));
    format!("{signed}.{signature}")
}

/// HMAC-SHA256 keyed with `secret` (the public key, in the classic confusion attack).
fn hs256(secret: &[u8]) -> impl Fn(&[u8]) -> Vec<u8> + '_ {
    use hmac::Mac;
    move |message| {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
        mac.update(message);
        mac.finalize().into_bytes().to_vec()
    }
}

/// Each attack: a name, the token (None: no header at all), and the words one of which the
/// refusal must contain.
fn attacks(
    system: &System,
    valid: &str,
    victim: &str,
) -> Vec<(&'static str, Option<String>, &'static [&'static str])> {
    let own = std::fs::read(&system.config.auth.private_key).unwrap();
    let public = std::fs::read(&system.config.auth.public_key).unwrap();
    let foreign = generate_key_pair().unwrap().private_pem;
    let (head, rest) = valid.split_once('.').unwrap();
    let signature = rest.split_once('.').unwrap().1;
    vec![
        ("no token", None, &["missing token"]),
        ("garbage", Some("garbage".into()), &["malformed token"]),
        (
            "truncated",
            Some(valid[..valid.len() - 12].to_owned()),
            &["invalid token signature", "malformed token"],
        ),
        (
            "expired",
            Some(ed25519(
                &own,
                &claims(
                    victim,
                    json!({"iat": now() - 7200, "nbf": now() - 7200, "exp": now() - 3600}),
                ),
            )),
            &["token expired"],
        ),
        (
            "not yet valid",
            Some(ed25519(&own, &claims(victim, json!({"nbf": now() + 3600})))),
            &["not valid yet"],
        ),
        (
            "wrong issuer",
            Some(ed25519(&own, &claims(victim, json!({"iss": "evil"})))),
            &["wrong issuer"],
        ),
        (
            "wrong audience",
            Some(ed25519(
                &own,
                &claims(victim, json!({"aud": "another-app"})),
            )),
            &["wrong audience"],
        ),
        (
            "alg none",
            Some(format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT"})),
                b64(&claims(victim, json!({})))
            )),
            &["malformed token", "algorithm not accepted"],
        ),
        (
            "hmac with the public key",
            Some(hand_signed(
                "HS256",
                &hs256(&public),
                &claims(victim, json!({})),
            )),
            &["algorithm not accepted"],
        ),
        (
            "rsa, which shippy has no code for",
            Some(hand_signed(
                "RS256",
                &|_| vec![7; 256],
                &claims(victim, json!({})),
            )),
            &["algorithm not accepted"],
        ),
        (
            "another key pair",
            Some(ed25519(foreign.as_bytes(), &claims(victim, json!({})))),
            &["invalid token signature"],
        ),
        (
            "tampered payload",
            Some(format!(
                "{head}.{}.{signature}",
                b64(&claims(victim, json!({})))
            )),
            &["invalid token signature"],
        ),
    ]
}

async fn grpc_consignments(
    system: &System,
    token: Option<&str>,
    key: &'static str,
) -> Result<Vec<String>, tonic::Status> {
    let mut client = ShippingServiceClient::connect(system.grpc_url(names::CONSIGNMENT).await)
        .await
        .unwrap();
    let mut request = Request::new(GetRequest::default());
    if let Some(token) = token {
        let value = if key == "authorization" {
            format!("Bearer {token}")
        } else {
            token.to_owned()
        };
        request.metadata_mut().insert(key, value.parse().unwrap());
    }
    let list = client
        .get_consignments(request)
        .await?
        .into_inner()
        .consignments;
    Ok(list.into_iter().map(|c| c.id).collect())
}

async fn grpc_validate(system: &System, token: &str) -> Result<Token, tonic::Status> {
    let mut client = UserServiceClient::connect(system.grpc_url(names::USER).await)
        .await
        .unwrap();
    let request = Token {
        token: token.to_owned(),
        ..Default::default()
    };
    Ok(client.validate_token(request).await?.into_inner())
}

#[tokio::test]
async fn forged_broken_and_borrowed_tokens_are_refused_and_nothing_leaks() {
    let mut system = System::start().await;
    let alice = system.rest_user("alice@example.com").await;
    let bob = system.rest_user("bob@example.com").await;
    let consignment: Value =
        serde_json::from_str(&std::fs::read_to_string(sample("consignment.json")).unwrap())
            .unwrap();
    let (status, booked) = system
        .rest(
            "POST",
            "/api/v1/consignments",
            Some(&alice),
            Some(consignment),
        )
        .await;
    assert_eq!(status, 201);
    let alice_id = booked["consignment"]["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let alice_consignment = booked["consignment"]["id"].as_str().unwrap().to_owned();

    for (name, token, expected) in attacks(&system, &bob, &alice_id) {
        let (status, body) = system
            .rest("GET", "/api/v1/consignments", token.as_deref(), None)
            .await;
        let message = body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("unauthenticated")),
            "{name}: {body}"
        );
        assert!(
            expected.iter().any(|e| message.contains(e)),
            "{name}: REST said {message:?}"
        );
        let leaked = [
            alice_consignment.as_str(),
            "alice@example.com",
            token.as_deref().unwrap_or("-"),
        ];
        let mut refusals = vec![body.to_string()];
        for key in ["authorization", "token"] {
            let refused = grpc_consignments(&system, token.as_deref(), key)
                .await
                .unwrap_err();
            assert_eq!(refused.code(), Code::Unauthenticated, "{name} via {key}");
            assert!(
                expected.iter().any(|e| refused.message().contains(e)),
                "{name} via {key}: {refused:?}"
            );
            refusals.push(refused.message().to_owned());
        }
        if let Some(token) = &token {
            let refused = grpc_validate(&system, token).await.unwrap_err();
            assert_eq!(
                refused.code(),
                Code::Unauthenticated,
                "{name} via ValidateToken"
            );
            refusals.push(refused.message().to_owned());
        }
        for refusal in refusals {
            assert!(
                leaked.iter().all(|l| !refusal.contains(l)),
                "{name} leaked: {refusal}"
            );
        }
    }

    // A valid token validates, and the answer names its user without repeating it.
    let validated = grpc_validate(&system, &alice).await.unwrap();
    assert!(validated.valid);
    assert_eq!(validated.user_id, alice_id);
    assert_eq!(validated.token, "", "the token is not echoed");

    // Bob's valid token shows Bob's data only, and asking for Alice's log is refused.
    assert_eq!(
        grpc_consignments(&system, Some(&bob), "authorization")
            .await
            .unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        grpc_consignments(&system, Some(&alice), "token")
            .await
            .unwrap(),
        vec![alice_consignment.clone()]
    );
    let (_, listed) = system
        .rest("GET", "/api/v1/consignments", Some(&bob), None)
        .await;
    assert_eq!(listed["consignments"], json!([]));
    let mut logs = LogServiceClient::connect(system.grpc_url(names::LOG).await)
        .await
        .unwrap();
    let mut request = Request::new(ListRequest {
        user_id: alice_id.clone(),
        ..Default::default()
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {bob}").parse().unwrap());
    let refused = logs.list(request).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(!refused.message().contains(&alice_id));
    let (_, bobs) = system.rest("GET", "/api/v1/logs", Some(&bob), None).await;
    assert!(!bobs.to_string().contains(&alice_consignment), "{bobs}");
    system.stop_all().await;
}

/// `message` with `token` as its bearer.
fn authed<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// The vessel service's room is moved only by shippy's own services: a user who calls
/// `Reserve` or `Release` directly, with their own token or with one that claims the
/// services' issuer under the user key, is refused and nothing moves.
#[tokio::test]
async fn users_cannot_reserve_or_release_vessel_room_themselves() {
    let mut system = System::start().await;
    let alice = system.rest_user("alice@example.com").await;
    let (status, booked) = system
        .rest(
            "POST",
            "/api/v1/consignments",
            Some(&alice),
            Some(
                serde_json::from_str(&std::fs::read_to_string(sample("consignment.json")).unwrap())
                    .unwrap(),
            ),
        )
        .await;
    assert_eq!(status, 201, "{booked}");
    let consignment = booked["consignment"]["id"].as_str().unwrap().to_owned();
    let own = std::fs::read(&system.config.auth.private_key).unwrap();
    let posing = ed25519(
        &own,
        &claims(
            "service:shippy.consignment",
            json!({"iss": "shippy.services"}),
        ),
    );
    let mut vessels = VesselServiceClient::connect(system.grpc_url(names::VESSEL).await)
        .await
        .unwrap();
    for (token, code) in [
        (&alice, Code::PermissionDenied),
        (&posing, Code::Unauthenticated),
    ] {
        let hold = ReserveRequest {
            consignment_id: "mine".into(),
            vessel_id: "vessel001".into(),
            capacity: 500,
            weight: 1,
            ..ReserveRequest::default()
        };
        let refused = vessels.reserve(authed(hold, token)).await.unwrap_err();
        assert_eq!(refused.code(), code, "{refused:?}");
        let release = ReleaseRequest {
            consignment_id: consignment.clone(),
            ..ReleaseRequest::default()
        };
        let refused = vessels.release(authed(release, token)).await.unwrap_err();
        assert_eq!(refused.code(), code, "{refused:?}");
    }
    let (_, list) = system
        .rest("GET", "/api/v1/vessels", Some(&alice), None)
        .await;
    let vessel001 = &list["vessels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "vessel001")
        .unwrap()
        .clone();
    assert_eq!(
        (
            &vessel001["remaining_capacity"],
            &vessel001["remaining_weight"]
        ),
        (&json!(497), &json!(145_000)),
        "alice's booking still holds its room, and nothing else does"
    );
    system.stop_all().await;
}
