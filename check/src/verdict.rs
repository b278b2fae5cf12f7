//! What a case's outcome means, in Autobahn|Testsuite's words, so a
//! library author reads wscope-check's verdicts as they read Autobahn's.

use serde::Serialize;
use std::fmt;

/// The verdict on what the server did (Autobahn's "behavior").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Verdict {
    /// As the RFC requires.
    #[serde(rename = "OK")]
    Ok,
    /// Allowed, but not what the RFC prefers (e.g. failing fast on invalid
    /// UTF-8 at the end of a message instead of at the first bad byte).
    #[serde(rename = "NON-STRICT")]
    NonStrict,
    /// No verdict: the case only records what happened.
    #[serde(rename = "INFORMATIONAL")]
    Informational,
    /// The server does not implement an optional feature the case needs.
    #[serde(rename = "UNIMPLEMENTED")]
    Unimplemented,
    /// Against the RFC.
    #[serde(rename = "FAILED")]
    Failed,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Ok => "OK",
            Verdict::NonStrict => "NON-STRICT",
            Verdict::Informational => "INFORMATIONAL",
            Verdict::Unimplemented => "UNIMPLEMENTED",
            Verdict::Failed => "FAILED",
        })
    }
}

/// How the connection ended (Autobahn's "behaviorClose").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum CloseBehavior {
    /// The closing handshake as the case expects, the server closing TCP.
    #[serde(rename = "OK")]
    Ok,
    /// The wrong endpoint started the close (or failed the connection).
    #[serde(rename = "FAILED")]
    Failed,
    /// No closing handshake where the RFC requires one.
    #[serde(rename = "UNCLEAN")]
    Unclean,
    /// The server's close carried another code than the case allows.
    #[serde(rename = "WRONG CODE")]
    WrongCode,
    /// The client had to drop TCP: the RFC prefers the server to close it
    /// first (section 7.1.1).
    #[serde(rename = "FAILED BY CLIENT")]
    FailedByClient,
    /// The RFC leaves it open.
    #[serde(rename = "INFORMATIONAL")]
    Informational,
}

impl fmt::Display for CloseBehavior {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CloseBehavior::Ok => "OK",
            CloseBehavior::Failed => "FAILED",
            CloseBehavior::Unclean => "UNCLEAN",
            CloseBehavior::WrongCode => "WRONG CODE",
            CloseBehavior::FailedByClient => "FAILED BY CLIENT",
            CloseBehavior::Informational => "INFORMATIONAL",
        })
    }
}
