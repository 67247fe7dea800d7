//! Where a token may end, found eight bytes at a time: the ends of runs of token characters
//! whose last six characters could be a checksum (a digit `0`-`4`, then five base62
//! digits: a base62 number of six digits below 2^32 starts with one of them). Plain safe
//! integer arithmetic on `u64` words (SWAR), so the whole input is classified in a few
//! instructions per byte instead of looking at each `_`. Finds candidates only: it knows
//! nothing of prefixes, ids or CRCs, and never reads outside the slice it is given.

/// Bytes classified per step: one bit per byte in a `u64`.
const GROUP: usize = 64;
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// One bit per byte of a group.
#[derive(Clone, Copy, Default)]
struct Classes {
    /// `A-Za-z0-9`.
    base62: u64,
    /// `0-4`: the first digit of a checksum.
    low_digit: u64,
    /// `A-Za-z0-9_-`: the characters tokens are made of.
    token: u64,
}

/// The high bit of each byte of `x` (all below 128, as `y`) set where it lies in
/// `lo..=hi`; `ascii` has the high bit set where the original byte was below 128.
#[inline(always)]
fn in_range(y: u64, ascii: u64, lo: u8, hi: u8) -> u64 {
    // y's bytes are < 128 and the addends <= 128, so no carry crosses a byte.
    let ge_lo = y.wrapping_add(ONES * u64::from(0x80 - lo));
    let gt_hi = y.wrapping_add(ONES * u64::from(0x80 - hi - 1));
    ge_lo & !gt_hi & ascii & HIGH
}

/// The high bits of the 8 bytes of `m` as the low 8 bits of the result, byte 0 first.
#[inline(always)]
fn bits(m: u64) -> u64 {
    ((m >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56
}

fn classify(group: &[u8; GROUP]) -> Classes {
    let mut c = Classes::default();
    for (i, w) in group.chunks_exact(8).enumerate() {
        let mut word = [0u8; 8];
        word.copy_from_slice(w);
        let x = u64::from_le_bytes(word);
        let ascii = !x;
        let y = x & !HIGH;
        let digit = in_range(y, ascii, b'0', b'9');
        let letter = in_range(y | (ONES * 0x20), ascii, b'a', b'z');
        let low_digit = in_range(y, ascii, b'0', b'4');
        let joint = in_range(y, ascii, b'_', b'_') | in_range(y, ascii, b'-', b'-');
        let base62 = digit | letter;
        let shift = 8 * i;
        c.base62 |= bits(base62) << shift;
        c.low_digit |= bits(low_digit) << shift;
        c.token |= bits(base62 | joint) << shift;
    }
    c
}

/// Calls `each(e)` for every `e` (in increasing order) where `text[e - 6]` is `0`-`4`,
/// `text[e - 5..e]` are base62 and `text[e]` is not a token character or `e` is the end.
pub fn checksum_ends(text: &[u8], mut each: impl FnMut(usize)) {
    let mut groups = text.chunks(GROUP).map(|g| {
        let mut full = [b' '; GROUP];
        full[..g.len()].copy_from_slice(g);
        classify(&full)
    });
    let Some(mut cur) = groups.next() else {
        return;
    };
    let mut base = 0;
    loop {
        // Past the end counts as "not a token character".
        let next = groups.next();
        let n = next.unwrap_or_default();
        let b = u128::from(cur.base62) | u128::from(n.base62) << GROUP;
        let t = u128::from(cur.token) | u128::from(n.token) << GROUP;
        let five = b >> 1 & b >> 2 & b >> 3 & b >> 4 & b >> 5;
        let mut cand = cur.low_digit & (five & !(t >> 6)) as u64;
        while cand != 0 {
            let p = cand.trailing_zeros() as usize;
            each(base + p + 6);
            cand &= cand - 1;
        }
        match next {
            Some(n) => cur = n,
            None => break,
        }
        base += GROUP;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_base62(c: u8) -> bool {
        c.is_ascii_alphanumeric()
    }
    fn is_token(c: u8) -> bool {
        is_base62(c) || c == b'_' || c == b'-'
    }

    /// The definition, one position at a time.
    fn slow(text: &[u8]) -> Vec<usize> {
        (6..=text.len())
            .filter(|&e| {
                (b'0'..=b'4').contains(&text[e - 6])
                    && text[e - 5..e].iter().all(|&c| is_base62(c))
                    && (e == text.len() || !is_token(text[e]))
            })
            .collect()
    }

    fn fast(text: &[u8]) -> Vec<usize> {
        let mut v = Vec::new();
        checksum_ends(text, |e| v.push(e));
        v
    }

    #[test]
    fn every_byte_value_is_classified_as_the_definition_says() {
        for b in 0..=255u8 {
            let mut g = [b' '; GROUP];
            g[13] = b;
            let c = classify(&g);
            assert_eq!(c.base62 >> 13 & 1 == 1, is_base62(b), "{b}");
            assert_eq!(c.token >> 13 & 1 == 1, is_token(b), "{b}");
            assert_eq!(
                c.low_digit >> 13 & 1 == 1,
                (b'0'..=b'4').contains(&b),
                "{b}"
            );
            assert_eq!(c.token & !(1 << 13), 0, "{b}");
        }
    }

    #[test]
    fn matches_the_definition_on_random_text_across_groups() {
        // A small xorshift: deterministic, no dependency.
        let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
        let alphabet = b"0123456789aZz_- \n\r\x00\xff=:.";
        for len in [0, 1, 5, 6, 7, 63, 64, 65, 70, 127, 128, 129, 1000] {
            for _ in 0..50 {
                let text: Vec<u8> = (0..len)
                    .map(|_| {
                        s ^= s << 13;
                        s ^= s >> 7;
                        s ^= s << 17;
                        alphabet[(s % alphabet.len() as u64) as usize]
                    })
                    .collect();
                assert_eq!(fast(&text), slow(&text), "{text:?}");
            }
        }
    }

    #[test]
    fn ends_at_group_edges_and_at_the_end_of_the_text() {
        for at in 0..140 {
            let mut text = vec![b' '; 140];
            let start = at.min(140 - 6);
            text[start..start + 6].copy_from_slice(b"4zZ9aB");
            assert_eq!(fast(&text), vec![start + 6], "{at}");
            assert_eq!(fast(&text[..start + 6]), vec![start + 6], "{at}");
        }
    }
}
