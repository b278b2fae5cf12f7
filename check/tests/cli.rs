//! The command as a user meets it: one clear line and exit 2 when there is
//! no WebSocket server to check (a bad URL, nobody listening, an HTTP page,
//! a port that says nothing, a TLS failure); wss:// with a CA file or
//! --insecure; extra headers reach the server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::process::{Command, Output};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wscope_server::{Server, ServerConfig};

async fn check(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || Command::new(env!("CARGO_BIN_EXE_wscope-check")).args(args).output().unwrap())
        .await
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit 2, one line on stderr containing `says`.
fn refused(o: &Output, says: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(says), "wanted {says:?} in {err}");
}

/// Answers every connection with `answer` (nothing at all when empty),
/// then holds it open a while.
async fn fake(answer: &'static [u8]) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = tcp.read(&mut buf).await;
                if !answer.is_empty() {
                    let _ = tcp.write_all(answer).await;
                }
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_websocket_server_is_named_in_one_line_with_exit_2() {
    refused(&check(&["http://127.0.0.1:1/"]).await, "starts with ws:// or wss://");
    refused(&check(&["127.0.0.1:9001"]).await, "is not a ws:// or wss:// URL");
    let free = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    refused(&check(&[&format!("ws://{free}/")]).await, "cannot connect to");
    let page = fake(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi").await;
    refused(&check(&[&format!("ws://{page}/")]).await, "server answered 200 OK, not 101");
    let silent = fake(b"").await;
    refused(
        &check(&["--timeout", "1", &format!("ws://{silent}/")]).await,
        "no answer to the opening handshake in time",
    );
    // A TLS client meeting a plain HTTP server.
    refused(&check(&["--timeout", "2", &format!("wss://{page}/")]).await, "TLS with");
    refused(&check(&["-H", "no colon", &format!("ws://{page}/")]).await, "write a header as 'Name: value'");
    refused(&check(&["--cases", "99.*", &format!("ws://{page}/")]).await, "no case matches");
    refused(&check(&["--insecure", &format!("ws://{page}/")]).await, "for wss:// URLs");
}

/// A TLS front for `upstream`: terminates TLS with `cert` and copies bytes
/// both ways.
async fn tls_front(upstream: std::net::SocketAddr, cert: &rcgen::CertifiedKey) -> std::net::SocketAddr {
    let der = rustls::pki_types::CertificateDer::from(cert.cert.der().to_vec());
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.key_pair.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let Ok(mut plain) = tokio::net::TcpStream::connect(upstream).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_with_a_ca_file_or_insecure_and_refused_otherwise() {
    let www = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../www"));
    let server = Server::start(ServerConfig::new("127.0.0.1:0".parse().unwrap(), www)).await.unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let front = tls_front(server.local_addr(), &cert).await;
    let url = format!("wss://localhost:{}/echo", front.port());
    // Self-signed: the system's roots do not know it.
    refused(&check(&[&url]).await, "TLS with");
    let dir = std::env::temp_dir().join(format!("wscope-check-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, cert.cert.pem()).unwrap();
    for how in [vec!["--ca", ca.to_str().unwrap()], vec!["--insecure"]] {
        let mut args = how.clone();
        args.extend(["--cases", "1.1.*,6.4.1,12.1.1", "-H", "X-Test: 1", "--origin", "https://example.com", &url]);
        let o = check(&args).await;
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(0), "{how:?}: {out}{}", stderr(&o));
        assert!(out.contains("summary: 10 cases: 10 OK"), "{how:?}: {out}");
    }
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    refused(&check(&["--ca", empty.to_str().unwrap(), &url]).await, "holds no PEM certificate");
    std::fs::remove_dir_all(&dir).unwrap();
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_headers_origin_and_protocols_reach_the_server() {
    // A server that records the request and answers 200: the probe shows
    // what was sent, and stops there.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = tcp.read(&mut buf).await.unwrap();
        let _ = tx.send(String::from_utf8_lossy(&buf[..n]).into_owned());
        let _ = tcp.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n").await;
    });
    let args = [
        "-H",
        "Cookie: session=1",
        "--origin",
        "https://example.com",
        "--protocol",
        "chat",
        &format!("ws://{addr}/p?q=1"),
    ];
    let o = check(&args).await;
    refused(&o, "server answered 403 Forbidden");
    let request = rx.await.unwrap();
    for line in
        ["GET /p?q=1 HTTP/1.1", "Cookie: session=1", "Origin: https://example.com", "Sec-WebSocket-Protocol: chat"]
    {
        assert!(request.contains(line), "{line} in {request}");
    }
}
