//! The tests' clients running Autobahn's client loop against any
//! fuzzingserver (Autobahn's or `wscope-check --serve`), for the parity
//! table in CHECK.md:
//! `cargo run -p wscope-check --example autobahn-client -- ws://127.0.0.1:9001 [own|broken|lax] [AGENT]`.

#[path = "../tests/common/mod.rs"]
mod common;

use common::clients::{Client, autobahn_loop};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let client = match args.next().as_deref() {
        Some("broken") => Client::Broken,
        Some("lax") => Client::Lax,
        _ => Client::Own,
    };
    let agent = args.next().unwrap_or_else(|| format!("wscope-{}", format!("{client:?}").to_lowercase()));
    let addr = url.trim_start_matches("ws://").trim_end_matches('/');
    let started = std::time::Instant::now();
    let count = autobahn_loop(addr, &agent, client).await;
    println!("{agent}: {count} cases in {:.1} s", started.elapsed().as_secs_f64());
}
