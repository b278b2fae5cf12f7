//! The deliberately broken server of the tests on a port of your choice,
//! so Autobahn|Testsuite can check it too (for the parity table in
//! CHECK.md): `cargo run -p wscope-check --example broken-server -- 127.0.0.1:9105`.

#[path = "../tests/common/mod.rs"]
mod common;

#[tokio::main]
async fn main() {
    let listen = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9105".into());
    let addr = common::broken_server(&listen).await;
    println!("broken server on ws://{addr}/");
    std::future::pending::<()>().await;
}
