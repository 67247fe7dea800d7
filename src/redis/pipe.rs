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
            timeout: self.response_timeout,
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
        let flushed = writer.flush().await;
        // The password went through this buffer: wipe it (the whole capacity), whether
        // the write went through or not.
        zeroize::Zeroize::zeroize(&mut writer.out);
        flushed?;
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
    timeout: Duration,
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

    /// Sends what was packed; fails when the server has not taken it within the response
    /// timeout (it stopped reading) or the connection is gone.
    pub(crate) async fn flush(&mut self) -> Result<()> {
        let written = tokio::time::timeout(self.timeout, self.write.write_all(&self.out)).await;
        self.out.clear();
        match written {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::Redis(format!(
                "writing to the bulk-read connection: {e}"
            ))),
            Err(_) => Err(Error::Redis(format!(
                "the server did not take the bulk-read commands within {} s",
                self.timeout.as_secs()
            ))),
        }
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

    /// Waits for the next reply. An array of bulk strings and nils (what `HMGET` answers),
    /// of at most [`MAX_CELLS`] elements, is handed to `f` as its cells, read straight from
    /// the buffer; any other reply as a frame, as [`PipeReader::next`] gives it.
    pub(crate) async fn next_cells<T>(&mut self, f: impl FnOnce(Reply<'_>) -> T) -> Result<T> {
        loop {
            let mut cells = [Cell::Nil; MAX_CELLS];
            match bulk_array(&self.buf[self.pos..], &mut cells) {
                Fast::Done { n, used } => {
                    let out = f(Reply::Cells(&cells[..n]));
                    self.pos += used;
                    return Ok(out);
                }
                Fast::Incomplete => self.fill().await?,
                Fast::Other => return self.next(|buf, frame| f(Reply::Frame(buf, frame))).await,
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

/// The longest array [`PipeReader::next_cells`] reads without building a frame.
pub(crate) const MAX_CELLS: usize = 32;

/// A reply as [`PipeReader::next_cells`] hands it over.
pub(crate) enum Reply<'a> {
    /// An array of bulk strings and nils.
    Cells(&'a [Cell<'a>]),
    /// Any other reply: the buffer and the frame's ranges in it.
    Frame(&'a [u8], &'a RangeFrame),
}

enum Fast {
    Done {
        n: usize,
        used: usize,
    },
    /// The buffer ends inside the reply.
    Incomplete,
    /// Another kind of reply (or one that does not parse): left to `decode_range`.
    Other,
}

/// Reads `*N\r\n` and N times `$L\r\n<L bytes>\r\n` or `$-1\r\n` from the start of `buf`.
fn bulk_array<'a>(buf: &'a [u8], cells: &mut [Cell<'a>; MAX_CELLS]) -> Fast {
    /// A length line after its type byte at `at`: the number and where the next line starts.
    fn length(buf: &[u8], at: usize) -> Result<(i64, usize), Fast> {
        let mut i = at + 1;
        let negative = buf.get(i) == Some(&b'-');
        i += usize::from(negative);
        let mut n: i64 = 0;
        let first = i;
        loop {
            match buf.get(i) {
                None => return Err(Fast::Incomplete),
                Some(b @ b'0'..=b'9') if i - first < 10 => n = n * 10 + i64::from(b - b'0'),
                Some(b'\r') if i > first => break,
                Some(_) => return Err(Fast::Other),
            }
            i += 1;
        }
        match buf.get(i + 1) {
            None => Err(Fast::Incomplete),
            Some(b'\n') => Ok((if negative { -n } else { n }, i + 2)),
            Some(_) => Err(Fast::Other),
        }
    }
    let mut run = || -> Result<Fast, Fast> {
        match buf.first() {
            None => return Err(Fast::Incomplete),
            Some(b'*') => {}
            Some(_) => return Err(Fast::Other),
        }
        let (n, mut at) = length(buf, 0)?;
        if !(0..=MAX_CELLS as i64).contains(&n) {
            return Err(Fast::Other);
        }
        for cell in cells.iter_mut().take(n as usize) {
            match buf.get(at) {
                None => return Err(Fast::Incomplete),
                Some(b'$') => {}
                Some(_) => return Err(Fast::Other),
            }
            let (len, start) = length(buf, at)?;
            if len == -1 {
                *cell = Cell::Nil;
                at = start;
                continue;
            }
            let len = usize::try_from(len).map_err(|_| Fast::Other)?;
            let end = start + len;
            match buf.get(end..end + 2) {
                None => return Err(Fast::Incomplete),
                Some(b"\r\n") => {}
                Some(_) => return Err(Fast::Other),
            }
            *cell = Cell::Text(&buf[start..end]);
            at = end + 2;
        }
        Ok(Fast::Done {
            n: n as usize,
            used: at,
        })
    };
    run().unwrap_or_else(|e| e)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast reading agrees with `decode_range` on every prefix of a stream of replies,
    /// and leaves what it does not read to it.
    #[test]
    fn bulk_arrays_read_as_decode_range_reads_them() {
        let stream: &[u8] =
            b"*3\r\n$2\r\nid\r\n$-1\r\n$0\r\n\r\n*0\r\n*2\r\n$4\r\na\r\nb\r\n$1\r\n\xff\r\n\
            -WRONGTYPE no\r\n*1\r\n:5\r\n*-1\r\n*40\r\n";
        let mut at = 0;
        let mut kinds = Vec::new();
        while at < stream.len() {
            let buf = &stream[at..];
            let mut cells = [Cell::Nil; MAX_CELLS];
            let whole = decode_range(buf).unwrap();
            match bulk_array(buf, &mut cells) {
                Fast::Done { n, used } => {
                    let (frame, len) = whole.unwrap();
                    assert_eq!(used, len);
                    let RangeFrame::Array(items) = frame else {
                        panic!("not an array")
                    };
                    let want: Vec<Cell> = items.iter().map(|f| bulk(buf, f)).collect();
                    assert_eq!(&cells[..n], &want[..]);
                    // Every shorter prefix is incomplete.
                    for cut in 0..used {
                        let mut c = [Cell::Nil; MAX_CELLS];
                        assert!(matches!(bulk_array(&buf[..cut], &mut c), Fast::Incomplete));
                    }
                    kinds.push(n as i64);
                    at += used;
                }
                Fast::Other => {
                    let Some((_, len)) = whole else {
                        // `*40` with nothing after it: for decode_range to wait on.
                        kinds.push(-2);
                        break;
                    };
                    kinds.push(-1);
                    at += len;
                }
                Fast::Incomplete => panic!("incomplete at {at}"),
            }
        }
        // The arrays of 3, 0 and 2; an error, an array of an integer and a nil array left
        // to decode_range; an array longer than MAX_CELLS too.
        assert_eq!(kinds, [3, 0, 2, -1, -1, -1, -2]);
    }
}
