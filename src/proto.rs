//! The generated protobuf and tonic code of `proto/serialtrack/v1/*.proto`. Only `server/`,
//! `cli/` and `bench/` (the faces that speak gRPC) use it; the domain and the store never do.

#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod v1 {
    tonic::include_proto!("serialtrack.v1");
}

/// The encoded descriptor set of our `.proto` files, served by gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/serialtrack_descriptor.bin"));
