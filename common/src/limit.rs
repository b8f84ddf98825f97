//! Per-client rate limits (GCRA, from the `governor` crate): each client may make
//! `requests_per_sec` requests a second in bursts of up to `burst`, to each service and to
//! the gateway. Past that the answer is RESOURCE_EXHAUSTED (REST 429) with `retry-after`
//! saying when the next request will be let through.
//!
//! A signed-in user's requests are held to their user's budget alone, so people behind one
//! address (an office, a NAT) do not share one. Everything else is held to its client
//! address's budget, before anything else is done with it: requests without a token, the
//! public methods (sign-up, log-in), and tokens this process has not verified yet (so a
//! flood of bad tokens is refused before a signature is checked; a good token is charged
//! to its address once, the first time, then remembered). The address is the caller's own
//! unless the gateway forwarded it, proving it is the gateway ([`crate::auth::GatewayProof`]);
//! an IPv6 client counts by its /64. The gateway calling on its own behalf is held to
//! neither budget; shippy's services calling on their own behalf (the booking saga) hold
//! service tokens, each charged to the caller's address once, then to no user.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tonic::Status;
use tonic::body::Body;

use crate::auth::{Caller, GatewayProof, TokenVerifier, bearer_from_metadata};
use crate::check::Check;
use crate::config::LimitsConfig;
use crate::forwarded::Origin;

/// The limits of one process, shared by every request.
#[derive(Debug)]
pub struct ClientLimits {
    limiter: DefaultKeyedRateLimiter<String>,
    per_sec: u32,
}

/// How often clients that have gone quiet are forgotten.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

impl ClientLimits {
    /// The limits `config` sets; `None` when they are off (`requests_per_sec = 0`).
    pub fn new(config: &LimitsConfig) -> Option<Arc<Self>> {
        let per_sec = NonZeroU32::new(config.requests_per_sec)?;
        let burst = NonZeroU32::new(config.burst).unwrap_or(per_sec);
        let limits = Arc::new(Self {
            limiter: RateLimiter::keyed(Quota::per_second(per_sec).allow_burst(burst)),
            per_sec: per_sec.get(),
        });
        let weak = Arc::downgrade(&limits);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(PRUNE_EVERY);
            loop {
                every.tick().await;
                let Some(limits) = weak.upgrade() else { return };
                limits.limiter.retain_recent();
                limits.limiter.shrink_to_fit();
            }
        });
        Some(limits)
    }

    /// Lets a request of `client` through, or says how long it must wait.
    pub fn check(&self, client: &str) -> Result<(), Duration> {
        self.limiter
            .check_key(&client.to_owned())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// The refusal for a client that must wait `wait`, with `retry-after` in whole seconds.
    pub fn refusal(&self, wait: Duration) -> Status {
        let secs = retry_after_secs(wait);
        let mut status = Status::resource_exhausted(format!(
            "rate limit: at most {} requests a second per client; retry in {secs} s",
            self.per_sec
        ));
        if let Ok(value) = secs.to_string().parse() {
            status.metadata_mut().insert("retry-after", value);
        }
        status
    }
}

/// `wait` rounded up to whole seconds, at least 1 (what `Retry-After` can say).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0).max(u64::from(wait.is_zero()))
}

/// The key of a client with no token: its address, IPv6 by its /64 ([`client_network`]).
pub fn address_key(ip: IpAddr) -> String {
    format!("addr:{}", client_network(ip))
}

/// The network a client address is budgeted as: an IPv4 address alone (an IPv4-mapped IPv6
/// one too), an IPv6 address by its /64, the share one subscriber usually gets and can fill
/// with addresses at will, so that rotating through them gains nothing.
pub fn client_network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
        v4 => v4,
    }
}

/// Which budget a check holds requests to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Budget {
    /// The client address, before the token guard; also records the request's [`Origin`].
    Address,
    /// The verified user, inside the token guard.
    User,
}

/// Holds every request to one of the per-client budgets (a [`Check`]): see the module
/// docs and [`crate::layers::guarded`], which puts the two around the token guard.
#[derive(Clone)]
pub struct RateLimit {
    limits: Option<Arc<ClientLimits>>,
    budget: Budget,
    /// Tells the gateway's calls, which name their client, from everyone else's.
    gateway: Option<Arc<GatewayProof>>,
    /// Which tokens were verified already (the outer check lets those by).
    verifier: Option<Arc<TokenVerifier>>,
    /// The methods anyone may call: always held to the address's budget.
    public: &'static [&'static str],
}

impl RateLimit {
    /// The outer check: judges the request's [`Origin`] (put into the extensions for the
    /// handlers, e.g. log-in throttling) and holds clients to their address's budget, but
    /// for a call of a method not in `public` with a token `verifier` has verified already.
    pub fn by_address(
        limits: Option<Arc<ClientLimits>>,
        gateway: Arc<GatewayProof>,
        verifier: Arc<TokenVerifier>,
        public: &'static [&'static str],
    ) -> Self {
        Self {
            limits,
            budget: Budget::Address,
            gateway: Some(gateway),
            verifier: Some(verifier),
            public,
        }
    }

    /// The inner check: holds each verified user (not a service) to their own budget.
    pub fn by_user(limits: Option<Arc<ClientLimits>>) -> Self {
        Self {
            limits,
            budget: Budget::User,
            gateway: None,
            verifier: None,
            public: &[],
        }
    }

    /// Whether `req` is a signed-in user's call of a protected method with a token verified
    /// before: it counts against that user's budget alone.
    fn signed_in<B>(&self, req: &http::Request<B>) -> bool {
        let method = req.uri().path().rsplit('/').next().unwrap_or_default();
        if self.public.contains(&method) {
            return false;
        }
        let Some(verifier) = &self.verifier else {
            return false;
        };
        bearer_from_metadata(req.headers())
            .ok()
            .and_then(|token| verifier.remembers(token))
            .is_some()
    }
}

/// The TCP peer of a request tonic serves.
fn peer<B>(req: &http::Request<B>) -> Option<IpAddr> {
    req.extensions()
        .get::<tonic::transport::server::TcpConnectInfo>()
        .and_then(tonic::transport::server::TcpConnectInfo::remote_addr)
        .map(|a| a.ip())
}

impl RateLimit {
    /// Where `req` comes from, by the gateway's proof, recorded in its extensions for the
    /// handlers (e.g. log-in throttling); `None` when tonic gave no peer address.
    fn record_origin<B>(&self, req: &mut http::Request<B>) -> Option<Origin> {
        let gateway = self.gateway.as_ref()?;
        let origin = peer(req).map(|ip| gateway.origin(ip, req.headers()))?;
        req.extensions_mut().insert(origin);
        Some(origin)
    }

    /// The key `req` counts against under this budget; `None` when it is exempt.
    fn client_key<B>(&self, req: &http::Request<B>, origin: Option<Origin>) -> Option<String> {
        match self.budget {
            Budget::Address if self.signed_in(req) => None,
            Budget::Address => match origin {
                Some(Origin::Client(ip)) => Some(address_key(ip)),
                Some(Origin::Trusted(_)) => None,
                None => Some("addr:unknown".to_owned()),
            },
            Budget::User => req
                .extensions()
                .get::<Caller>()
                .filter(|caller| !caller.is_service())
                .map(|caller| format!("user:{}", caller.user_id())),
        }
    }
}

impl Check for RateLimit {
    /// The address budget records the request's origin whether or not the limits are on;
    /// the key is only built when they are.
    fn refusal<B>(&self, req: &mut http::Request<B>) -> Option<http::Response<Body>> {
        let origin = match self.budget {
            Budget::Address => self.record_origin(req),
            Budget::User => None,
        };
        let limits = self.limits.as_ref()?;
        let key = self.client_key(req, origin)?;
        let wait = limits.check(&key).err()?;
        tracing::debug!(client = %key, ?wait, "rate limited");
        Some(limits.refusal(wait).into_http())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_sec: u32, burst: u32) -> Arc<ClientLimits> {
        ClientLimits::new(&LimitsConfig {
            requests_per_sec: per_sec,
            burst,
            trusted_proxies: vec![],
            live_feeds_per_user: 5,
            live_feeds_total: 1000,
            vessels_per_user: 0,
            bookings_in_flight_per_user: 0,
            vessel_share_percent: 100,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn a_burst_passes_the_next_request_waits_and_clients_are_separate() {
        let l = limits(1, 3);
        for _ in 0..3 {
            assert!(l.check("alice").is_ok());
        }
        let wait = l.check("alice").unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert!(l.check("bob").is_ok(), "bob has his own budget");
        let refusal = l.refusal(wait);
        assert_eq!(refusal.code(), tonic::Code::ResourceExhausted);
        assert_eq!(refusal.metadata().get("retry-after").unwrap(), "1");
    }

    #[test]
    fn an_ipv6_client_is_budgeted_by_its_64_and_an_ipv4_one_alone() {
        let key = |ip: &str| address_key(ip.parse().unwrap());
        assert_eq!(
            key("2001:db8:1:2::7"),
            key("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_eq!(key("2001:db8:1:2::7"), "addr:2001:db8:1:2::");
        assert_ne!(key("2001:db8:1:2::7"), key("2001:db8:1:3::7"));
        assert_eq!(key("::ffff:203.0.113.7"), key("203.0.113.7"));
        assert_ne!(key("203.0.113.7"), key("203.0.113.8"));
    }

    #[tokio::test]
    async fn zero_turns_the_limits_off() {
        assert!(
            ClientLimits::new(&LimitsConfig {
                requests_per_sec: 0,
                burst: 0,
                trusted_proxies: vec![],
                live_feeds_per_user: 5,
                live_feeds_total: 1000,
                vessels_per_user: 0,
                bookings_in_flight_per_user: 0,
                vessel_share_percent: 100,
            })
            .is_none()
        );
    }

    fn from_peer(ip: &str) -> http::Request<()> {
        let mut req = http::Request::new(());
        req.extensions_mut()
            .insert(tonic::transport::server::TcpConnectInfo {
                local_addr: None,
                remote_addr: Some(std::net::SocketAddr::new(ip.parse().unwrap(), 4000)),
            });
        req
    }

    /// A verifier of keys nobody signs with, and a user token it knows already when
    /// `verified`.
    fn verifier_and_token(verified: bool) -> (Arc<TokenVerifier>, String) {
        let keys = crate::auth::generate_key_pair().unwrap();
        let config = crate::auth::testing::auth_config(5);
        let issuer = crate::auth::TokenIssuer::from_pem(keys.private_pem.as_bytes(), &config);
        let verifier =
            crate::auth::TokenVerifier::from_pem(keys.public_pem.as_bytes(), &config).unwrap();
        let subject = crate::auth::Subject {
            user_id: "u1",
            email: "u1@example.com",
            name: "U",
        };
        let (token, _) = issuer.unwrap().issue(&subject).unwrap();
        if verified {
            verifier.verify(&token).unwrap();
        }
        (Arc::new(verifier), token)
    }

    /// A gateway proof check no call here carries a proof for.
    fn no_gateway() -> Arc<GatewayProof> {
        let keys = crate::auth::generate_key_pair().unwrap();
        let config = crate::auth::testing::auth_config(5);
        Arc::new(GatewayProof::from_pem(keys.public_pem.as_bytes(), &config).unwrap())
    }

    fn nobody() -> Arc<TokenVerifier> {
        verifier_and_token(false).0
    }

    fn calling(ip: &str, path: &str, token: Option<&str>) -> http::Request<()> {
        let mut req = from_peer(ip);
        *req.uri_mut() = path.parse().unwrap();
        if let Some(token) = token {
            req.headers_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        req
    }

    #[tokio::test]
    async fn a_signed_in_users_calls_skip_the_address_budget_but_log_ins_and_new_tokens_do_not() {
        let (verifier, token) = verifier_and_token(true);
        let (_, unseen) = verifier_and_token(false);
        let check = RateLimit::by_address(Some(limits(1, 1)), no_gateway(), verifier, &["Auth"]);
        let office = "203.0.113.9";
        for _ in 0..20 {
            let mut req = calling(office, "/shippy.vessel.VesselService/List", Some(&token));
            assert!(
                check.refusal(&mut req).is_none(),
                "held to the user's budget only"
            );
        }
        let mut first = calling(office, "/shippy.user.UserService/Auth", Some(&token));
        assert!(
            check.refusal(&mut first).is_none(),
            "the address's one request"
        );
        let mut log_in = calling(office, "/shippy.user.UserService/Auth", Some(&token));
        assert!(
            check.refusal(&mut log_in).is_some(),
            "a public method counts against the address, token or not"
        );
        let mut forged = calling(office, "/shippy.vessel.VesselService/List", Some(&unseen));
        assert!(
            check.refusal(&mut forged).is_some(),
            "a token not verified yet counts against the address before its signature is checked"
        );
    }

    #[tokio::test]
    async fn the_address_check_records_the_origin_with_the_limits_on_or_off() {
        let client = Origin::Client("203.0.113.7".parse().unwrap());
        let off = RateLimit::by_address(None, no_gateway(), nobody(), &[]);
        for _ in 0..3 {
            let mut req = from_peer("203.0.113.7");
            assert!(off.refusal(&mut req).is_none(), "no limits, no refusal");
            assert_eq!(req.extensions().get::<Origin>(), Some(&client));
        }
        let on = RateLimit::by_address(Some(limits(1, 1)), no_gateway(), nobody(), &[]);
        let mut first = from_peer("203.0.113.7");
        assert!(on.refusal(&mut first).is_none());
        assert_eq!(first.extensions().get::<Origin>(), Some(&client));
        let mut second = from_peer("203.0.113.7");
        assert!(
            on.refusal(&mut second).is_some(),
            "over the address's budget"
        );
        assert!(on.refusal(&mut from_peer("198.51.100.1")).is_none());
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
    }
}
