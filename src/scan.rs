//! Finding keytui tokens in text (files, CI logs) offline: strings of the token shape
//! (`[prefix_]id_secret` + a 6-character CRC-32 checksum, see docs/redis-layout.md,
//! "Tokens") whose checksum is valid. Pure and synchronous: no Redis, no output. The
//! lookup of what it finds is [`crate::store::Store::scan_lookup`].
//!
//! Speed: input is read in large chunks; `memchr` finds the `_` every token contains, and
//! only the run of token characters around each one is looked at. A run whose last six
//! characters cannot be a checksum (a base62 number above 2^32, ~92% of all) is dropped
//! without computing a CRC. Runs cut by a chunk boundary are carried into the next chunk.
//! Tokens without a checksum (`--no-checksum`) cannot be recognised and are not found;
//! nor are ids or secrets of custom alphabets with characters outside `A-Za-z0-9_-`.

use std::io::Read;

use zeroize::Zeroizing;

use crate::keygen::Token;

/// Bytes read per chunk.
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
/// chunks of 1 MiB; memory stays flat whatever the input's size.
pub fn scan_reader(mut input: impl Read, mut each: impl FnMut(Found)) -> std::io::Result<()> {
    let mut buf = vec![0u8; CHUNK + MAX_TOKEN];
    // Bytes at the start of `buf` carried over from the previous chunk (an unfinished run).
    let mut carry = 0;
    // Line number of `buf[0]`.
    let mut line: u64 = 1;
    // The previous chunk ended inside a run too long to be a token: skip its rest.
    let mut skipping = false;
    loop {
        let n = read_full(&mut input, &mut buf[carry..carry + CHUNK])?;
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
        // reaches the end of the chunk may go on in the next one).
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
    let mut pos = from;
    while let Some(off) = memchr::memchr(b'_', &region[pos..]) {
        let at = pos + off;
        let mut e = at + 1;
        while e < region.len() && TOKEN_BYTE[region[e] as usize] {
            e += 1;
        }
        // Cheap rejections before looking back: a token's `_` before the secret is
        // followed by at least a character and the checksum, and the run's last six
        // characters must be a base62 number that fits 32 bits. (`snake_case`,
        // `user_id=` end here; the next `_` of the same run is looked at on its own.)
        if e - at < 8 || base62_value(&region[e - 6..e]).is_none_or(|v| v > u64::from(u32::MAX)) {
            pos = e;
            continue;
        }
        let mut s = at;
        while s > pos && TOKEN_BYTE[region[s - 1] as usize] {
            s -= 1;
        }
        if let Some(token) = token_in_run(&region[s..e]) {
            line += memchr::memchr_iter(b'\n', &region[counted..s]).count() as u64;
            counted = s;
            each(Found {
                line,
                token: Zeroizing::new(token.to_owned()),
            });
        }
        pos = e;
    }
    line + memchr::memchr_iter(b'\n', &region[counted..]).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keygen::{Secret, Token};

    fn token(prefix: Option<&str>, id: &str, secret: &str) -> String {
        Token {
            prefix: prefix.map(str::to_owned),
            id: id.into(),
            secret: Secret::new(secret.into()),
            checksum: true,
        }
        .format()
        .expose()
        .to_owned()
    }

    fn scan(text: &[u8]) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        scan_reader(text, |f| out.push((f.line, f.token.to_string()))).unwrap();
        out
    }

    #[test]
    fn finds_tokens_with_line_numbers_and_ignores_near_misses() {
        let a = token(Some("sk_live"), "4fQx0bZ9LmP2sT7a", "S3cretS3cretS3cret");
        let b = token(None, "AbC123", "x_y-z");
        let mut typo = a.clone();
        typo.replace_range(10..11, "Z");
        let text = format!(
            "start\nAuthorization: Bearer {a}\nsome_snake_case words\n{typo}\nkey={b}, x_{a}\n"
        );
        let found = scan(text.as_bytes());
        assert_eq!(
            found,
            vec![(2, a.clone()), (5, b.clone()), (5, a.clone())],
            "{text}"
        );
    }

    #[test]
    fn tokens_cut_by_chunk_boundaries_are_found() {
        let t = token(
            Some("pk_test"),
            "Zz9Zz9Zz9Zz9Zz9Z",
            "abcdefghijklmnopqrstuvwxyz0123456789",
        );
        for shift in [0usize, 1, 7, 20, t.len() - 1, t.len(), t.len() + 1] {
            let mut text = vec![b'.'; CHUNK - shift];
            text.extend_from_slice(b"\n");
            text.extend_from_slice(t.as_bytes());
            text.extend_from_slice(b"\nend\n");
            text.extend(std::iter::repeat_n(b'a', 10));
            assert_eq!(scan(&text), vec![(2, t.clone())], "shift {shift}");
        }
    }

    #[test]
    fn a_run_longer_than_any_token_is_skipped_across_chunks() {
        let t = token(None, "Id0", "secret");
        let mut text = vec![b'A'; CHUNK * 2 + 17];
        text.extend_from_slice(b"_");
        text.extend_from_slice(t.as_bytes());
        text.extend_from_slice(b" ");
        text.extend_from_slice(t.as_bytes());
        assert_eq!(scan(&text), vec![(1, t.clone())]);
    }
}
