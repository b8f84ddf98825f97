pub mod common;
pub mod requests;
pub mod responses;
