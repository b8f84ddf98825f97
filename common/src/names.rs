//! The registry names of the five services, as constants for the places that only need a
//! name (resolving a client, a metric label). They come from [`Service`], the one source of
//! truth.

use crate::service::Service;

pub const USER: &str = Service::User.name();
pub const VESSEL: &str = Service::Vessel.name();
pub const CONSIGNMENT: &str = Service::Consignment.name();
pub const LOG: &str = Service::Log.name();
pub const API: &str = Service::Api.name();

/// Every service's registry name, in start order ([`Service::ALL`]).
pub const ALL: [&str; 5] = [USER, VESSEL, CONSIGNMENT, LOG, API];
