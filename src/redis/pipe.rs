//! A connection of its own for bulk reads (the listing, the TUI loader): commands are
//! written ahead in pipelines and their replies are decoded in the read buffer as byte
//! ranges (RESP2 frames by `redis-protocol`'s `decode_range`), so reading a million records
//! allocates nothing per field. redis-rs builds a `Value` and a `Vec` for every field of
//! every reply and frees them on another thread; that was about half of a listing's
//! client time.
//!
//! Only a standalone server over plain TCP gets one ([`PipeTarget::from_url`]); with TLS
//! or on a cluster the callers read through [`crate::conn::Conn`] as before. The pipe sends
//! `AUTH` and `SELECT` as the URL says, so it reads with the same user and database. It
//! never writes data: callers only send read commands through it.

use std::time::Duration;

use redis::{ConnectionAddr, IntoConnectionInfo};
use redis_protocol::resp2::decode::decode_range;
use redis_protocol::resp2::types::RangeFrame;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The client name of a pipe's connection, as `CLIENT LIST` shows it.
pub const PIPE_NAME: &str = "keytui-bulk-read";

/// Where a pipe connects and how it logs in: the standalone server of a `redis://` URL.
#[derive(Clone)]
pub struct PipeTarget {
    host: String,
    port: u16,
    db: i64,
    username: Option<String>,
    password: Option<Zeroizing<String>>,
    connect_timeout: Duration,
    response_timeout: Duration,
}

impl std::fmt::Debug for PipeTarget {
    // Never the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipeTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

impl PipeTarget {
    /// The target of a plain `redis://` URL; `None` for TLS (`rediss://`) or a URL that
    /// does not parse.
    pub(crate) fn from_url(
        url: &str,
        connect_timeout: Duration,
        response_timeout: Duration,
    ) -> Option<Self> {
        let info = url.into_connection_info().ok()?;
        let ConnectionAddr::Tcp(host, port) = info.addr() else {
            return None;
        };
        let redis = info.redis_settings();
        Some(Self {
            host: host.clone(),
            port: *port,
            db: redis.db(),
            username: redis.username().map(str::to_owned),
            password: redis.password().map(|p| Zeroizing::new(p.to_owned())),
            connect_timeout,
            response_timeout,
        })
    }

    /// Opens a pipe: connects, logs in and selects the database.
    pub(crate) async fn open(&self) -> Result<(PipeWriter, PipeReader)> {
        let failed = |what: &str, e: &dyn std::fmt::Display| {
            Error::Redis(format!(
                "the bulk-read connection to {}:{} {what}: {e}",
                self.host, self.port
            ))
        };
        let stream = tokio::time::timeout(
            self.connect_timeout,
            TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        .map_err(|e| failed("timed out", &e))?
        .map_err(|e| failed("failed", &e))?;
        let _ = stream.set_nodelay(true);
        let (read, write) = stream.into_split();
        let mut writer = PipeWriter {
            write,
            out: Vec::with_capacity(64 * 1024),
        };
        let mut reader = PipeReader {
            read,
            buf: Vec::with_capacity(READ_CHUNK * 2),
            pos: 0,
            timeout: self.response_timeout,
        };
        // Login and database must succeed; the name (shown by `CLIENT LIST`) may be
        // refused to a restricted ACL user without harm.
        let mut must_succeed = Vec::new();
        if let Some(password) = &self.password {
            let mut auth = redis::cmd("AUTH");
            if let Some(user) = &self.username {
                auth.arg(user);
            }
            auth.arg(password.as_str());
            writer.push(&auth);
            must_succeed.push(true);
        }
        if self.db != 0 {
            writer.push(redis::cmd("SELECT").arg(self.db));
            must_succeed.push(true);
        }
        writer.push(redis::cmd("CLIENT").arg("SETNAME").arg(PIPE_NAME));
        must_succeed.push(false);
        writer.flush().await?;
        for must in must_succeed {
            reader
                .next(|buf, frame| match frame {
                    RangeFrame::Error(r) if must => {
                        Err(Error::from_reply(&String::from_utf8_lossy(&buf[r.0..r.1])))
                    }
                    _ => Ok(()),
                })
                .await??;
        }
        Ok((writer, reader))
    }
}

/// The writing half of a pipe: commands are packed into a buffer and sent by [`flush`].
/// Keep it until the last reply is read: dropping it closes the socket's writing side, and
/// Redis drops a client that closed, unsent replies included.
///
/// [`flush`]: PipeWriter::flush
pub struct PipeWriter {
    write: OwnedWriteHalf,
    out: Vec<u8>,
}

impl PipeWriter {
    /// Packs a command into the buffer (sent by the next [`PipeWriter::flush`]).
    pub(crate) fn push(&mut self, cmd: &redis::Cmd) {
        cmd.write_packed_command(&mut self.out);
    }

    /// The buffer of packed commands, to append commands already in RESP (sent by the
    /// next [`PipeWriter::flush`]).
    pub(crate) fn packed(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    /// Sends what was packed.
    pub(crate) async fn flush(&mut self) -> Result<()> {
        self.write
            .write_all(&self.out)
            .await
            .map_err(|e| Error::Redis(format!("writing to the bulk-read connection: {e}")))?;
        self.out.clear();
        Ok(())
    }
}

/// Bytes read per `read` call at least.
const READ_CHUNK: usize = 256 * 1024;

/// The reading half of a pipe: replies, in the order the commands were sent.
pub struct PipeReader {
    read: OwnedReadHalf,
    /// Bytes read and not yet consumed start at `pos`.
    buf: Vec<u8>,
    pos: usize,
    timeout: Duration,
}

impl PipeReader {
    /// Waits for the next reply and hands it to `f` as a frame of ranges into the buffer
    /// (valid during the call only).
    pub(crate) async fn next<T>(&mut self, f: impl FnOnce(&[u8], &RangeFrame) -> T) -> Result<T> {
        loop {
            match decode_range(&self.buf[self.pos..]) {
                Ok(Some((frame, used))) => {
                    let out = f(&self.buf[self.pos..], &frame);
                    self.pos += used;
                    return Ok(out);
                }
                Ok(None) => self.fill().await?,
                Err(e) => {
                    return Err(Error::Redis(format!(
                        "the bulk-read connection sent a reply that does not parse: {e}"
                    )));
                }
            }
        }
    }

    /// Reads more bytes, first moving the unconsumed ones to the front.
    async fn fill(&mut self) -> Result<()> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let len = self.buf.len();
        if self.buf.capacity() - len < READ_CHUNK {
            self.buf.reserve(READ_CHUNK);
        }
        let read = tokio::time::timeout(self.timeout, self.read.read_buf(&mut self.buf))
            .await
            .map_err(|_| {
                Error::Redis(format!(
                    "the server did not answer within {} s",
                    self.timeout.as_secs()
                ))
            })?
            .map_err(|e| Error::Redis(format!("reading the bulk-read connection: {e}")))?;
        if read == 0 {
            return Err(Error::Redis(
                "the server closed the bulk-read connection".into(),
            ));
        }
        Ok(())
    }
}

/// One field of an array reply, borrowed from the read buffer.
pub(crate) fn bulk<'a>(buf: &'a [u8], frame: &RangeFrame) -> Cell<'a> {
    match frame {
        RangeFrame::BulkString((s, e)) | RangeFrame::SimpleString((s, e)) => {
            Cell::Text(&buf[*s..*e])
        }
        RangeFrame::Null => Cell::Nil,
        _ => Cell::Other,
    }
}

/// A field of a reply as a record parser sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cell<'a> {
    Text(&'a [u8]),
    Nil,
    /// An integer, an array or an error where text was expected.
    Other,
}
