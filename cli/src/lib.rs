//! What the shippy command-line programs share: how they reach a service (through the
//! registry, or a fixed `--addr`), how they print (tables, or `--json`), how they fail (one
//! line, non-zero exit), how they page ([`paging`]), the [`launcher`] that starts the five services, the [`supervise`]
//! loop that restarts one that dies, the [`health`] probe for container health checks, the
//! fault [`flags`] editor, and the [`load`] generator.

pub mod conn;
pub mod flags;
pub mod health;
pub mod launcher;
pub mod load;
pub mod output;
pub mod paging;
pub mod supervise;
