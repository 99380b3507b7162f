//! Compiles `proto/serialtrack/v1/*.proto` with protox (pure Rust, no system `protoc`) and
//! generates the tonic client and server code into `OUT_DIR`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["proto/serialtrack/v1/serialtrack.proto"];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(protos, ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
