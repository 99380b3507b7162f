//! Compiles `proto/serialtrack/v1/*.proto` with protox (pure Rust, no system `protoc`) and
//! generates the tonic client and server code, and the encoded descriptor set that server
//! reflection serves, into `OUT_DIR`; and `rpc_paths.rs`, the sorted path of every RPC the
//! server answers, which the RPC latency metric keeps one histogram per.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["proto/serialtrack/v1/serialtrack.proto"];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(protos, ["proto"])?;
    // The encoded descriptor set is served by gRPC server reflection.
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("serialtrack_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    // Every RPC's path, `/package.Service/Method`, plus the standard services we serve too.
    let mut paths = vec![
        "/grpc.health.v1.Health/Check".to_owned(),
        "/grpc.health.v1.Health/Watch".to_owned(),
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo".to_owned(),
    ];
    for file in &descriptors.file {
        for service in &file.service {
            for method in &service.method {
                paths.push(format!(
                    "/{}.{}/{}",
                    file.package(),
                    service.name(),
                    method.name()
                ));
            }
        }
    }
    paths.sort();
    paths.dedup();
    let mut listed = String::from(
        "/// Every RPC path the server answers, sorted (written by build.rs from the proto).\n",
    );
    listed.push_str(&format!(
        "pub const RPC_PATHS: [&str; {}] = [\n",
        paths.len()
    ));
    for path in &paths {
        listed.push_str(&format!("    {path:?},\n"));
    }
    listed.push_str("];\n");
    std::fs::write(out_dir.join("rpc_paths.rs"), listed)?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
