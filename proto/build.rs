//! Compiles `proto/*.proto` with protox (a protobuf compiler in Rust), so a fresh machine
//! needs no `protoc` binary.

/// The messages of `LogEvent.detail`, one per kind of event.
const DETAILS: [&str; 10] = [
    "ConsignmentPending",
    "CapacityReserved",
    "ConsignmentBooked",
    "ConsignmentRejected",
    "ConsignmentFailed",
    "ConsignmentCancelled",
    "CapacityReleased",
    "UserSignedUp",
    "UserLoggedOut",
    "VesselCreated",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "user.proto",
        "vessel.proto",
        "consignment.proto",
        "log.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed=proto/{file}");
    }
    let fds = protox::compile(files, ["proto"])?;
    // The descriptors as the services serve them over gRPC reflection.
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("shippy_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    // Events' typed details, as JSON and in documents alike: `{"type": "consignment_booked",
    // "consignment_id": ..., ...}`, the same shape the REST API answers and documents.
    let mut config = tonic_prost_build::configure();
    config = config.type_attribute(
        ".shippy.log.LogEvent.detail",
        "#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)] \
         #[serde(tag = \"type\", rename_all = \"snake_case\")]",
    );
    for detail in DETAILS {
        config = config.type_attribute(
            format!(".shippy.log.{detail}"),
            "#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)] \
             #[serde(default)]",
        );
    }
    config
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
