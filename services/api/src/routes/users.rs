//! Sign-up, log-in, token validation and the user list.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use shippy_proto::user::{self as pb, user_service_client::UserServiceClient};

use crate::error::ApiError;
use crate::json::Json;
use crate::state::{AppState, authed};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", post(sign_up).get(list))
        .route("/auth/login", post(log_in))
        .route("/auth/validate", post(validate))
}

#[derive(Deserialize)]
struct SignUp {
    name: String,
    #[serde(default)]
    company: String,
    email: String,
    password: String,
}

#[derive(Deserialize)]
struct LogIn {
    email: String,
    password: String,
}

#[derive(Deserialize)]
struct Validate {
    token: String,
}

/// A user as the API shows one: never a password or hash.
#[derive(Serialize)]
pub struct User {
    id: String,
    name: String,
    company: String,
    email: String,
}

impl From<pb::User> for User {
    fn from(u: pb::User) -> Self {
        Self {
            id: u.id,
            name: u.name,
            company: u.company,
            email: u.email,
        }
    }
}

#[derive(Serialize)]
struct Token {
    token: String,
    valid: bool,
    user_id: String,
    expires_at: i64,
}

impl From<pb::Token> for Token {
    fn from(t: pb::Token) -> Self {
        Self {
            token: t.token,
            valid: t.valid,
            user_id: t.user_id,
            expires_at: t.expires_at,
        }
    }
}

async fn client(
    state: &AppState,
) -> Result<UserServiceClient<shippy_proto::tonic::transport::Channel>, ApiError> {
    Ok(UserServiceClient::new(state.users.channel().await?))
}

async fn sign_up(
    State(state): State<AppState>,
    Json(body): Json<SignUp>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let request = pb::User {
        id: String::new(),
        name: body.name,
        company: body.company,
        email: body.email,
        password: body.password,
    };
    let created = client(&state).await?.create(request).await?.into_inner();
    let user = created.user.map(User::from);
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "user": user })),
    ))
}

async fn log_in(
    State(state): State<AppState>,
    Json(body): Json<LogIn>,
) -> Result<Json<Token>, ApiError> {
    let request = pb::User {
        email: body.email,
        password: body.password,
        ..Default::default()
    };
    Ok(Json(
        client(&state)
            .await?
            .auth(request)
            .await?
            .into_inner()
            .into(),
    ))
}

async fn validate(
    State(state): State<AppState>,
    Json(body): Json<Validate>,
) -> Result<Json<Token>, ApiError> {
    let request = pb::Token {
        token: body.token,
        ..Default::default()
    };
    Ok(Json(
        client(&state)
            .await?
            .validate_token(request)
            .await?
            .into_inner()
            .into(),
    ))
}

async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let request = authed(&headers, pb::Request {})?;
    let users: Vec<User> = client(&state)
        .await?
        .get_all(request)
        .await?
        .into_inner()
        .users
        .into_iter()
        .map(User::from)
        .collect();
    Ok(Json(serde_json::json!({ "users": users })))
}
