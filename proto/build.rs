//! Compiles `proto/*.proto` with protox (a protobuf compiler in Rust), so a fresh machine
//! needs no `protoc` binary.

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
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
