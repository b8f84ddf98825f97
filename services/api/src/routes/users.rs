//! Sign-up, log-in, token validation, and the signed-in user's own details (other users'
//! are private).

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shippy_common::FieldErrors;
use shippy_common::auth::AuthError;
use shippy_proto::tonic::{Code, Request};
use shippy_proto::user as pb;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Bearer;
use crate::error::{ApiError, ErrorBody};
use crate::fields::{self, Text};
use crate::json::Json;
use crate::state::{AppState, UserService};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_up))
        .routes(routes!(me))
        .routes(routes!(log_in))
        .routes(routes!(log_out))
        .routes(routes!(validate))
        .routes(routes!(jwks))
}

#[derive(Deserialize, ToSchema)]
pub struct SignUp {
    #[serde(default)]
    #[schema(value_type = String, required = true, example = "Ewan Valentine", min_length = 1, max_length = 256)]
    name: Text,
    #[serde(default)]
    #[schema(value_type = String, example = "BBC", max_length = 256)]
    company: Text,
    #[serde(default)]
    #[schema(value_type = String, required = true, example = "ewan@example.com", format = "email", max_length = 254)]
    email: Text,
    /// At least 8 characters, at most 1,024.
    #[serde(default)]
    #[schema(value_type = String, required = true, example = "Testing123", min_length = 8, max_length = 1024)]
    password: Text,
}

#[derive(Deserialize, ToSchema)]
pub struct LogIn {
    #[schema(example = "ewan@example.com", max_length = 254)]
    email: String,
    #[schema(example = "Testing123", max_length = 1024)]
    password: String,
}

#[derive(Deserialize, ToSchema)]
pub struct Validate {
    token: String,
}

/// A user as the API shows one: never a password or hash.
#[derive(Serialize, ToSchema)]
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

#[derive(Serialize, ToSchema)]
pub struct UserEnvelope {
    user: Option<User>,
}

/// A signed token and who it is for.
#[derive(Serialize, ToSchema)]
pub struct Token {
    token: String,
    valid: bool,
    user_id: String,
    /// Unix seconds.
    expires_at: i64,
}

/// What a validation tells: whether the token holds, for whom and until when (never the
/// token itself).
#[derive(Serialize, ToSchema)]
pub struct Validity {
    valid: bool,
    user_id: String,
    /// Unix seconds.
    expires_at: i64,
}

impl From<pb::Token> for Validity {
    fn from(t: pb::Token) -> Self {
        Self {
            valid: t.valid,
            user_id: t.user_id,
            expires_at: t.expires_at,
        }
    }
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

/// Sign up.
///
/// Creates an account for an email that has none and answers the new user. The password is
/// stored hashed and never answered; log in for a token.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", operation_id = "signUp",
    request_body = SignUp, security(),
    responses(
        (status = 201, description = "Signed up", body = UserEnvelope),
        (status = 400, description = "Fields are invalid: `fields` names every one", body = ErrorBody),
        (status = 409, description = "The email is taken", body = ErrorBody),
    ))]
pub async fn sign_up(
    State(users): State<UserService>,
    Json(body): Json<SignUp>,
) -> Result<(StatusCode, Json<UserEnvelope>), ApiError> {
    let mut errors = FieldErrors::new();
    let request = pb::User {
        id: String::new(),
        name: body.name.take(&mut errors, "name"),
        company: body.company.take(&mut errors, "company"),
        email: body.email.take(&mut errors, "email"),
        password: body.password.take(&mut errors, "password"),
    };
    fields::check(errors)?;
    let created = users.get().await?.create(request).await?.into_inner();
    Ok((
        StatusCode::CREATED,
        Json(UserEnvelope {
            user: created.user.map(User::from),
        }),
    ))
}

/// Log in.
///
/// A token for the email and password, to send as `Authorization: Bearer <token>`. Failed
/// log-ins are throttled per account and per address.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", operation_id = "logIn",
    request_body = LogIn, security(),
    responses(
        (status = 200, description = "Logged in", body = Token),
        (status = 400, description = "Not a JSON body with these fields", body = ErrorBody),
        (status = 401, description = "Wrong email or password", body = ErrorBody),
        (status = 429, description = "Too many failed log-ins for this account or address; see Retry-After", body = ErrorBody),
    ))]
pub async fn log_in(
    State(users): State<UserService>,
    Json(body): Json<LogIn>,
) -> Result<Json<Token>, ApiError> {
    // The user service throttles log-ins per address: the call names the client's.
    let request = Request::new(pb::User {
        email: body.email,
        password: body.password,
        ..Default::default()
    });
    let token = users.get().await?.auth(request).await?.into_inner();
    Ok(Json(token.into()))
}

/// Log out.
///
/// The token the call carries is revoked, and every service refuses it within about a
/// second. Logging out a token that is already revoked or expired answers the same; one that
/// is not a valid token at all is 401.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", operation_id = "logOut",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Logged out: the token no longer works anywhere"),
        (status = 401, description = "No token, or not a valid one", body = ErrorBody),
        (status = 503, description = "The log-out could not be stored; retry", body = ErrorBody),
    ))]
pub async fn log_out(
    State(users): State<UserService>,
    bearer: Bearer,
) -> Result<StatusCode, ApiError> {
    let request = bearer.request(pb::Token::default());
    match users.get().await?.logout(request).await {
        Ok(_) => Ok(StatusCode::NO_CONTENT),
        // Nothing left to revoke: the token works nowhere already.
        Err(status) if status.code() == Code::Unauthenticated && is_spent(status.message()) => {
            Ok(StatusCode::NO_CONTENT)
        }
        Err(status) => Err(status.into()),
    }
}

/// Whether a refusal says the token was good but is spent: revoked, or expired.
fn is_spent(message: &str) -> bool {
    [AuthError::Revoked, AuthError::Expired]
        .iter()
        .any(|e| message == e.to_string())
}

/// Check a token.
///
/// Checks a token's signature, expiry, issuer and audience; when it is not valid, the
/// message says why.
#[utoipa::path(post, path = "/api/v1/auth/validate", tag = "auth", operation_id = "validateToken",
    request_body = Validate, security(),
    responses(
        (status = 200, description = "The token is valid", body = Validity),
        (status = 400, description = "Not a JSON body with a token", body = ErrorBody),
        (status = 401, description = "The token is not valid; the message says why", body = ErrorBody),
    ))]
pub async fn validate(
    State(users): State<UserService>,
    Json(body): Json<Validate>,
) -> Result<Json<Validity>, ApiError> {
    let request = pb::Token {
        token: body.token,
        ..Default::default()
    };
    Ok(Json(
        users
            .get()
            .await?
            .validate_token(request)
            .await?
            .into_inner()
            .into(),
    ))
}

/// Your own details.
///
/// The signed-in user's own details. Other users' are private: there is no list of users.
#[utoipa::path(get, path = "/api/v1/users/me", tag = "users", operation_id = "getMe",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user the token belongs to", body = UserEnvelope),
        (status = 401, description = "No valid token", body = ErrorBody),
    ))]
pub async fn me(
    State(users): State<UserService>,
    bearer: Bearer,
) -> Result<Json<UserEnvelope>, ApiError> {
    // A look-up with neither id nor email is the caller's own.
    let request = bearer.request(pb::User::default());
    let found = users.get().await?.get(request).await?.into_inner();
    Ok(Json(UserEnvelope {
        user: found.user.map(User::from),
    }))
}

/// The keys that sign tokens.
///
/// The public keys that sign users' tokens, as a JWKS document (RFC 7517; Ed25519 keys as
/// RFC 8037's `OKP`), current first, then the previous one after a rotation: a program can
/// check a shippy token itself, picking the key by the token's `kid`.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth", operation_id = "getJwks",
    security(),
    responses((status = 200, description = "`{\"keys\": [...]}`: the keys that sign users' tokens", body = Object)))]
pub async fn jwks(State(jwks): State<crate::state::Jwks>) -> Json<serde_json::Value> {
    Json(jwks.document())
}
