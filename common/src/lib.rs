//! What every shippy process shares: typed layered [`config`], [`telemetry`] set-up, the
//! [`error`] table for gRPC and HTTP, JWT [`auth`] and its interceptor, the gRPC
//! [`server`] bootstrap with registration and graceful [`shutdown`], discovery-backed
//! [`client`]s, and the [`events`] every mutating RPC publishes.

pub mod admin;
pub mod auth;
pub mod check;
pub mod client;
pub mod config;
pub mod deadline;
pub mod decode_errors;
pub mod error;
pub mod events;
pub mod faults;
pub mod fields;
pub mod forwarded;
pub mod grpc;
pub mod launch;
pub mod layers;
pub mod limit;
pub mod log_time;
pub mod logs;
pub mod meters;
pub mod names;
pub mod observe;
pub mod paging;
pub mod process;
pub mod registration;
pub mod request_id;
pub mod runtime;
pub mod server;
pub mod service;
pub mod shutdown;
pub mod telemetry;
pub mod wiring;

pub use config::Config;
pub use error::{ErrorKind, KindedError};
pub use fields::{FieldCode, FieldErrors};
pub use service::Service;
