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
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
