//! A case as data: what the client writes, and the outcomes that match.

use crate::verdict::Verdict;
use std::sync::Arc;
use std::time::Duration;
use wscope_core::frame::{FrameHeader, LengthForm, OpCode};

/// What the client writes, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// One frame, masked with a fresh key (the client's duty, section 5.3),
    /// written in pieces of `chop` bytes when set (so the server reads it
    /// across many reads).
    Frame {
        /// FIN.
        fin: bool,
        /// RSV1-3 as bits 0-2 (RSV1 = 1).
        rsv: u8,
        /// The opcode's 4 bits, reserved ones included.
        opcode: u8,
        /// The payload, unmasked.
        payload: Vec<u8>,
        /// Bytes per write, or the whole frame at once.
        chop: Option<usize>,
    },
    /// The client starts the closing handshake: a close frame with this
    /// code (or none), masked.
    Close(Option<u16>),
    /// The client waits before its next write (what the server does in the
    /// meantime is read, and counts).
    Pause(Duration),
    /// The client starts the closing handshake with a close frame of this
    /// payload exactly (any length, any code, any reason bytes).
    CloseRaw(Vec<u8>),
    /// If the connection is still open (no close frame either way, TCP
    /// up), the client notes it as [`Seen::Mark`]; if not, it writes
    /// nothing more (Autobahn's "timeout" events after a pause).
    Mark(char),
    /// The frame's header and the first `first` bytes of its payload; the
    /// rest waits for [`Action::More`] (one frame written in parts, with
    /// pauses between).
    Held {
        /// The frame ([`Action::Frame`]).
        frame: Box<Action>,
        /// Payload bytes written now.
        first: usize,
    },
    /// The next bytes of the held frame's payload (all that is left when
    /// `None`).
    More(Option<usize>),
    /// Messages sent one at a time through the core (compressed where
    /// permessage-deflate was agreed), each after the echo of the one
    /// before, each echo compared with what was sent.
    Echoes(Echoes),
    /// If permessage-deflate was not agreed in the handshake, the client
    /// notes [`Seen::NoDeflate`] and writes nothing more.
    NeedDeflate,
    /// These bytes, exactly as given (a frame no encoder would write: not
    /// masked, a length it does not carry).
    Raw(Vec<u8>),
    /// These actions' frames written in one go.
    Batch(Vec<Action>),
    /// From here on the client answers no close frame (it neither sends its
    /// own nor closes TCP): whatever ends the connection is the server's doing.
    Silent,
    /// The client closes its sending half of TCP (a FIN; it still reads).
    HalfClose,
    /// A binary message of this many zero bytes, compressed (needs
    /// permessage-deflate): a deflate bomb, about a thousandth of its size on
    /// the wire.
    Bomb(usize),
    /// A text message of this many fragments of one byte (`*`), written in
    /// one go.
    Fragments(usize),
}

/// Where the messages of [`Action::Echoes`] come from (made when sent,
/// so a catalogue of 16 MiB messages costs nothing until it runs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// This pattern repeated.
    Repeat(&'static [u8]),
    /// Consecutive slices of this text, wrapping at its end.
    Corpus(Arc<[u8]>),
}

/// Round trips, one message in flight (Autobahn 9.7, 9.8, 12, 13).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Echoes {
    /// Text messages (otherwise binary).
    pub text: bool,
    /// The bytes of each message.
    pub source: Source,
    /// Bytes per message.
    pub len: usize,
    /// How many.
    pub count: usize,
    /// Largest frame payload (a message is split after compression); 0
    /// for one frame per message.
    pub max_frame: usize,
    /// Bytes per write, or each message's frames written at once.
    pub chop: Option<usize>,
}

impl Echoes {
    /// The `i`-th message.
    pub fn message(&self, i: usize) -> Vec<u8> {
        let (text, start): (&[u8], usize) = match &self.source {
            Source::Repeat(pattern) => (pattern, 0),
            Source::Corpus(text) => (text, i.wrapping_mul(self.len).checked_rem(text.len()).unwrap_or(0)),
        };
        let mut out = Vec::with_capacity(self.len);
        let mut from = start;
        while out.len() < self.len {
            let Some(piece) = text.get(from..).filter(|p| !p.is_empty()) else { break };
            let take = piece.len().min(self.len.saturating_sub(out.len()));
            out.extend_from_slice(piece.get(..take).unwrap_or_default());
            from = 0;
        }
        out
    }
}

impl Action {
    /// A final, unreserved frame.
    pub fn frame(opcode: u8, payload: Vec<u8>) -> Action {
        Action::Frame { fin: true, rsv: 0, opcode, payload, chop: None }
    }

    /// The bytes to write in one go (`chop`), or all at once.
    pub fn chop(&self) -> Option<usize> {
        match self {
            Action::Frame { chop, .. } => *chop,
            _ => None,
        }
    }

    /// The frame's bytes on the wire, masked with `key` when there is one
    /// (a client's frames; a server's are not masked), none for a pause.
    pub fn encode(&self, key: Option<[u8; 4]>) -> Vec<u8> {
        let close;
        let (fin, rsv, opcode, payload) = match self {
            Action::Frame { fin, rsv, opcode, payload, .. } => (*fin, *rsv, *opcode, payload),
            Action::Close(code) => {
                close = code.map(|c| c.to_be_bytes().to_vec()).unwrap_or_default();
                (true, 0, 8, &close)
            }
            Action::CloseRaw(payload) => (true, 0, 8, payload),
            Action::Held { frame, .. } => return frame.encode(key),
            Action::Raw(bytes) => return bytes.clone(),
            Action::Batch(actions) => return actions.iter().flat_map(|a| a.encode(key)).collect(),
            Action::Fragments(count) => {
                let mut out = Vec::with_capacity(count.saturating_mul(7));
                for i in 0..*count {
                    let last = i.saturating_add(1) == *count;
                    let frame =
                        Action::Frame { fin: last, rsv: 0, opcode: u8::from(i == 0), payload: vec![b'*'], chop: None };
                    out.extend(frame.encode(key));
                }
                return out;
            }
            Action::Pause(_)
            | Action::Mark(_)
            | Action::More(_)
            | Action::Echoes(_)
            | Action::NeedDeflate
            | Action::Silent
            | Action::HalfClose
            | Action::Bomb(_) => {
                return Vec::new();
            }
        };
        let len = payload.len() as u64;
        let header = FrameHeader {
            fin,
            rsv: [rsv & 1 != 0, rsv & 2 != 0, rsv & 4 != 0],
            opcode: OpCode::from_bits(opcode),
            mask: key,
            payload_len: len,
            length_form: LengthForm::minimal(len),
        };
        let mut out = Vec::new();
        // The minimal form always holds the length.
        let _ = header.encode_frame(payload, &mut out);
        out
    }
}

/// Something the client received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// A whole text message.
    Text(Vec<u8>),
    /// A whole binary message.
    Binary(Vec<u8>),
    /// A ping and its payload.
    Ping(Vec<u8>),
    /// A pong and its payload.
    Pong(Vec<u8>),
    /// The connection was still open at this point of the case
    /// ([`Action::Mark`]).
    Mark(char),
    /// This many messages came back exactly as sent ([`Action::Echoes`]).
    Echoed(usize),
    /// The server did not agree to permessage-deflate.
    NoDeflate,
    /// Bytes from the server that break the RFC (the client failed the
    /// connection on them): never what a case expects.
    Violation(String),
}

impl Seen {
    /// "text, 65536 bytes", for reasons and reports.
    pub fn describe(&self) -> String {
        let (kind, p) = match self {
            Seen::Text(p) => ("text", p),
            Seen::Binary(p) => ("binary", p),
            Seen::Ping(p) => ("ping", p),
            Seen::Pong(p) => ("pong", p),
            Seen::Mark(m) => return format!("still open at pause {m}"),
            Seen::Echoed(n) => return format!("{n} messages echoed as sent"),
            Seen::NoDeflate => return "no permessage-deflate agreed".into(),
            Seen::Violation(v) => return format!("bytes that break the RFC: {v}"),
        };
        format!("{kind}, {} bytes", p.len())
    }
}

/// How the case expects the connection to end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseExpectation {
    /// The client starts the closing handshake (after the expected events);
    /// otherwise the server must (e.g. failing on a violation).
    pub closed_by_client: bool,
    /// The close codes allowed in the server's close frame (an empty close
    /// payload is always allowed).
    pub codes: Vec<u16>,
    /// Both close frames must be exchanged.
    pub require_clean: bool,
    /// A close from the wrong side fails the case itself, not only its
    /// close (the UTF-8 cases: a server that did not fail the connection
    /// did not notice the invalid text).
    pub wrong_endpoint_fatal: bool,
}

impl CloseExpectation {
    /// The client closes with 1000 and expects 1000 back, cleanly.
    pub fn normal() -> Self {
        CloseExpectation { closed_by_client: true, codes: vec![1000], require_clean: true, wrong_endpoint_fatal: false }
    }

    /// The server must fail the connection, with `code` or no code.
    pub fn server_fails(code: u16) -> Self {
        CloseExpectation {
            closed_by_client: false,
            codes: vec![code],
            require_clean: false,
            wrong_endpoint_fatal: false,
        }
    }
}

/// One case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// Autobahn's id ("1.1.8") or wscope's own.
    pub id: String,
    /// What the client does.
    pub description: String,
    /// What the server must do.
    pub expectation: String,
    /// What the client writes after the opening handshake.
    pub actions: Vec<Action>,
    /// The sequences of events that satisfy the case, each with its
    /// verdict; anything else fails it.
    pub expected: Vec<(Verdict, Vec<Seen>)>,
    /// How the connection should end.
    pub close: CloseExpectation,
    /// How long the case may run before the client gives up and drops the
    /// connection.
    pub time_limit: Duration,
    /// Special judgements some of Autobahn's cases make.
    pub rule: Rule,
    /// The `Sec-WebSocket-Extensions` offer of the opening handshake.
    pub offer: Option<String>,
    /// For wscope's own cases (groups 14 and up): their section, opening
    /// and judgement.
    pub own: Option<crate::own::Own>,
}

/// How a case's verdicts are bent, where Autobahn bends them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Rule {
    /// Events give the verdict, the close its own.
    #[default]
    Plain,
    /// A wrong close code fails the case itself (group 7: the close code is
    /// what the case tests).
    WrongCodeFails,
    /// The RFC leaves the outcome open: both verdicts are INFORMATIONAL.
    Informational,
}

impl Case {
    /// The case's group, as Autobahn's reports group them: its id without
    /// the last number ("1.1" for 1.1.8, "2" for 2.10).
    pub fn group(&self) -> String {
        self.id.rsplit_once('.').map_or(self.id.as_str(), |(g, _)| g).to_owned()
    }
}
