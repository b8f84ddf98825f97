//! The load generators, shared with `shippy load`: see [`shippy_cli::load::pace`].

pub use shippy_cli::load::pace::*;
