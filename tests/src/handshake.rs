//! The opening handshake over raw TCP: every refusal's exact status line,
//! the accept value computed independently, and the static files.

use crate::support::{
    Frame, HttpResponse, OP_TEXT, RawClient, expected_accept, http_exchange, random16, start, start_default, www_dir,
};
use base64::Engine as _;
use std::net::SocketAddr;
use std::path::PathBuf;

const SAMPLE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The header lines of a valid upgrade request to `/echo`.
fn valid_headers() -> Vec<String> {
    [
        "Host: 127.0.0.1",
        "Upgrade: websocket",
        "Connection: Upgrade",
        &format!("Sec-WebSocket-Key: {SAMPLE_KEY}"),
        "Sec-WebSocket-Version: 13",
    ]
    .map(String::from)
    .to_vec()
}

/// A request head from its request line and header lines.
fn request(request_line: &str, headers: &[String]) -> Vec<u8> {
    let mut r = format!("{request_line}\r\n");
    for h in headers {
        r.push_str(h);
        r.push_str("\r\n");
    }
    r.push_str("\r\n");
    r.into_bytes()
}

/// The valid request with header `name` left out.
fn without(name: &str) -> Vec<u8> {
    let prefix = format!("{name}:");
    let headers: Vec<String> = valid_headers().into_iter().filter(|h| !h.starts_with(&prefix)).collect();
    assert_eq!(headers.len(), 4, "{name} is one of the valid headers");
    request("GET /echo HTTP/1.1", &headers)
}

/// The valid request with header `name` set to `value`.
fn replacing(name: &str, value: &str) -> Vec<u8> {
    let prefix = format!("{name}:");
    let headers: Vec<String> = valid_headers()
        .into_iter()
        .map(|h| if h.starts_with(&prefix) { format!("{name}: {value}") } else { h })
        .collect();
    request("GET /echo HTTP/1.1", &headers)
}

/// Sends `req` and asserts the response's status line, that its body is as
/// long as it says, and that the server closed the connection.
async fn refused(addr: SocketAddr, req: &[u8], status_line: &str) -> HttpResponse {
    let response = http_exchange(addr, req).await;
    assert_eq!(
        response.status_line,
        status_line,
        "request {:?} got {response:?}",
        String::from_utf8_lossy(&req[..req.len().min(200)])
    );
    let declared: usize = response.header("Content-Length").parse().unwrap();
    assert_eq!(declared, response.body.len());
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_400() {
    let server = start_default().await;
    let addr = server.local_addr();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("malformed request line", b"GET\x01/echo HTTP/1.1\r\n\r\n".to_vec()),
        ("not HTTP", b"\x16\x03\x01\x00\xa5 hello\r\n\r\n".to_vec()),
        ("header without colon", request("GET /echo HTTP/1.1", &["Host 127.0.0.1".into()])),
        ("missing Host", without("Host")),
        ("empty Host", replacing("Host", "")),
        ("missing Upgrade", without("Upgrade")),
        ("Upgrade not websocket", replacing("Upgrade", "h2c")),
        ("missing Connection", without("Connection")),
        ("Connection without Upgrade", replacing("Connection", "keep-alive")),
        ("missing key", without("Sec-WebSocket-Key")),
        ("key not base64", replacing("Sec-WebSocket-Key", "not a key!")),
        ("key of 15 bytes", replacing("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAA")),
        ("key of 17 bytes", replacing("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAAA=")),
        ("missing version", without("Sec-WebSocket-Version")),
        ("HTTP/1.0", request("GET /echo HTTP/1.0", &valid_headers())),
        ("two keys", {
            let mut h = valid_headers();
            h.push(format!("Sec-WebSocket-Key: {}", base64::engine::general_purpose::STANDARD.encode(random16())));
            request("GET /echo HTTP/1.1", &h)
        }),
    ];
    for (what, req) in cases {
        eprintln!("case: {what}");
        refused(addr, &req, "HTTP/1.1 400 Bad Request").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_methods_get_405_with_allow_get() {
    let server = start_default().await;
    for method in ["POST", "PUT", "HEAD", "DELETE"] {
        let req = request(&format!("{method} /echo HTTP/1.1"), &valid_headers());
        let response = refused(server.local_addr(), &req, "HTTP/1.1 405 Method Not Allowed").await;
        assert_eq!(response.header("Allow"), "GET");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_versions_get_426_naming_13() {
    let server = start_default().await;
    for version in ["8", "12", "14", "13, 8"] {
        let req = replacing("Sec-WebSocket-Version", version);
        let response = refused(server.local_addr(), &req, "HTTP/1.1 426 Upgrade Required").await;
        assert_eq!(response.header("Sec-WebSocket-Version"), "13");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_head_gets_431() {
    let server = start_default().await;
    let addr = server.local_addr();
    let mut headers = valid_headers();
    headers.push(format!("X-Filler: {}", "a".repeat(9000)));
    refused(addr, &request("GET /echo HTTP/1.1", &headers), "HTTP/1.1 431 Request Header Fields Too Large").await;

    // A smaller limit, and a head of exactly the limit passes.
    let server = start(|cfg| cfg.handshake.max_head_len = 400).await;
    let addr = server.local_addr();
    let base = request("GET /echo HTTP/1.1", &valid_headers()).len();
    let filler = |total: usize| {
        let mut h = valid_headers();
        // "X-Filler: " + value + "\r\n"
        h.push(format!("X-Filler: {}", "a".repeat(total - base - 12)));
        let r = request("GET /echo HTTP/1.1", &h);
        assert_eq!(r.len(), total);
        r
    };
    refused(addr, &filler(401), "HTTP/1.1 431 Request Header Fields Too Large").await;
    let mut raw = RawClient::tcp(addr).await;
    raw.send(&filler(400)).await;
    let response = raw.read_head().await;
    assert_eq!(response.status_line, "HTTP/1.1 101 Switching Protocols");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origin_not_allowed_gets_403() {
    let server = start(|cfg| cfg.allow_origins = vec!["http://good.example".into()]).await;
    let addr = server.local_addr();
    let mut evil = valid_headers();
    evil.push("Origin: http://evil.example".into());
    refused(addr, &request("GET /echo HTTP/1.1", &evil), "HTTP/1.1 403 Forbidden").await;
    // No Origin at all is not in the list either.
    refused(addr, &request("GET /echo HTTP/1.1", &valid_headers()), "HTTP/1.1 403 Forbidden").await;

    let mut good = valid_headers();
    good.push("Origin: http://good.example".into());
    let mut raw = RawClient::tcp(addr).await;
    raw.send(&request("GET /echo HTTP/1.1", &good)).await;
    let response = raw.read_head().await;
    assert_eq!(response.status_line, "HTTP/1.1 101 Switching Protocols");
    assert_eq!(response.header("Sec-WebSocket-Accept"), expected_accept(SAMPLE_KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_limit_get_503() {
    let server = start(|cfg| cfg.max_connections = 1).await;
    let addr = server.local_addr();
    let mut first = RawClient::connect(addr, "/echo").await;
    refused(addr, &request("GET /echo HTTP/1.1", &valid_headers()), "HTTP/1.1 503 Service Unavailable").await;

    // Once the first connection is over, its place is free again. When the
    // server's task lets go of it is not observable, so retry (bounded).
    first.send_frame(&Frame::close(1000, b"")).await;
    first.expect_close(1000).await;
    first.shutdown().await;
    drop(first);
    let mut statuses = Vec::new();
    for _ in 0..100 {
        let mut raw = RawClient::tcp(addr).await;
        raw.send(&request("GET /echo HTTP/1.1", &valid_headers())).await;
        let status = raw.read_head().await.status_line;
        if status == "HTTP/1.1 101 Switching Protocols" {
            return;
        }
        statuses.push(status);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the place of a closed connection was never freed: {statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn byte_at_a_time_request_gets_101_with_correct_accept() {
    let server = start_default().await;
    let key = base64::engine::general_purpose::STANDARD.encode(random16());
    let req = replacing("Sec-WebSocket-Key", &key);
    let mut raw = RawClient::tcp(server.local_addr()).await;
    raw.send_bytewise(&req).await;
    let response = raw.read_head().await;
    assert_eq!(response.status_line, "HTTP/1.1 101 Switching Protocols");
    assert_eq!(response.header("Sec-WebSocket-Accept"), expected_accept(&key));
    assert!(response.header("Upgrade").eq_ignore_ascii_case("websocket"));
    assert!(response.header("Connection").eq_ignore_ascii_case("upgrade"));
    assert!(response.header_values("Sec-WebSocket-Protocol").is_empty());
    assert!(response.header_values("Sec-WebSocket-Extensions").is_empty());

    // And the connection works, a frame also written a byte at a time.
    raw.send_bytewise(&Frame::text("slow").encode()).await;
    assert_eq!(raw.read_message().await, (OP_TEXT, b"slow".to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc_sample_key_gets_rfc_sample_accept() {
    let server = start_default().await;
    let mut raw = RawClient::tcp(server.local_addr()).await;
    raw.send(&request("GET /echo HTTP/1.1", &valid_headers())).await;
    let response = raw.read_head().await;
    assert_eq!(response.status_line, "HTTP/1.1 101 Switching Protocols");
    assert_eq!(response.header("Sec-WebSocket-Accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_header_list_with_upgrade_is_accepted() {
    let server = start_default().await;
    for value in ["keep-alive, Upgrade", "upgrade", "Upgrade,keep-alive"] {
        let mut raw = RawClient::tcp(server.local_addr()).await;
        raw.send(&replacing("Connection", value)).await;
        let response = raw.read_head().await;
        assert_eq!(response.status_line, "HTTP/1.1 101 Switching Protocols", "Connection: {value}");
        raw.send_frame(&Frame::text(value)).await;
        assert_eq!(raw.read_message().await, (OP_TEXT, value.as_bytes().to_vec()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_sent_with_the_request_are_not_lost() {
    // A client may write its first frame in the same segment as the head.
    let server = start_default().await;
    let mut raw = RawClient::tcp(server.local_addr()).await;
    let mut bytes = request("GET /echo HTTP/1.1", &valid_headers());
    bytes.extend(Frame::text("eager").encode());
    raw.send(&bytes).await;
    assert_eq!(raw.read_head().await.status_line, "HTTP/1.1 101 Switching Protocols");
    assert_eq!(raw.read_message().await, (OP_TEXT, b"eager".to_vec()));
}

/// `GET target` with `Connection: close`.
async fn get(addr: SocketAddr, target: &str) -> HttpResponse {
    let req = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    http_exchange(addr, req.as_bytes()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_serves_the_page() {
    let server = start_default().await;
    let response = get(server.local_addr(), "/").await;
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert!(response.header("content-type").starts_with("text/html"), "{:?}", response.headers);
    let page = std::fs::read(www_dir().join("index.html")).unwrap();
    assert!(!page.is_empty());
    assert_eq!(response.body, page);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_traversal_does_not_escape_www() {
    let server = start_default().await;
    let secret = std::fs::read(www_dir().join("../Cargo.toml")).unwrap();
    assert!(String::from_utf8_lossy(&secret).contains("[workspace]"));
    for target in ["/pkg/../../Cargo.toml", "/%2e%2e/Cargo.toml", "/..%2fCargo.toml", "/%2e%2e%2fCargo.toml"] {
        let response = get(server.local_addr(), target).await;
        assert_eq!(response.status_line, "HTTP/1.1 404 Not Found", "{target}");
        assert!(!String::from_utf8_lossy(&response.body).contains("[workspace]"), "{target} served the file");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_file_is_a_404_not_an_empty_reply() {
    let server = start_default().await;
    for target in ["/nothing", "/js/nothing.js", "/index.html/below-a-file"] {
        let response = get(server.local_addr(), target).await;
        assert_eq!(response.status_line, "HTTP/1.1 404 Not Found", "{target}");
    }
}

/// A folder under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let suffix: String = random16().iter().map(|b| format!("{b:02x}")).collect();
        let path = std::env::temp_dir().join(format!("wscope-tests-{tag}-{}-{suffix}", std::process::id()));
        std::fs::create_dir(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasm_is_served_as_application_wasm() {
    let dir = TempDir::new("www");
    let wasm = b"\0asm\x01\0\0\0".to_vec();
    std::fs::create_dir(dir.0.join("pkg")).unwrap();
    std::fs::write(dir.0.join("pkg/explorer_bg.wasm"), &wasm).unwrap();
    let www = dir.0.clone();
    let server = start(move |cfg| cfg.www = www).await;
    let response = get(server.local_addr(), "/pkg/explorer_bg.wasm").await;
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert_eq!(response.header("content-type"), "application/wasm");
    assert_eq!(response.body, wasm);
    let left = server.shutdown().await;
    assert_eq!(left, 0);
    let path = dir.0.clone();
    drop(dir);
    assert!(!path.exists(), "temp dir {path:?} not removed");
}
