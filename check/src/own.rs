//! What wscope's own cases (groups 14 and up, the ones Autobahn lacks) add
//! to a case: the RFC section they hold the peer to, an opening handshake
//! that may break the rules on purpose (a request when testing servers, a
//! 101 when testing clients), and a judgement of their own with its verdict
//! meanings written down (FAILED: a MUST broken; NON-STRICT: what the RFC
//! allows or only recommends against).

use std::time::Duration;

/// The parts of an own case that Autobahn's cases do not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Own {
    /// The section of RFC 6455 (or RFC 7692, RFC 6585) the case holds the
    /// server to, e.g. "4.2.1".
    pub section: &'static str,
    /// How the client opens the connection.
    pub opening: Opening,
    /// How the outcome is judged.
    pub judge: Judge,
    /// After the case, a fresh connection must still get a 101 (a server
    /// that crashed or stopped answering fails the case).
    pub check_alive: bool,
}

/// How the client opens the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opening {
    /// The core's client handshake, as in Autobahn's cases.
    Standard,
    /// The core's client handshake, changed as [`Edit`] says (the request
    /// breaks a rule on purpose); the answer is judged, and a valid 101 is
    /// followed by a normal closing handshake.
    Edited(Edit),
    /// A valid request head, one header line every `interval`, never
    /// finished (a slowloris client): the server should give up on it.
    Slow {
        /// Time between header lines.
        interval: Duration,
    },
    /// Testing a client: the checker answers its request with the core's
    /// 101 changed as [`AnswerEdit`] says.
    Answer(AnswerEdit),
}

/// Changes to a valid 101 (the client checker's own cases, group 18).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AnswerEdit {
    /// Another status line (e.g. "HTTP/1.1 200 OK").
    pub status_line: Option<&'static str>,
    /// Header fields left out (by name, any case).
    pub drop: Vec<&'static str>,
    /// Header fields whose value is replaced (by name, any case).
    pub set: Vec<(&'static str, String)>,
    /// Header fields added at the end.
    pub add: Vec<(&'static str, String)>,
    /// A `permessage-deflate` response the client's offer does not allow:
    /// `client_max_window_bits=10` to an offer without that parameter, an
    /// out-of-range `server_max_window_bits=7` to one with it (RFC 7692
    /// 7.1.2.2 and 7.1.2.1).
    pub deflate_not_offered: bool,
    /// A text frame "Hello" written in the same write as the 101.
    pub frame_behind: bool,
}

/// Changes to a valid opening handshake request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Edit {
    /// Another method than GET.
    pub method: Option<&'static str>,
    /// `HTTP/1.0` instead of `HTTP/1.1`.
    pub http10: bool,
    /// Every header name written in lower case.
    pub lowercase_names: bool,
    /// Header fields left out (by name, any case).
    pub drop: Vec<&'static str>,
    /// Header fields whose value is replaced (by name, any case): the name
    /// is written as given here, so a case can change its case too.
    pub set: Vec<(&'static str, String)>,
    /// Header fields added at the end.
    pub add: Vec<(&'static str, String)>,
    /// A header field of this many bytes of padding, added at the end.
    pub pad: usize,
    /// Subprotocols offered instead of the target's.
    pub protocols: Option<Vec<String>>,
    /// The `Sec-WebSocket-Extensions` offer.
    pub extensions: Option<String>,
}

/// How an own case is judged (each variant says what each verdict means).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Judge {
    /// The request breaks section 4.2.1 or 4.1: the server MUST answer with
    /// an error status. OK: one of `statuses`; NON-STRICT: another error
    /// status (400 and above); FAILED: a 101, no answer, or a status below
    /// 400.
    Refuse {
        /// The statuses the RFCs name for this request.
        statuses: &'static [u16],
    },
    /// An unsupported version (section 4.4): the server MUST refuse with an
    /// error status and a `Sec-WebSocket-Version` header naming 13. OK: 426
    /// with it; NON-STRICT: another error status with it; FAILED: a 101, no
    /// answer, or an error without the header.
    RefuseWithVersion,
    /// The request is not an upgrade at all (no `Upgrade: websocket` or no
    /// `Connection: Upgrade`): FAILED only if the server switches
    /// protocols; anything else is OK.
    NotAnUpgrade,
    /// A valid request written unusually (header names and tokens in other
    /// cases, more tokens in `Connection`): OK when answered with a valid
    /// 101 (checked by the core); FAILED otherwise.
    Accept,
    /// An offer the server cannot know (an extension, a `permessage-deflate`
    /// parameter, a subprotocol): OK when the 101 accepts none of it
    /// (checked by the core as if nothing had been offered, except an
    /// unknown subprotocol chosen back: NON-STRICT); NON-STRICT when the
    /// whole handshake is refused instead; FAILED when an extension comes
    /// back or there is no answer.
    Decline,
    /// An oversized head (section 10.4, RFC 6585 section 5): OK: 431;
    /// NON-STRICT: any other way of refusing it, or accepting it (no MUST
    /// limits a head); FAILED: no answer before the time limit.
    HeadLimit,
    /// A head that never ends (section 10.4): OK when the server closes the
    /// connection before the case's time limit; NON-STRICT otherwise.
    SlowHead,
    /// The client starts the closing handshake and keeps TCP open (section
    /// 5.5.1, 7.1.1): OK: the server's close frame, then its FIN; NON-STRICT:
    /// the close frame followed by a reset (which can destroy it in flight)
    /// or by no TCP close at all (the RFC wants the server to close first);
    /// FAILED: no close frame.
    CloseThenFin,
    /// The server must fail the connection (section 7.1.7) with one of
    /// `codes`. OK: a close frame with one of them (or none), then TCP
    /// closed with a FIN; NON-STRICT: another code, a close frame followed
    /// by a reset, TCP closed without a close frame, or a close frame and no
    /// TCP close; `waiting` (FAILED where the RFC says MUST) when the server
    /// went on as if nothing were wrong (data echoed, bytes the client had to
    /// refuse, nothing at all before the time limit) or reset TCP without a
    /// close frame.
    Fails {
        /// The codes the RFC names.
        codes: &'static [u16],
        /// The verdict when the server just waits (FAILED where the RFC
        /// says MUST, NON-STRICT where it only says SHOULD limit).
        waiting: crate::Verdict,
    },
    /// A load the server may carry or refuse (section 10.4): OK: the
    /// events the case expects, or a close with one of `codes` (a limit);
    /// NON-STRICT: anything else that ends before the time limit, or
    /// running out of time; FAILED only when the server stopped answering.
    Carry {
        /// The close codes that say "a limit" (1008, 1009).
        codes: &'static [u16],
    },
    /// The server must survive (only the alive check judges): OK when a new
    /// connection is served after the case.
    Survive,
    /// Testing a client: the 101 breaks section 4.1 (or RFC 7692 7.1), and
    /// the client MUST fail the connection; the checker sends a text message
    /// behind it. OK: the client closes TCP without sending anything;
    /// NON-STRICT: it sends a close frame first (the connection never
    /// opened, so there is nothing to close); FAILED: it echoes the message
    /// or sends anything else, or keeps the connection open past the time
    /// limit.
    ClientRefuses,
}
