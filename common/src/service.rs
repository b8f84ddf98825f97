//! The five services as one type: the name each registers under and clients resolve, its
//! key in the config's `services` section and in flag scopes, and its binary. Config,
//! launch, the launcher and the CLIs all ask it, so no two of them spell a service apart.
//! (The reference system's "service not found" came from two spellings of one name.)

use std::fmt;
use std::str::FromStr;

/// One of shippy's services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    User,
    Vessel,
    Consignment,
    Log,
    Api,
}

impl Service {
    /// Every service, in start order (a service starts after those it calls).
    pub const ALL: [Service; 5] = [
        Service::User,
        Service::Vessel,
        Service::Consignment,
        Service::Log,
        Service::Api,
    ];

    /// Its short name: the `services.<key>` config section, its fault flags' scope.
    pub const fn key(self) -> &'static str {
        match self {
            Service::User => "user",
            Service::Vessel => "vessel",
            Service::Consignment => "consignment",
            Service::Log => "log",
            Service::Api => "api",
        }
    }

    /// What its instances register as and clients resolve, e.g. `shippy.vessel`.
    pub const fn name(self) -> &'static str {
        match self {
            Service::User => "shippy.user",
            Service::Vessel => "shippy.vessel",
            Service::Consignment => "shippy.consignment",
            Service::Log => "shippy.log",
            Service::Api => "shippy.api",
        }
    }

    /// The binary that serves it, e.g. `vessel-service`.
    pub const fn binary(self) -> &'static str {
        match self {
            Service::User => "user-service",
            Service::Vessel => "vessel-service",
            Service::Consignment => "consignment-service",
            Service::Log => "log-service",
            Service::Api => "api-service",
        }
    }

    /// The service registered as `name` (`shippy.vessel`), if it is one of ours.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The `services.<key>.listen` config key.
    pub fn listen_key(self) -> String {
        format!("services.{}.listen", self.key())
    }

    /// The `services.<key>.metrics_listen` config key.
    pub fn metrics_listen_key(self) -> String {
        format!("services.{}.metrics_listen", self.key())
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not one of shippy's services.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a shippy service (user, vessel, consignment, log, api)")]
pub struct UnknownService(String);

impl FromStr for Service {
    type Err = UnknownService;

    /// Any of its spellings: `vessel`, `shippy.vessel` or `vessel-service`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|s| [s.key(), s.name(), s.binary()].contains(&text))
            .ok_or_else(|| UnknownService(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_service_names_it_and_nothing_else_does() {
        for service in Service::ALL {
            for text in [service.key(), service.name(), service.binary()] {
                assert_eq!(text.parse::<Service>().unwrap(), service);
            }
            assert_eq!(Service::from_name(service.name()), Some(service));
        }
        let error = "ship".parse::<Service>().unwrap_err().to_string();
        assert!(
            error.contains("\"ship\" is not a shippy service"),
            "{error}"
        );
        assert_eq!(Service::from_name("vessel"), None, "a registry name only");
    }

    #[test]
    fn the_keys_are_those_of_the_config_and_the_binaries_those_cargo_builds() {
        assert_eq!(Service::Vessel.listen_key(), "services.vessel.listen");
        assert_eq!(
            Service::Api.metrics_listen_key(),
            "services.api.metrics_listen"
        );
        assert_eq!(Service::Consignment.binary(), "consignment-service");
    }
}
