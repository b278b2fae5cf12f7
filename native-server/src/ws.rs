//! One WebSocket connection over TCP, driven by `wscope-core`'s
//! [`Connection`], and the session loop every endpoint shares: read, hand
//! events to the endpoint, write, and act when a deadline passes (idle
//! ping and close, the close handshake's deadline: `deadline` keeps them)
//! or the server shuts down.

use crate::deadline::{Deadlines, Due};
use crate::linger::close_then_drain;
use crate::shared::Shared;
use crate::tap::{Dir, Tap};
use std::cell::RefCell;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant as TokioInstant, sleep_until, timeout};
use wscope_core::connection::{Config as WsConfig, Connection, Event, EventRef, Message, State};
use wscope_core::handshake::Request;
use wscope_core::{CloseCode, ProtocolError};

/// Bytes read from the socket at a time: a 16 KiB message and its header
/// in one read. The buffer is one per worker thread, not per connection,
/// so an idle connection holds no read buffer at all.
const READ_CHUNK: usize = 64 * 1024;

thread_local! {
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_CHUNK].into_boxed_slice());
}

/// What [`WsStream::io`] saw.
enum Io {
    Writable(std::io::Result<()>),
    Read(std::io::Result<usize>),
}

/// Most bytes read and dropped after the closing handshake: a peer still
/// sending this much is not going to stop.
const DRAIN_BUDGET: usize = 1 << 20;

/// Most bytes handed to one write. Larger writes cost fewer syscalls here
/// but make the peer's kernel work harder: in the pipelined 16 KiB echo
/// benchmark, 64 KiB writes left the load generator at 100% CPU (a quarter
/// of it in softirq processing) and the server 30% idle; 32 KiB writes
/// gave 1.25x the rate, 16 KiB ones cost a second syscall per frame.
/// See BENCHMARKS.md.
const MAX_WRITE: usize = 32 * 1024;

/// A WebSocket after a successful handshake.
pub(crate) struct WsStream {
    stream: TcpStream,
    /// Boxed so that moving the stream between futures moves a pointer.
    pub(crate) conn: Box<Connection>,
    tap: Option<Arc<Tap>>,
    /// An event read in place that waits for the session (boxed: rare, and
    /// every connection's task carries this field).
    deferred: Option<Box<Event>>,
}

/// What [`WsStream::accept`] needs to answer an accepted request.
pub(crate) struct Upgrade<'a> {
    /// The request, accepted by the endpoint.
    pub(crate) request: &'a Request,
    /// All that was read: the head, then whatever followed it.
    pub(crate) bytes: Vec<u8>,
    /// Length of the head at the start of `bytes`.
    pub(crate) head_len: usize,
    /// When the TCP connection was accepted (the tap's times count from it).
    pub(crate) accepted: Instant,
    /// The tap recording this connection, if it asked for one.
    pub(crate) tap: Option<Arc<Tap>>,
    /// The connection's limits, and permessage-deflate if agreed.
    pub(crate) config: WsConfig,
    /// The `Sec-WebSocket-Extensions` value of the 101, if any was agreed.
    pub(crate) extensions: Option<&'a str>,
    /// How long the peer has to take the 101.
    pub(crate) timeout: Duration,
}

impl WsStream {
    /// Completes the handshake: sends the 101 and starts the connection
    /// with whatever followed the head.
    pub(crate) async fn accept(mut stream: TcpStream, upgrade: Upgrade<'_>) -> std::io::Result<WsStream> {
        let Upgrade { request, bytes, head_len, accepted, tap, config, extensions, timeout: limit } = upgrade;
        if let Some(tap) = &tap {
            tap.start(accepted);
            tap.record(Dir::ClientToServer, &bytes);
        }
        // No subprotocol is offered back (the echo speaks none); an
        // extension only when the endpoint agreed to permessage-deflate.
        let response = request.response(None, extensions).map_err(std::io::Error::other)?;
        timeout(limit, stream.write_all(&response)).await.map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::TimedOut, "the 101 response was not taken in time")
        })??;
        if let Some(tap) = &tap {
            tap.record(Dir::ServerToClient, &response);
        }
        let mut conn = Box::new(Connection::server(config));
        conn.receive_data(bytes.get(head_len..).unwrap_or_default());
        Ok(WsStream { stream, conn, tap, deferred: None })
    }

    /// Writes as much of the queued output as the socket takes without
    /// waiting. Each write is recorded as it completes, so a write cut short
    /// leaves the tap exact. `WouldBlock` means: wait for writability.
    fn try_flush(&mut self) -> std::io::Result<()> {
        loop {
            let out = self.conn.pending_output();
            if out.is_empty() {
                return Ok(());
            }
            let out = out.get(..MAX_WRITE).unwrap_or(out);
            let n = self.stream.try_write(out)?;
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            if let (Some(tap), Some(written)) = (&self.tap, out.get(..n)) {
                tap.record(Dir::ServerToClient, written);
            }
            self.conn.consume_output(n);
        }
    }

    /// Waits until the socket is writable (if `write`) or has been read
    /// (if `read`): a read goes into the thread's scratch buffer and is
    /// decoded there, each event handed to `session` at once (a whole
    /// message borrowed from the buffer, unmasked in place; the connection
    /// copies only what it must keep); 0 means the peer closed TCP.
    async fn io<S: Session>(&mut self, read: bool, write: bool) -> Io {
        poll_fn(|cx| {
            if write {
                if let Poll::Ready(r) = self.stream.poll_write_ready(cx) {
                    return Poll::Ready(Io::Writable(r));
                }
            }
            if !read {
                return Poll::Pending;
            }
            SCRATCH
                .with(|scratch| match scratch.try_borrow_mut() {
                    Ok(mut buf) => self.poll_read_into::<S>(cx, &mut buf),
                    // Not reentrant, so this cannot happen; a small stack
                    // buffer would do if it did.
                    Err(_) => self.poll_read_into::<S>(cx, &mut [0u8; 4096]),
                })
                .map(Io::Read)
        })
        .await
    }

    fn poll_read_into<S: Session>(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<std::io::Result<usize>> {
        let mut rb = ReadBuf::new(buf);
        // A short read tells tokio the socket is drained, so the next
        // read waits for readiness instead of trying and failing.
        ready!(Pin::new(&mut self.stream).poll_read(cx, &mut rb))?;
        let n = rb.filled().len();
        // Recorded before decoding, which unmasks in place.
        if let (Some(tap), Some(chunk)) = (&self.tap, buf.get(..n)) {
            if n != 0 {
                tap.record(Dir::ClientToServer, chunk);
            }
        }
        if !S::IN_PLACE {
            self.conn.receive_data(buf.get(..n).unwrap_or_default());
            return Poll::Ready(Ok(n));
        }
        // Whole messages are answered straight from the buffer. The first
        // event of any other kind waits for the session, and the rest of the
        // read is queued behind it, so answers keep the order of the input.
        let mut pos = 0;
        while pos < n {
            let Some(rest) = buf.get_mut(pos..n) else { break };
            let (used, event) = self.conn.read_event_in_place(rest);
            pos = pos.saturating_add(used);
            match event {
                Some(EventRef::Event(event)) => {
                    self.deferred = Some(Box::new(event));
                    self.conn.receive_data(buf.get(pos..n).unwrap_or_default());
                    break;
                }
                Some(message) => S::on_message_in_place(&mut self.conn, message),
                None if used == 0 => break,
                None => {}
            }
        }
        Poll::Ready(Ok(n))
    }

    /// Closes TCP from our side first (RFC 6455 section 7.1.1), then drains
    /// what the peer still sends for at most `linger`, recording it.
    async fn finish(mut self, linger: Duration) {
        let tap = self.tap.as_deref();
        let now = TokioInstant::now();
        let until = now.checked_add(linger).unwrap_or(now);
        close_then_drain(&mut self.stream, until, DRAIN_BUDGET, |chunk| {
            if let Some(tap) = tap {
                tap.record(Dir::ClientToServer, chunk);
            }
        })
        .await;
    }
}

/// How a connection ended, for the log and the tap.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// The peer's close frame code, if one arrived (`Some(None)`: empty close).
    pub(crate) peer_close: Option<Option<CloseCode>>,
    /// The code of the close frame we sent first, if we initiated.
    pub(crate) our_close: Option<(CloseCode, &'static str)>,
    /// The rule the peer broke, if it did.
    pub(crate) failure: Option<ProtocolError>,
    /// How the TCP side ended, if not by the close handshake.
    pub(crate) abnormal: Option<&'static str>,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(e) = &self.failure {
            return write!(f, "failed with close {}: {e}", e.close_code().0);
        }
        match (&self.our_close, &self.peer_close) {
            (Some((code, why)), Some(_)) => write!(f, "closed by server with {} ({why}), answered", code.0)?,
            (Some((code, why)), None) => write!(f, "closed by server with {} ({why}), not answered", code.0)?,
            (None, Some(Some(code))) => write!(f, "closed by peer with {}", code.0)?,
            (None, Some(None)) => write!(f, "closed by peer without a code (1005)")?,
            (None, None) => write!(f, "no close frame (1006)")?,
        }
        if let Some(why) = self.abnormal {
            write!(f, "; {why}")?;
        }
        Ok(())
    }
}

/// What an endpoint does with a connection.
pub(crate) trait Session {
    /// What [`Session::ready`] resolves to.
    type Ready: Send;
    /// Handles one received event; may queue messages on `conn`. Pongs and
    /// close replies are the core's.
    fn on_event(&mut self, conn: &mut Connection, event: Event);
    /// Whether whole messages are handed to
    /// [`Session::on_message_in_place`] straight from the read buffer
    /// (unmasked there, never copied into a message of their own).
    const IN_PLACE: bool = false;
    /// Handles a whole text or binary message borrowed from the read
    /// buffer. It sees no endpoint state: the read runs while the
    /// endpoint's own future is pending.
    fn on_message_in_place(_conn: &mut Connection, _message: EventRef<'_>) {}
    /// Resolves when the endpoint has something to send of its own accord.
    fn ready(&mut self) -> impl Future<Output = Self::Ready> + Send;
    /// Queues what became ready.
    fn on_ready(&mut self, conn: &mut Connection, ready: Self::Ready);
}

/// Runs `session` over `ws` until the connection is over.
///
/// One timer serves the idle ping, the idle close and the close deadline,
/// set where [`Deadlines`] says. It is not moved on every read: when it
/// fires, the table says which deadline (if any) has really passed and
/// where the next one is, so a busy connection touches the timer wheel
/// about twice per idle period, not once per message.
pub(crate) async fn drive<S: Session>(mut ws: WsStream, shared: &Shared, session: &mut S) -> Outcome {
    let cfg = &shared.config;
    let mut outcome = Outcome::default();
    let opened = now();
    // A compressed connection gone quiet frees its compression state.
    let park_after = cfg.deflate_park_after.filter(|_| ws.conn.config().deflate.is_some());
    let mut deadlines = Deadlines::new(opened, cfg.idle_timeout, cfg.close_timeout).with_park(park_after);
    let shutdown = shared.shutdown.cancelled();
    tokio::pin!(shutdown);
    let mut shutdown_seen = false;
    let timer = sleep_until(TokioInstant::from_std(deadlines.next(opened).0));
    tokio::pin!(timer);
    loop {
        if let Some(event) = ws.deferred.take() {
            take_event(&mut ws.conn, session, &mut outcome, *event);
        }
        while let Some(event) = ws.conn.next_event() {
            take_event(&mut ws.conn, session, &mut outcome, event);
        }
        // Write what the socket takes now; the rest waits for writability
        // below, without stopping the timers. All output goes out in as few
        // writes as the socket allows, however many messages made it.
        match ws.try_flush() {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => {
                outcome.abnormal = Some("write failed");
                break;
            }
        }
        let pending = ws.conn.pending_output().len();
        if pending == 0 && ws.conn.state() == State::Closed {
            break;
        }
        // After our close (or, closed, with the last bytes still queued)
        // the peer has the close timeout to answer (or to take them).
        if matches!(ws.conn.state(), State::CloseSent | State::Closed) && !deadlines.closing() {
            let now = now();
            deadlines.on_close_sent(now);
            timer.as_mut().reset(TokioInstant::from_std(deadlines.next(now).0));
        }
        let open = !deadlines.closing();
        let closed = ws.conn.state() == State::Closed;
        // Backpressure: while more than the cap waits to be written, neither
        // the peer's input nor the endpoint's own output is taken, so a peer
        // that sends but does not read cannot grow the buffer.
        let room = pending <= cfg.max_pending_output;
        let may_read = !closed && room;
        tokio::select! {
            // Not `biased`: a peer that floods keeps the socket ready, and
            // once Tokio's cooperative budget is spent the branches polled
            // after it return pending too; in a fixed order behind the
            // socket the close timeout would never end such a peer, and the
            // endpoint's own output would wait.
            () = &mut shutdown, if open && !shutdown_seen => {
                shutdown_seen = true;
                close_first(&mut ws.conn, &mut outcome, CloseCode::GOING_AWAY, "server shutting down");
            }
            () = &mut timer => {
                let now = now();
                match deadlines.due(now) {
                    Some(Due::CloseTimeout) => {
                        outcome.abnormal = Some(if ws.conn.state() == State::Closed {
                            "peer did not take the last bytes in time"
                        } else {
                            "peer did not answer the close in time"
                        });
                        break;
                    }
                    Some(Due::IdleClose) => {
                        close_first(&mut ws.conn, &mut outcome, CloseCode::GOING_AWAY, "idle timeout");
                        // The close deadline runs from here, whatever the
                        // close's fate, so the idle deadline cannot fire again.
                        deadlines.on_close_sent(now);
                    }
                    Some(Due::Ping) => {
                        let _ = ws.conn.send(Message::Ping(b"wscope: idle check"));
                        deadlines.on_ping_sent();
                    }
                    Some(Due::Park) => {
                        ws.conn.park_compression();
                        deadlines.on_parked();
                    }
                    // Early: input moved the deadline since the timer was set.
                    None => {}
                }
                timer.as_mut().reset(TokioInstant::from_std(deadlines.next(now).0));
            }
            io = ws.io::<S>(may_read, pending > 0), if may_read || pending > 0 => match io {
                // The loop's top writes.
                Io::Writable(Ok(())) => {}
                Io::Writable(Err(_)) => {
                    outcome.abnormal = Some("write failed");
                    break;
                }
                Io::Read(Ok(0)) => {
                    outcome.abnormal = Some("peer closed TCP");
                    break;
                }
                Io::Read(Ok(_)) => {
                    let now = now();
                    if deadlines.on_activity(now) {
                        // Quiet until now and parked: the timer waits for
                        // the idle ping; the next park comes first.
                        timer.as_mut().reset(TokioInstant::from_std(deadlines.next(now).0));
                    }
                }
                Io::Read(Err(_)) => {
                    outcome.abnormal = Some("read failed");
                    break;
                }
            },
            ready = session.ready(), if open && room => session.on_ready(&mut ws.conn, ready),
        }
    }
    // Boxed: needed once, at the end, it would otherwise enlarge the task.
    Box::pin(ws.finish(cfg.close_timeout.min(Duration::from_secs(2)))).await;
    outcome
}

/// Tokio's clock (so a paused test clock holds), as the plain instant the
/// deadline table works in.
fn now() -> Instant {
    TokioInstant::now().into_std()
}

/// Notes how the connection is ending, then hands `event` to the endpoint.
fn take_event<S: Session>(conn: &mut Connection, session: &mut S, outcome: &mut Outcome, event: Event) {
    match &event {
        Event::Close(frame) => outcome.peer_close = Some(frame.code),
        Event::Failed(e) => outcome.failure = Some(*e),
        _ => {}
    }
    session.on_event(conn, event);
}

/// Starts the closing handshake from our side.
fn close_first(conn: &mut Connection, outcome: &mut Outcome, code: CloseCode, why: &'static str) {
    if conn.send(Message::Close(Some(code), why)).is_ok() {
        outcome.our_close = Some((code, why));
    }
}

/// `/echo`: text back as text, binary as binary.
pub(crate) struct Echo;

impl Session for Echo {
    type Ready = ();

    fn on_event(&mut self, conn: &mut Connection, event: Event) {
        // After our close, data may still arrive; it is not answered.
        let _ = match &event {
            Event::Text(text) => conn.send(Message::Text(text)),
            Event::Binary(data) => conn.send(Message::Binary(data)),
            _ => Ok(()),
        };
    }

    const IN_PLACE: bool = true;

    fn on_message_in_place(conn: &mut Connection, message: EventRef<'_>) {
        let _ = match message {
            EventRef::Text(text) => conn.send(Message::Text(text)),
            EventRef::Binary(data) => conn.send(Message::Binary(data)),
            EventRef::Event(event) => return Echo.on_event(conn, event),
        };
    }

    fn ready(&mut self) -> impl Future<Output = ()> + Send {
        std::future::pending()
    }

    fn on_ready(&mut self, _conn: &mut Connection, _ready: ()) {}
}

pub(crate) async fn echo(ws: WsStream, shared: &Shared) -> Outcome {
    drive(ws, shared, &mut Echo).await
}
