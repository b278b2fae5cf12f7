//! The ceiling for `wscope-load`: answers the opening handshake (through
//! wscope-core), then sends back every byte it reads, unchanged and
//! unparsed. No WebSocket server can echo faster than this, so the load
//! generator's rate against it shows how much load it can offer.

use clap::Parser;
use std::process::ExitCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wscope_bench::{PeerArgs, announce, runtime};
use wscope_core::Decoded;
use wscope_core::handshake::{HandshakeLimits, parse_request};

async fn serve(mut stream: TcpStream) -> std::io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut have = 0usize;
    loop {
        let Some(space) = buf.get_mut(have..) else { return Ok(()) };
        let n = stream.read(space).await?;
        if n == 0 {
            return Ok(());
        }
        have = have.saturating_add(n);
        match parse_request(buf.get(..have).unwrap_or_default(), &HandshakeLimits::default()) {
            Ok(Decoded::Complete { value, len }) => {
                let response = value.response(None, None).map_err(std::io::Error::other)?;
                stream.write_all(&response).await?;
                stream.write_all(buf.get(len..have).unwrap_or_default()).await?;
                break;
            }
            Ok(Decoded::Incomplete { .. }) => {}
            Err(_) => return Ok(()),
        }
    }
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(buf.get(..n).unwrap_or_default()).await?;
    }
}

fn main() -> ExitCode {
    let args = PeerArgs::parse();
    let rt = match runtime(args.threads) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("echo-raw: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async {
        let listener = match TcpListener::bind(args.listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("echo-raw: cannot listen on {}: {e}", args.listen);
                return ExitCode::FAILURE;
            }
        };
        if let Ok(addr) = listener.local_addr() {
            announce("echo-raw", addr);
        }
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            tokio::spawn(serve(stream));
        }
    })
}
