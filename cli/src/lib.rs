//! What the shippy command-line programs share: how they reach a service (through the
//! registry, or a fixed `--addr`), how they print (tables, or `--json`), how they fail (one
//! line, non-zero exit), and the [`launcher`] that starts the five services.

pub mod conn;
pub mod launcher;
pub mod output;
