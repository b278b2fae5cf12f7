//! A minimal echo server on tokio-tungstenite, written the way its README
//! and examples write one: `accept_async`, then send back every text and
//! binary message. Pings are answered by the library.

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use std::process::ExitCode;
use tokio::net::TcpListener;
use wscope_bench::{PeerArgs, announce, runtime};

fn main() -> ExitCode {
    let args = PeerArgs::parse();
    let rt = match runtime(args.threads) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("echo-tungstenite: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async {
        let listener = match TcpListener::bind(args.listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("echo-tungstenite: cannot listen on {}: {e}", args.listen);
                return ExitCode::FAILURE;
            }
        };
        if let Ok(addr) = listener.local_addr() {
            announce("echo-tungstenite", addr);
        }
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else { return };
                while let Some(Ok(msg)) = ws.next().await {
                    if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                        break;
                    }
                }
            });
        }
    })
}
