//! The `serialtrack` binary: parses the command line and hands over to the library.

/// sled copies a B-tree leaf on every insert and frees the old copy later, so the writer is
/// bound by the allocator: `bench asn` ran 20–27 % faster end to end with mimalloc than with
/// glibc's malloc in five alternating pairs on the idle machine (see the README's figures).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    serialtrack::cli::main()
}
