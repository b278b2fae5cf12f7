//! Moving bytes one way, unchanged: read a chunk, hand the recorder a copy,
//! write it on whole before reading more. A side that stops reading stops
//! the other from being read (TCP's flow control then slows the sender);
//! nothing is queued beyond the one chunk in hand.
//!
//! An idle direction holds no buffer: a plain TCP socket is waited on for
//! readability first and a chunk buffer taken only while bytes flow, so an
//! idle relayed connection costs its sockets and its state, not 2 × 64 KiB.

use super::log::RelayLog;
use super::record::Recorder;
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use wscope_check::run::Stream;
use wscope_core::Role;

/// Most bytes read at once.
pub(crate) const CHUNK: usize = 64 * 1024;

/// The read side of one socket.
pub(crate) enum Reader {
    Tcp(OwnedReadHalf),
    Tls(ReadHalf<Box<dyn Stream>>),
}

/// The write side of one socket.
pub(crate) enum Writer {
    Tcp(OwnedWriteHalf),
    Tls(WriteHalf<Box<dyn Stream>>),
}

impl Reader {
    /// Reads the next chunk into `buf` (cleared first); 0 at the end.
    pub(crate) async fn read(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        buf.clear();
        match self {
            Reader::Tcp(rd) => loop {
                if buf.capacity() == 0 {
                    rd.readable().await?;
                    buf.reserve(CHUNK);
                }
                match rd.try_read_buf(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        // Nothing more now: give the buffer back while idle.
                        *buf = Vec::new();
                    }
                    Err(e) => return Err(e),
                }
            },
            Reader::Tls(rd) => {
                buf.reserve(CHUNK);
                read_some(rd, buf).await
            }
        }
    }
}

async fn read_some<R: AsyncRead + Unpin>(rd: &mut R, buf: &mut Vec<u8>) -> io::Result<usize> {
    rd.read_buf(buf).await
}

impl Writer {
    pub(crate) async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Writer::Tcp(w) => w.write_all(data).await,
            Writer::Tls(w) => write_flush(w, data).await,
        }
    }

    /// Writes some of `data`; how much. Cancel-safe (a write that did not
    /// complete took nothing), so it may race other work in a `select!`;
    /// TLS then needs [`Writer::flush`].
    pub(crate) async fn write_some(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            Writer::Tcp(w) => w.write(data).await,
            Writer::Tls(w) => w.write(data).await,
        }
    }

    /// Whether written bytes may wait in a buffer until [`Writer::flush`].
    pub(crate) fn buffers(&self) -> bool {
        matches!(self, Writer::Tls(_))
    }

    /// Pushes what TLS buffered to the socket (nothing to do for TCP).
    /// Cancel-safe: flushing again goes on where it stopped.
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        match self {
            Writer::Tcp(_) => Ok(()),
            Writer::Tls(w) => w.flush().await,
        }
    }

    /// Passes the end of one direction on (a TCP FIN).
    pub(crate) async fn shutdown(&mut self) -> io::Result<()> {
        match self {
            Writer::Tcp(w) => w.shutdown().await,
            Writer::Tls(w) => w.shutdown().await,
        }
    }
}

async fn write_flush<W: AsyncWrite + Unpin>(w: &mut W, data: &[u8]) -> io::Result<()> {
    w.write_all(data).await?;
    w.flush().await
}

/// How one direction ended.
#[derive(Debug)]
pub(crate) enum PumpEnd {
    /// The sender closed its side; the end was passed on.
    Closed,
    /// Reading from the sender failed.
    ReadFailed(io::Error),
    /// Writing to the receiver failed.
    WriteFailed(io::Error),
}

/// Moves `from`'s bytes from `rd` to `wr` until one side ends.
pub(crate) async fn pump(
    from: Role,
    mut rd: Reader,
    mut wr: Writer,
    recorder: &Recorder,
    log: Option<&RelayLog>,
) -> PumpEnd {
    let mut buf = Vec::new();
    loop {
        let n = match rd.read(&mut buf).await {
            Ok(0) => {
                let _ = wr.shutdown().await;
                return PumpEnd::Closed;
            }
            Ok(n) => n,
            Err(e) => return PumpEnd::ReadFailed(e),
        };
        recorder.touch();
        let data = buf.get(..n).unwrap_or_default();
        let lines = recorder.push(from, data);
        if let Some(log) = log {
            log.write(lines).await;
        }
        // Written in pieces, each counted as activity: a receiver slowly
        // taking a large chunk is not idle.
        let mut rest = data;
        while !rest.is_empty() {
            match wr.write_some(rest).await {
                Ok(0) => return PumpEnd::WriteFailed(io::ErrorKind::WriteZero.into()),
                Ok(n) => rest = rest.get(n..).unwrap_or_default(),
                Err(e) => return PumpEnd::WriteFailed(e),
            }
            recorder.touch();
        }
        if let Err(e) = wr.flush().await {
            return PumpEnd::WriteFailed(e);
        }
    }
}
