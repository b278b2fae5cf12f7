//! The message layer for either role, sans-IO, in the manner of wsproto:
//! [`Connection::receive_data`] takes bytes off the wire,
//! [`Connection::next_event`] hands out what they meant, [`Connection::send`]
//! turns messages into bytes, and [`Connection::pending_output`] holds the
//! bytes to write.
//!
//! - [`recv`]: the frame stream coming in (headers from any piece, payloads
//!   unmasked and judged as they arrive, one step for a whole frame).
//! - [`send`]: messages going out (masking, compression, fragments, the
//!   rules of what may still be sent).
//! - Message assembly (UTF-8, inflating) is [`crate::message`]'s, shared
//!   with the collecting judges.
//!
//! The connection stops at the first violation and fails with the close
//! code the rule warrants (section 7.1.7). Automatic replies (the pong to a
//! ping, the close that answers a close, the close that fails the
//! connection) are written when the event that causes them is taken with
//! [`Connection::next_event`], so they follow whatever the application sent
//! in answer to the events before.

mod recv;
mod send;

pub use send::{Message, PONG_COALESCE_AT, SendError};

use crate::close::CloseFrame;
use crate::deflate::{DeflateParams, MessageDeflater};
use crate::message::MessageAssembler;
use crate::rules::{DataKind, FrameRules, Sequencer};
use crate::violation::ProtocolError;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use recv::Rx;

pub use crate::rules::Role;

/// Limits and automatic behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Largest accepted frame payload; larger fails with 1009.
    /// Default 16 MiB.
    pub max_frame_size: u64,
    /// Largest accepted message (all its fragments); larger fails with 1009.
    /// Default 64 MiB.
    pub max_message_size: u64,
    /// Answer pings with pongs. Default on.
    pub auto_pong: bool,
    /// Answer a close with a close echoing its code and reason. Default on.
    pub auto_close: bool,
    /// permessage-deflate's parameters, once negotiated in the handshake
    /// ([`crate::deflate::negotiate`]). Default none: RSV1 is refused.
    pub deflate: Option<DeflateParams>,
    /// With deflate on, messages shorter than this go out uncompressed
    /// (each message decides for itself, RFC 7692 section 6). Default 32.
    pub compress_min_size: usize,
    /// With deflate on, the compression level, 0-9. Default 6.
    pub compression_level: u32,
    /// With deflate on and context takeover, keep the last window of each
    /// direction's text (a copy of every message, up to 32 KiB each way)
    /// so that [`Connection::park_compression`] can free the library's
    /// state. Default off: parking then frees only what no context needs.
    pub parkable_compression: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            auto_pong: true,
            auto_close: true,
            deflate: None,
            compress_min_size: 32,
            compression_level: crate::deflate::DEFAULT_LEVEL,
            parkable_compression: false,
        }
    }
}

/// What received bytes meant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A whole text message.
    Text(String),
    /// A whole binary message.
    Binary(Vec<u8>),
    /// A ping with its payload.
    Ping(Vec<u8>),
    /// A pong with its payload.
    Pong(Vec<u8>),
    /// The peer's close frame. Nothing after it is read.
    Close(CloseFrame),
    /// The peer broke a rule; the connection is failed and nothing after
    /// is read. Taking this event writes the close frame.
    Failed(ProtocolError),
}

/// What [`Connection::read_event_in_place`] found: a whole message left in
/// the caller's buffer (unmasked there, no copy), or any other event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventRef<'a> {
    /// A whole unfragmented text message, in the caller's buffer.
    Text(&'a str),
    /// A whole unfragmented binary message, in the caller's buffer.
    Binary(&'a [u8]),
    /// Anything else, as [`Connection::next_event`] gives it (messages
    /// that arrived in pieces or compressed are assembled and owned).
    Event(Event),
}

/// The closing handshake's progress (section 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// We sent a close and wait for the peer's.
    CloseSent,
    /// The peer's close arrived and is not answered yet.
    CloseReceived,
    /// Both closes crossed, or the connection failed: close the TCP
    /// connection once the pending output is written.
    Closed,
}

/// A source of masking keys for the client role.
pub type MaskKeys = Box<dyn FnMut() -> [u8; 4] + Send>;

/// A WebSocket connection after the handshake, for either role.
pub struct Connection {
    role: Role,
    config: Config,
    state: State,
    // ---- receiving (recv.rs) ----
    rules: FrameRules,
    seq: Sequencer,
    rx: Rx,
    /// Bytes received so far (offsets in errors count from here).
    received: u64,
    /// The data message being received, joined and unmasked (inflated).
    message: Vec<u8>,
    assembler: MessageAssembler,
    /// The control frame being received.
    control: Vec<u8>,
    events: VecDeque<Event>,
    // ---- sending (send.rs) ----
    out: Vec<u8>,
    out_pos: usize,
    mask_keys: Option<MaskKeys>,
    /// The fragmented message being sent, if any.
    sending: Option<DataKind>,
    /// `out[start..end]` is an automatic pong nothing has followed and that
    /// is not written yet (see [`PONG_COALESCE_AT`]).
    unsent_pong: Option<(usize, usize)>,
    /// Made on the first compressed message sent, freed after each where
    /// this side has no context takeover (it holds a few hundred KiB).
    deflater: Option<Box<MessageDeflater>>,
    compressed_out: Vec<u8>,
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("received", &self.received)
            .field("events", &self.events.len())
            .field("pending_output", &self.pending_output().len())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A server-side connection.
    pub fn server(config: Config) -> Self {
        Self::new(Role::Server, config, None)
    }

    /// A client-side connection. Each frame it sends is masked with a fresh
    /// key from `mask_keys`, which must be unpredictable (section 5.3: "from
    /// a strong source of entropy").
    pub fn client(config: Config, mask_keys: MaskKeys) -> Self {
        Self::new(Role::Client, config, Some(mask_keys))
    }

    fn new(role: Role, config: Config, mask_keys: Option<MaskKeys>) -> Self {
        let peer = role.peer();
        Connection {
            role,
            config,
            state: State::Open,
            rules: FrameRules::new(Some(peer), config.deflate.is_some(), Some(config.max_frame_size)),
            seq: Sequencer::new(Some(config.max_message_size)),
            rx: Rx::start(),
            received: 0,
            message: Vec::new(),
            assembler: MessageAssembler::new(config.deflate.map(|p| p.of(peer)), config.max_message_size)
                .parkable(config.parkable_compression),
            control: Vec::new(),
            events: VecDeque::new(),
            out: Vec::new(),
            out_pos: 0,
            mask_keys,
            sending: None,
            unsent_pong: None,
            deflater: None,
            compressed_out: Vec::new(),
        }
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The closing handshake's progress.
    pub fn state(&self) -> State {
        self.state
    }

    /// The limits and behaviour in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Frees what permessage-deflate holds between messages (the library's
    /// compressor and decompressor, over 128 KiB together), keeping only the
    /// history each side's next message may refer to; the next message
    /// compressed or inflated makes them again, primed with it. For a
    /// connection gone quiet: calling it on a busy one costs the remaking.
    /// A message being received stays as it is. With context takeover only
    /// where [`Config::parkable_compression`] kept the history.
    pub fn park_compression(&mut self) {
        if let Some(deflater) = &mut self.deflater {
            deflater.park();
        }
        self.assembler.park();
    }

    /// Whether permessage-deflate holds library state that
    /// [`Connection::park_compression`] would free.
    pub fn compression_live(&self) -> bool {
        self.deflater.as_ref().is_some_and(|d| d.is_live()) || self.assembler.inflater_live()
    }

    /// The next event, if any. Taking a ping writes its pong, taking a close
    /// writes the answering close, taking a failure writes the failing close
    /// (each as configured).
    pub fn next_event(&mut self) -> Option<Event> {
        let event = self.events.pop_front()?;
        match &event {
            Event::Ping(payload) if self.config.auto_pong && self.state != State::Closed => self.write_pong(payload),
            Event::Close(frame) if self.config.auto_close && self.state == State::CloseReceived => {
                // Echo the code (section 5.5.1) and the reason, so the peer
                // sees both were read; an empty close gets an empty one.
                self.write_close(frame.code, &frame.reason);
                self.state = State::Closed;
            }
            Event::Failed(e) => {
                if matches!(self.state, State::Open | State::CloseReceived) {
                    let reason = e.violation.to_string();
                    self.write_close(Some(e.close_code()), &reason);
                }
                self.state = State::Closed;
            }
            _ => {}
        }
        Some(event)
    }
}

#[cfg(test)]
mod tests;
