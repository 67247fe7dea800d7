//! Where a token may end, found sixteen bytes at a time: the ends of runs of token
//! characters whose last six characters could be a checksum (a digit `0`-`4`, then five
//! base62 digits: a base62 number of six digits below 2^32 starts with one of them). Each
//! 64-byte group becomes three bit masks (SSE2 compares on x86_64, the same in integer
//! arithmetic on `u64` words elsewhere), and the candidates are a few shifts and ANDs of
//! them, so no byte is looked at one by one. Finds candidates only: it knows nothing of
//! prefixes, ids or CRCs, and never reads outside the slice it is given.

/// Bytes classified per step: one bit per byte in a `u64`.
const GROUP: usize = 64;

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

#[cfg_attr(
    all(target_arch = "x86_64", target_feature = "sse2"),
    allow(unused_imports)
)]
use swar::classify_swar;

/// The portable classifier: SWAR (eight bytes per `u64`); the reference for the SSE2 one.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
mod swar {
    use super::{Classes, GROUP};

    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;

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

    pub(super) fn classify_swar(group: &[u8; GROUP]) -> Classes {
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
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn classify(group: &[u8; GROUP]) -> Classes {
    // SAFETY: the only requirement of a `#[target_feature]` function is that the CPU has
    // the feature, and this is compiled only where SSE2 is enabled for the whole build
    // (every x86_64 target). It reads no memory through pointers.
    #[allow(unsafe_code)]
    unsafe {
        classify_sse2(group)
    }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn classify(group: &[u8; GROUP]) -> Classes {
    classify_swar(group)
}

/// SSE2: sixteen bytes per compare. The intrinsics take no pointers (the bytes are loaded
/// as two `u64`).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[target_feature(enable = "sse2")]
fn classify_sse2(group: &[u8; GROUP]) -> Classes {
    use std::arch::x86_64::*;
    /// All-ones bytes where `v`'s byte is in `lo..=hi` (unsigned): `v - lo < hi - lo + 1`,
    /// compared as signed after flipping the high bits.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn in_range(v: __m128i, lo: u8, hi: u8) -> __m128i {
        let shifted = _mm_add_epi8(v, _mm_set1_epi8(0x80u8.wrapping_sub(lo) as i8));
        _mm_cmplt_epi8(shifted, _mm_set1_epi8((hi - lo + 1) as i8 ^ i8::MIN))
    }
    let mut c = Classes::default();
    for (i, w) in group.chunks_exact(16).enumerate() {
        let mut lo = [0u8; 8];
        let mut hi = [0u8; 8];
        lo.copy_from_slice(&w[..8]);
        hi.copy_from_slice(&w[8..]);
        let v = _mm_set_epi64x(i64::from_le_bytes(hi), i64::from_le_bytes(lo));
        let digit = in_range(v, b'0', b'9');
        let letter = in_range(_mm_or_si128(v, _mm_set1_epi8(0x20)), b'a', b'z');
        let low_digit = in_range(v, b'0', b'4');
        let joint = _mm_or_si128(
            _mm_cmpeq_epi8(v, _mm_set1_epi8(b'_' as i8)),
            _mm_cmpeq_epi8(v, _mm_set1_epi8(b'-' as i8)),
        );
        let base62 = _mm_or_si128(digit, letter);
        let bits = |m: __m128i| u64::from(_mm_movemask_epi8(m) as u16) << (16 * i);
        c.base62 |= bits(base62);
        c.low_digit |= bits(low_digit);
        c.token |= bits(_mm_or_si128(base62, joint));
    }
    c
}

/// Calls `each(e)` for every `e` (in increasing order) where `text[e - 6]` is `0`-`4`,
/// `text[e - 5..e]` are base62 and `text[e]` is not a token character or `e` is the end.
pub fn checksum_ends(text: &[u8], mut each: impl FnMut(usize)) {
    let full = text.chunks_exact(GROUP);
    let rest = full.remainder();
    // The last, partial group is padded with spaces ("not a token character").
    let tail = (!rest.is_empty()).then(|| {
        let mut padded = [b' '; GROUP];
        padded[..rest.len()].copy_from_slice(rest);
        classify(&padded)
    });
    let mut groups = full
        .map(|g| classify(g.try_into().unwrap_or(&[b' '; GROUP])))
        .chain(tail);
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
        for at in [0, 13, 31, 50, 63] {
            for b in 0..=255u8 {
                let mut g = [b' '; GROUP];
                g[at] = b;
                for c in [classify(&g), classify_swar(&g)] {
                    assert_eq!(c.base62 >> at & 1 == 1, is_base62(b), "{b} at {at}");
                    assert_eq!(c.token >> at & 1 == 1, is_token(b), "{b} at {at}");
                    let low = (b'0'..=b'4').contains(&b);
                    assert_eq!(c.low_digit >> at & 1 == 1, low, "{b} at {at}");
                    assert_eq!(c.token & !(1 << at), 0, "{b} at {at}");
                }
            }
        }
    }

    #[test]
    fn matches_the_definition_on_random_text_across_groups() {
        let mut rng = crate::test_rng::Rng(0x9E37_79B9_7F4A_7C15);
        let alphabet = b"0123456789aZz_- \n\r\x00\xff=:.";
        for len in [0, 1, 5, 6, 7, 63, 64, 65, 70, 127, 128, 129, 1000] {
            for _ in 0..50 {
                let text: Vec<u8> = (0..len)
                    .map(|_| alphabet[rng.next(alphabet.len())])
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
