//! The shippy wire contract: one module per protobuf package, plus the service names every
//! crate resolves through the registry. Re-exports `tonic` and `prost` so the workspace
//! compiles against one version of each.

pub use prost;
pub use tonic;

/// Every shippy message and service, as an encoded `FileDescriptorSet`: what gRPC
/// reflection serves, so `grpcurl`, Evans or Postman can list and call the services.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/shippy_descriptor.bin"));

/// `shippy.user`: users, passwords and tokens.
pub mod user {
    tonic::include_proto!("shippy.user");
}

/// `shippy.vessel`: vessels and the search for one that fits.
pub mod vessel {
    tonic::include_proto!("shippy.vessel");
}

/// `shippy.consignment`: consignments and their containers.
pub mod consignment {
    tonic::include_proto!("shippy.consignment");
}

/// `shippy.log`: the activity log.
pub mod log {
    tonic::include_proto!("shippy.log");
}
