//! Typed, layered configuration, loaded once at start and passed in, never global.
//!
//! Layers, later ones winning: `config/default.toml`; the profile file
//! `config/<profile>.toml` when a profile is named (`--profile` or `SHIPPY_PROFILE`);
//! `.shippy/config.toml` when present (written by `make init`); `SHIPPY_*` environment
//! variables with `__` between levels (`SHIPPY_AUTH__TOKEN_LIFETIME_SECS=3600`); flags.
//! Errors name the key and the layer it came from.
//!
//! `schema` is the plain data; `load` reads the layers and checks what no type can.

mod load;
mod schema;

pub use load::{ConfigError, Sources, local_file};
pub use schema::*;

#[cfg(test)]
mod tests;
