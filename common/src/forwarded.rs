//! Whose request this is: the client address a request is rate-limited and log-in throttled
//! under. A direct caller is its TCP peer, whatever headers it sends. At the gateway, only a
//! peer in `limits.trusted_proxies` (an ingress) may say, in `x-forwarded-for`, whom it
//! forwards for ([`TrustedProxies`]). The gateway passes the address on to every call it
//! makes for the request, with its signed proof of itself; a service believes the address
//! from that proof alone (`auth::GatewayProof`), never from where a call comes.

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;

/// The header a trusted proxy names its client in.
pub const HEADER: &str = "x-forwarded-for";

/// The header the gateway's proof of itself travels in, beside [`HEADER`]
/// (made and checked in `auth::gateway`).
pub const PROOF_HEADER: &str = "x-shippy-gateway";

/// Where a request comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A client at this address, calling directly or through a trusted proxy.
    Client(IpAddr),
    /// A trusted peer (a shippy service) calling on its own behalf.
    Trusted(IpAddr),
}

impl Origin {
    pub fn ip(self) -> IpAddr {
        match self {
            Origin::Client(ip) | Origin::Trusted(ip) => ip,
        }
    }
}

/// The peers whose `x-forwarded-for` is believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Arc<[IpNet]>);

/// Parses `limits.trusted_proxies`: addresses (`127.0.0.1`) or networks (`10.0.0.0/8`).
pub fn parse_networks(list: &[String]) -> Result<Vec<IpNet>, String> {
    list.iter()
        .map(|entry| {
            let entry = entry.trim();
            entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{entry:?} is not an address or a network like 10.0.0.0/8"))
        })
        .collect()
}

impl TrustedProxies {
    pub fn new(list: &[String]) -> Result<Self, String> {
        Ok(Self(parse_networks(list)?.into()))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The origin of a request from `peer` that carried `forwarded` (the header's value):
    /// the header counts only from a trusted peer, and then its rightmost address that is
    /// not itself a trusted proxy is the client.
    pub fn origin(&self, peer: IpAddr, forwarded: Option<&str>) -> Origin {
        if !self.trusts(peer) {
            return Origin::Client(peer);
        }
        let hops: Option<Vec<IpAddr>> = forwarded
            .filter(|f| !f.trim().is_empty())
            .map(|f| f.split(',').map(|hop| hop.trim().parse().ok()).collect())
            .and_then(|hops: Option<Vec<IpAddr>>| hops);
        match hops {
            Some(hops) => {
                let client = hops.iter().rev().find(|ip| !self.trusts(**ip));
                Origin::Client(*client.unwrap_or(&hops[0]))
            }
            None => Origin::Trusted(peer),
        }
    }

    /// The origin of an HTTP request (REST, or gRPC's metadata) from `peer`.
    pub fn of_request(&self, peer: IpAddr, headers: &http::HeaderMap) -> Origin {
        let forwarded = headers.get(HEADER).and_then(|v| v.to_str().ok());
        self.origin(peer, forwarded)
    }
}

/// Whom the gateway serves a request for, and its proof that it is the gateway.
#[derive(Clone)]
pub struct Forwarding {
    pub client: IpAddr,
    /// The gateway's signed proof of itself (see `auth::gateway`); without it the services
    /// believe nothing the call says about its client.
    pub proof: Option<http::HeaderValue>,
}

/// The proof is a credential: never printed.
impl std::fmt::Debug for Forwarding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarding")
            .field("client", &self.client)
            .field("proof", &self.proof.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

tokio::task_local! {
    /// The client the request being served is for, on the gateway: every call it makes
    /// onward names it in `x-forwarded-for`, with the gateway's proof beside it.
    static FORWARDING: Forwarding;
}

/// Runs `work` as serving a request of `forwarding.client`.
pub async fn serving<F: Future>(forwarding: Forwarding, work: F) -> F::Output {
    FORWARDING.scope(forwarding, work).await
}

/// Names the client the task serves, and proves the gateway does, on a call it makes onward.
pub fn name_the_client(headers: &mut http::HeaderMap) {
    let _ = FORWARDING.try_with(|forwarding| {
        if let Ok(value) = http::HeaderValue::try_from(forwarding.client.to_string()) {
            headers.insert(HEADER, value);
        }
        if let Some(proof) = &forwarding.proof {
            headers.insert(PROOF_HEADER, proof.clone());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_a_trusted_peer_may_name_its_client() {
        let trusted = TrustedProxies::new(&["127.0.0.1".into(), "10.0.0.0/8".into()]).unwrap();
        assert_eq!(
            trusted.origin(ip("127.0.0.2"), Some("6.6.6.6")),
            Origin::Client(ip("127.0.0.2")),
            "an untrusted caller's header is ignored"
        );
        assert_eq!(
            trusted.origin(ip("127.0.0.1"), Some("203.0.113.9")),
            Origin::Client(ip("203.0.113.9"))
        );
        assert_eq!(
            trusted.origin(ip("10.1.2.3"), Some("6.6.6.6, 203.0.113.9, 10.9.9.9")),
            Origin::Client(ip("203.0.113.9")),
            "the rightmost hop no trusted proxy added"
        );
        assert_eq!(
            trusted.origin(ip("127.0.0.1"), None),
            Origin::Trusted(ip("127.0.0.1"))
        );
        assert_eq!(
            trusted.origin(ip("127.0.0.1"), Some("not-an-ip")),
            Origin::Trusted(ip("127.0.0.1")),
            "a garbled header names nobody"
        );
        assert_eq!(
            TrustedProxies::default().origin(ip("127.0.0.1"), Some("1.2.3.4")),
            Origin::Client(ip("127.0.0.1")),
            "nobody is trusted by default"
        );
    }

    #[test]
    fn a_bad_entry_is_named() {
        let err = TrustedProxies::new(&["10.0.0.0/8".into(), "gateway".into()]).unwrap_err();
        assert!(err.contains("\"gateway\""), "{err}");
    }
}
