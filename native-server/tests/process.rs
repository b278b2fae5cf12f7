//! The `wscope-server` binary as an operator runs it: where it listens by
//! default, what it says when told to listen elsewhere, and what SIGINT does
//! to open connections and to the exit status.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use wscope_core::connection::{Config, Connection, Event};
use wscope_core::handshake::{ClientHandshake, HandshakeLimits};
use wscope_core::{CloseCode, Decoded};

const BIN: &str = env!("CARGO_BIN_EXE_wscope-server");
const WWW: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../www");
/// Generous: these bound waits, they do not measure anything.
const WAIT: Duration = Duration::from_secs(30);

struct Running {
    child: Child,
    addr: String,
    stderr: std::thread::JoinHandle<String>,
}

fn spawn(args: &[&str]) -> Running {
    let mut child = Command::new(BIN)
        .args(["--www", WWW])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    std::thread::spawn(move || lines.for_each(drop));
    let mut err = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let addr = first.split("http://").nth(1).unwrap().split('/').next().unwrap().to_string();
    Running { child, addr, stderr }
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let until = Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < until, "the server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A WebSocket client on the core, over a blocking socket.
fn connect(addr: &str) -> (TcpStream, Connection) {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    let hs = ClientHandshake::new(addr, "/echo", [7; 16]);
    tcp.write_all(&hs.request().unwrap()).unwrap();
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    let mut conn = Connection::client(Config::default(), Box::new(|| [1, 2, 3, 4]));
    loop {
        let n = tcp.read(&mut buf).unwrap();
        assert!(n > 0, "closed during the handshake");
        head.extend_from_slice(&buf[..n]);
        if let Decoded::Complete { len, .. } = hs.check_response(&head, &HandshakeLimits::default()).unwrap() {
            conn.receive_data(&head[len..]);
            return (tcp, conn);
        }
    }
}

/// Reads until the peer's close frame; its code.
fn read_close(tcp: &mut TcpStream, conn: &mut Connection) -> Option<CloseCode> {
    let mut buf = [0u8; 4096];
    loop {
        while let Some(e) = conn.next_event() {
            if let Event::Close(frame) = e {
                let _ = tcp.write_all(&conn.take_output());
                return frame.code;
            }
        }
        let n = tcp.read(&mut buf).unwrap();
        assert!(n > 0, "TCP closed before a close frame");
        conn.receive_data(&buf[..n]);
    }
}

#[test]
fn sigint_sends_1001_to_every_connection_and_exits_0() {
    let mut server = spawn(&["--listen", "127.0.0.1:0", "--shutdown-timeout", "5s"]);
    let mut clients: Vec<_> = (0..5).map(|_| connect(&server.addr)).collect();
    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    for (tcp, conn) in &mut clients {
        assert_eq!(read_close(tcp, conn), Some(CloseCode::GOING_AWAY));
    }
    let status = wait_exit(&mut server.child);
    assert_eq!(status.code(), Some(0), "{}", server.stderr.join().unwrap());
}

#[test]
fn listens_on_loopback_by_default_and_says_where() {
    let help = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("[default: 127.0.0.1:8080]"), "{help}");
    // (The warning for other addresses is unit-tested in main.rs, without
    // listening anywhere but loopback.)
    let mut local = spawn(&["--listen", "127.0.0.1:0"]);
    assert!(local.addr.starts_with("127.0.0.1:"), "{}", local.addr);
    assert!(Command::new("kill").args(["-INT", &local.child.id().to_string()]).status().unwrap().success());
    assert_eq!(wait_exit(&mut local.child).code(), Some(0));
    assert!(!local.stderr.join().unwrap().contains("warning"));
}
