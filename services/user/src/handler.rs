//! The gRPC edge of the user service: proto in, domain calls, proto out.

use std::sync::Arc;

use shippy_common::auth::{self, Caller, Claims, Subject, TokenIssuer, TokenVerifier, revocations};
use shippy_common::error::to_status;
use shippy_common::events::{Detail, Events};
use shippy_common::forwarded::Origin;
use shippy_common::paging::{PageRequest, Query};
use shippy_proto::tonic::{self, Request, Response, Status};
use shippy_proto::user::{self as pb, user_service_server::UserService};

use crate::domain::{
    Credentials, Lookup, Session, SignUp, StoredUser, User, UserError, check_revocable,
};
use crate::password::Hasher;
use crate::repo::{RepoError, UserRepository};
use crate::throttle::LoginThrottle;

/// Serves `shippy.user.UserService`.
#[derive(Clone)]
pub struct UserHandler {
    repo: Arc<dyn UserRepository>,
    issuer: Arc<TokenIssuer>,
    verifier: Arc<TokenVerifier>,
    events: Events,
    throttle: Arc<LoginThrottle>,
    hasher: Hasher,
    /// Where log-outs go for every service to follow (`broker.revocations_topic`).
    revocations_topic: Arc<str>,
}

impl UserHandler {
    pub fn new(
        repo: Arc<dyn UserRepository>,
        issuer: TokenIssuer,
        verifier: Arc<TokenVerifier>,
        events: Events,
        throttle: LoginThrottle,
        hasher: Hasher,
        revocations_topic: &str,
    ) -> Self {
        Self {
            repo,
            issuer: Arc::new(issuer),
            verifier,
            events,
            throttle: Arc::new(throttle),
            hasher,
            revocations_topic: revocations_topic.into(),
        }
    }

    /// Signs up: a taken email is refused before any hashing (the 409 tells who exists
    /// either way), so sign-ups for existing accounts cost one read; the unique index still
    /// decides a race between two new ones.
    async fn create(&self, sign_up: SignUp) -> Result<User, UserError> {
        if self.repo.by_email(&sign_up.email).await?.is_some() {
            return Err(UserError::EmailTaken(sign_up.email));
        }
        let (user, password) = sign_up.into_user();
        let stored = StoredUser {
            password_hash: self.hasher.hash(password).await?,
            user,
        };
        let u = &stored.user;
        // The first of the user's events.
        let event = self.events.outgoing(u.into(), 1, &u.id);
        self.repo
            .create(&stored, &event)
            .await
            .map_err(|e| match e {
                RepoError::DuplicateEmail => UserError::EmailTaken(stored.user.email.clone()),
                other => other.into(),
            })?;
        Ok(stored.user)
    }

    /// Log-in from `address`: throttled per account and per address.
    async fn auth(&self, input: Credentials, address: &str) -> Result<Session, UserError> {
        let email = input.email;
        self.throttle
            .begin(&email, address)
            .map_err(UserError::Throttled)?;
        let stored = match self.repo.by_email(&email).await {
            Ok(stored) => stored,
            Err(e) => {
                self.throttle.refund(&email, address);
                return Err(e.into());
            }
        };
        let hash = stored.as_ref().map(|s| s.password_hash.clone());
        match self.hasher.verify(input.password, hash).await {
            Ok(true) => {}
            Ok(false) => return Err(UserError::WrongCredentials),
            Err(busy) => {
                // Not an attempt: nothing was checked.
                self.throttle.refund(&email, address);
                return Err(busy);
            }
        }
        self.throttle.succeeded(&email, address);
        let user = stored.map(|s| s.user).ok_or(UserError::WrongCredentials)?;
        let subject = Subject {
            user_id: &user.id,
            email: &user.email,
            name: &user.name,
        };
        let (token, expires_at) = self.issuer.issue(&subject)?;
        Ok(Session {
            token,
            user_id: user.id,
            expires_at,
        })
    }

    /// Revokes the token `claims` describe: its log-out event and its revocation go into the
    /// outbox in one write (stored, so the revocation will reach every service), and this
    /// instance refuses it at once.
    async fn log_out(&self, claims: &Claims) -> Result<(), UserError> {
        check_revocable(&claims.jti)?;
        let logged_out = Detail::UserLoggedOut(shippy_proto::log::UserLoggedOut {
            user_id: claims.sub.clone(),
        });
        // Unordered among the user's events: sessions come and go side by side.
        let mut event = self.events.outgoing(logged_out, 0, &claims.sub);
        revocations::mark(&mut event, claims);
        let revocation = revocations::revocation(&self.revocations_topic, claims);
        self.repo
            .outbox()
            .enqueue_all(&[event, revocation])
            .await
            .map_err(|e| UserError::Store(e.to_string()))?;
        self.verifier.revoke(&claims.jti, claims.exp);
        Ok(())
    }

    /// A user, as `caller` may see them: a user only themselves, a service anyone.
    async fn get(&self, lookup: Lookup, caller: &Caller) -> Result<User, UserError> {
        let lookup = if caller.is_service() {
            lookup
        } else {
            lookup.for_user(caller.user_id(), &caller.claims.email)?
        };
        let found = match lookup {
            Lookup::Email(email) => self.repo.by_email(&email).await?,
            Lookup::Id(id) => self.repo.get(&id).await?,
            Lookup::Caller => return Err(UserError::NotFound),
        };
        found.map(|s| s.user).ok_or(UserError::NotFound)
    }
}

/// Who is logging in: the client address the server's rate limiter judged (a trusted
/// proxy's client, else the peer itself), never a header a direct caller chose.
fn client_address<T>(request: &Request<T>) -> String {
    match request.extensions().get::<Origin>() {
        Some(origin) => origin.ip().to_string(),
        None => request
            .remote_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default(),
    }
}

impl TryFrom<pb::User> for SignUp {
    type Error = UserError;

    fn try_from(u: pb::User) -> Result<Self, UserError> {
        SignUp::parse(&u.name, &u.company, &u.email, &u.password)
    }
}

impl TryFrom<pb::User> for Credentials {
    type Error = UserError;

    fn try_from(u: pb::User) -> Result<Self, UserError> {
        Credentials::parse(&u.email, u.password)
    }
}

impl TryFrom<pb::User> for Lookup {
    type Error = UserError;

    fn try_from(u: pb::User) -> Result<Self, UserError> {
        Lookup::parse(&u.id, &u.email)
    }
}

/// A user as answered: never with a password.
impl From<User> for pb::User {
    fn from(user: User) -> Self {
        pb::User {
            id: user.id,
            name: user.name,
            company: user.company,
            email: user.email,
            password: String::new(),
        }
    }
}

impl From<&User> for Detail {
    fn from(u: &User) -> Self {
        Detail::UserSignedUp(shippy_proto::log::UserSignedUp {
            user_id: u.id.clone(),
            name: u.name.clone(),
        })
    }
}

impl From<Session> for pb::Token {
    fn from(s: Session) -> Self {
        pb::Token {
            token: s.token,
            valid: true,
            errors: vec![],
            user_id: s.user_id,
            expires_at: s.expires_at,
        }
    }
}

fn one(user: User) -> pb::Response {
    pb::Response {
        user: Some(user.into()),
        ..Default::default()
    }
}

/// The error as the caller gets it, with `retry-after` when asking again later will do.
fn status(e: UserError) -> Status {
    let mut status = to_status(&e);
    if let Some(wait) = e.retry_after() {
        let secs = wait.as_secs().max(1).to_string();
        if let Ok(value) = secs.parse() {
            status.metadata_mut().insert("retry-after", value);
        }
    }
    status
}

#[tonic::async_trait]
impl UserService for UserHandler {
    async fn create(&self, request: Request<pb::User>) -> Result<Response<pb::Response>, Status> {
        let sign_up = SignUp::try_from(request.into_inner()).map_err(status)?;
        let user = self.create(sign_up).await.map_err(status)?;
        Ok(Response::new(one(user)))
    }

    async fn get(&self, request: Request<pb::User>) -> Result<Response<pb::Response>, Status> {
        let caller = auth::caller(&request)?.clone();
        let lookup = Lookup::try_from(request.into_inner()).map_err(status)?;
        let user = self.get(lookup, &caller).await.map_err(status)?;
        Ok(Response::new(one(user)))
    }

    /// Every user: for shippy's own services only; a user token asks for its own with `Get`.
    async fn get_all(
        &self,
        request: Request<pb::Request>,
    ) -> Result<Response<pb::Response>, Status> {
        if !auth::caller(&request)?.is_service() {
            return Err(status(UserError::ListingIsForServices));
        }
        let asked = request.into_inner();
        let query = Query::new("users");
        let page = PageRequest::parse(asked.page_size, &asked.page_token, &query)
            .map_err(|e| status(UserError::Invalid(e)))?;
        let rows = self.repo.list(&page).await.map_err(|e| status(e.into()))?;
        let page = page.page(rows, |s| s.user.id.clone(), &query);
        Ok(Response::new(pb::Response {
            users: page.items.into_iter().map(|s| s.user.into()).collect(),
            next_page_token: page.next_page_token,
            ..Default::default()
        }))
    }

    async fn auth(&self, request: Request<pb::User>) -> Result<Response<pb::Token>, Status> {
        let address = client_address(&request);
        let credentials = Credentials::try_from(request.into_inner()).map_err(status)?;
        let session = self.auth(credentials, &address).await.map_err(status)?;
        Ok(Response::new(session.into()))
    }

    async fn validate_token(
        &self,
        request: Request<pb::Token>,
    ) -> Result<Response<pb::Token>, Status> {
        let token = request.into_inner().token;
        let claims = self
            .verifier
            .verify(&token)
            .map_err(|e| status(UserError::Auth(e)))?;
        // The answer never repeats the token: a full token belongs in no response but log-in's.
        Ok(Response::new(pb::Token {
            token: String::new(),
            valid: true,
            errors: vec![],
            user_id: claims.sub.clone(),
            expires_at: claims.exp,
        }))
    }

    async fn public_keys(
        &self,
        _request: Request<pb::PublicKeysRequest>,
    ) -> Result<Response<pb::PublicKeysResponse>, Status> {
        let keys = self
            .verifier
            .published()
            .into_iter()
            .map(Into::into)
            .collect();
        Ok(Response::new(pb::PublicKeysResponse { keys }))
    }

    async fn logout(&self, request: Request<pb::Token>) -> Result<Response<pb::Token>, Status> {
        let caller = auth::caller(&request)?.clone();
        self.log_out(&caller.claims).await.map_err(status)?;
        Ok(Response::new(pb::Token {
            token: String::new(),
            valid: false,
            errors: vec![],
            user_id: caller.claims.sub.clone(),
            expires_at: caller.claims.exp,
        }))
    }
}
