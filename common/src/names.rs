//! The one source of truth for service names: what instances register as and what clients
//! resolve. (The reference system's "service not found" came from two spellings of one name.)

pub const USER: &str = "shippy.user";
pub const VESSEL: &str = "shippy.vessel";
pub const CONSIGNMENT: &str = "shippy.consignment";
pub const LOG: &str = "shippy.log";
pub const API: &str = "shippy.api";

/// Every service, in start order.
pub const ALL: [&str; 5] = [USER, VESSEL, CONSIGNMENT, LOG, API];
