//! Finding keytui tokens in text (files, CI logs) offline: strings of the token shape
//! (`[prefix_]id_secret` + a 6-character CRC-32 checksum, see docs/redis-layout.md,
//! "Tokens") whose checksum is valid. Pure and synchronous: no Redis, no output. The
//! lookup of what it finds is [`crate::store::Store::scan_lookup`].
//!
//! What is found, exactly: every maximal run of token characters (`A-Za-z0-9_-`) of 9 to
//! 4096 bytes whose first `_` leaves at least 7 characters after it and that ends in a
//! token with a valid checksum ([`token_in_run`]); its line is the line the run starts on.
//!
//! Speed: input is read in blocks of 1 MiB. [`ends`] classifies each block sixteen bytes
//! per compare and yields only the run ends whose last six characters can be a checksum (a
//! digit `0`-`4`, then five base62 digits: one run in about forty of bench/scan.sh's log, a
//! tenth as many places as it has `_`); only those runs are looked at, and only a run that
//! passes the cheap checks costs a CRC. A literal search for a prefix (as `grep` does)
//! would miss tokens without one, which keytui makes by default. A run cut by a block
//! boundary is carried into the next block (a run longer than any token is
//! skipped whole). Tokens without a checksum (`--no-checksum`) cannot be recognised and are
//! not found; nor are ids or secrets of custom alphabets with characters outside
//! `A-Za-z0-9_-`.

mod ends;

use std::io::Read;

use zeroize::Zeroizing;

use crate::keygen::Token;

/// Bytes read per block.
const CHUNK: usize = 1 << 20;
/// Longest run of token characters looked at: prefix (32) + id (128) + a long secret. A
/// longer run (minified data, base64 blobs) is skipped whole.
const MAX_TOKEN: usize = 4096;
/// Start positions tried inside one run (the run start, then after each `_` or `-`), so
/// that `x_sk_live_...` or `key-sk_live_...` is still found.
const MAX_STARTS: usize = 8;
/// Shortest token: a 1-character id, `_`, a 1-character secret, the checksum.
const MIN_TOKEN: usize = 9;

/// Characters a token is made of (base62, hex, base64url, uuid ids, `_` joints).
static TOKEN_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
        b += 1;
    }
    t
};

/// Whether a byte can be part of a token (tokens are runs of these).
pub fn is_token_byte(b: u8) -> bool {
    TOKEN_BYTE[usize::from(b)]
}

/// One token found: where, and the token itself (a secret: never print it).
pub struct Found {
    /// 1-based line number.
    pub line: u64,
    pub token: Zeroizing<String>,
}

impl std::fmt::Debug for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Found")
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

/// The base62 value of the last 6 bytes, if they are base62 digits.
fn base62_value(b: &[u8]) -> Option<u64> {
    let mut n: u64 = 0;
    for &c in b {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'A'..=b'Z' => c - b'A' + 10,
            b'a'..=b'z' => c - b'a' + 36,
            _ => return None,
        };
        n = n * 62 + u64::from(d);
    }
    Some(n)
}

/// The token inside one run of token characters, if any: it ends where the run ends and
/// starts at the run's start or just after one of its first `_`/`-`.
pub fn token_in_run(run: &[u8]) -> Option<&str> {
    if run.len() < MIN_TOKEN || run.len() > MAX_TOKEN {
        return None;
    }
    let sum = base62_value(&run[run.len() - 6..])?;
    if sum > u64::from(u32::MAX) {
        return None;
    }
    let mut start = 0;
    for _ in 0..MAX_STARTS {
        let cand = &run[start..];
        if cand.len() < MIN_TOKEN {
            return None;
        }
        let body = &cand[..cand.len() - 6];
        if body.contains(&b'_') && u64::from(crc32fast::hash(body)) == sum {
            // The bytes are ASCII (TOKEN_BYTE), so this never fails.
            let text = std::str::from_utf8(cand).ok()?;
            if Token::parse(text).is_ok_and(|p| p.checksum_valid()) {
                return Some(text);
            }
        }
        let next = cand[..cand.len() - MIN_TOKEN]
            .iter()
            .position(|&c| c == b'_' || c == b'-')?;
        start += next + 1;
    }
    None
}

/// Scans a stream for tokens, calling `each` for every one found (in order). Reads in
/// blocks of 1 MiB; memory stays flat whatever the input's size.
pub fn scan_reader(input: impl Read, each: impl FnMut(Found)) -> std::io::Result<()> {
    scan_blocks(input, CHUNK, each)
}

/// [`scan_reader`] with blocks of `block` bytes (tests use tiny ones to cut tokens).
fn scan_blocks(
    mut input: impl Read,
    block: usize,
    mut each: impl FnMut(Found),
) -> std::io::Result<()> {
    let block = block.max(1);
    let mut buf = vec![0u8; block + MAX_TOKEN];
    // Bytes at the start of `buf` carried over from the previous block (an unfinished run).
    let mut carry = 0;
    // Line number of `buf[0]`.
    let mut line: u64 = 1;
    // The previous block ended inside a run too long to be a token: skip its rest.
    let mut skipping = false;
    loop {
        let n = read_full(&mut input, &mut buf[carry..carry + block])?;
        let len = carry + n;
        let eof = n == 0;
        let mut start = 0;
        if skipping {
            match buf[..len].iter().position(|&c| !TOKEN_BYTE[c as usize]) {
                Some(p) => {
                    start = p;
                    skipping = false;
                }
                None if eof => break,
                None => {
                    carry = 0;
                    continue;
                }
            }
        }
        // Complete region: up to the last byte that is not a token character (a run that
        // reaches the end of the block may go on in the next one).
        let end = if eof {
            len
        } else {
            match buf[start..len]
                .iter()
                .rposition(|&c| !TOKEN_BYTE[c as usize])
            {
                Some(p) => start + p + 1,
                None => start,
            }
        };
        line = scan_region(&buf[..end], start, line, &mut each);
        if eof {
            break;
        }
        let rest = len - end;
        if rest > MAX_TOKEN {
            // An unfinished run longer than any token: drop it and what follows of it.
            skipping = true;
            carry = 0;
        } else {
            buf.copy_within(end..len, 0);
            carry = rest;
        }
    }
    Ok(())
}

/// Reads until `buf` is full or the input ends; returns the number of bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Finds the tokens of `region[from..]`, which ends at a run boundary; returns the line
/// number at its end, given the one at its start.
fn scan_region(region: &[u8], from: usize, mut line: u64, each: &mut impl FnMut(Found)) -> u64 {
    let mut counted = 0;
    ends::checksum_ends(&region[from..], |end| {
        let e = from + end;
        // The run's start, looking back no further than one byte past the longest token.
        let floor = from.max(e.saturating_sub(MAX_TOKEN + 1));
        let mut s = e - 6;
        while s > floor && TOKEN_BYTE[region[s - 1] as usize] {
            s -= 1;
        }
        let run = &region[s..e];
        // The run's first `_` must leave room for a secret and the checksum after it
        // (`snake_case12345` ends here without a CRC).
        match memchr::memchr(b'_', run) {
            Some(f) if f + 8 <= run.len() => {}
            _ => return,
        }
        if let Some(token) = token_in_run(run) {
            line += memchr::memchr_iter(b'\n', &region[counted..s]).count() as u64;
            counted = s;
            each(Found {
                line,
                token: Zeroizing::new(token.to_owned()),
            });
        }
    });
    line + memchr::memchr_iter(b'\n', &region[counted..]).count() as u64
}

#[cfg(test)]
mod tests;
