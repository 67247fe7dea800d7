//! The per-range work of a filter run: the byte-wise subsequence pass of a plain query,
//! nucleo scoring, packing and sorting the scores, and splitting the candidates between
//! the cores. Pure; knows nothing of the UI state.

use std::sync::atomic::Ordering;

use nucleo_matcher::pattern::Pattern;
use nucleo_matcher::{Config, Matcher, Utf32Str};

use super::{CHECK_EVERY, FilterJob, PARALLEL_FROM};
use crate::tui::row::Row;

/// Splits `0..n` between the cores (one thread below [`PARALLEL_FROM`]); the parts in order.
pub(super) fn parallel<T: Send>(
    n: usize,
    work: impl Fn(std::ops::Range<usize>) -> Option<T> + Sync,
) -> Option<Vec<T>> {
    let threads = if n < PARALLEL_FROM {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |p| p.get().min(8))
    };
    if threads <= 1 {
        return Some(vec![work(0..n)?]);
    }
    let per = n.div_ceil(threads);
    let work = &work;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let range = (t * per).min(n)..((t + 1) * per).min(n);
                s.spawn(move || work(range))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    })
}

/// Best score first, then lowest index (newest): one packed integer sorts fastest.
pub(super) fn sorted(parts: Vec<Vec<u64>>) -> Vec<u32> {
    let mut keys: Vec<u64> = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for part in parts {
        keys.extend(part);
    }
    keys.sort_unstable();
    keys.into_iter().map(|k| k as u32).collect()
}

/// The needle bytes and whether case matters, for a query whose nucleo matches are exactly
/// the haystacks holding it as a subsequence: ASCII, no whitespace, none of `^ $ ' ! \`.
/// Smart case as nucleo: an uppercase letter makes it case-sensitive.
pub fn cheap_needle(query: &str) -> Option<Needle> {
    let plain = !query.is_empty()
        && query
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"^$'!\\".contains(&b));
    plain.then(|| Needle {
        bytes: query.as_bytes().to_vec(),
        exact: query.bytes().any(|b| b.is_ascii_uppercase()),
    })
}

/// A plain ASCII query, see [`cheap_needle`].
pub struct Needle {
    bytes: Vec<u8>,
    /// Case-sensitive (the query has an uppercase letter); else the bytes are lowercase.
    exact: bool,
}

impl Needle {
    /// Whether the needle is a subsequence of the ASCII `hay` (memchr per needle byte).
    fn in_ascii(&self, mut hay: &[u8]) -> bool {
        for &w in &self.bytes {
            let upper = w.to_ascii_uppercase();
            let at = if self.exact || upper == w {
                memchr::memchr(w, hay)
            } else {
                memchr::memchr2(w, upper, hay)
            };
            match at {
                Some(p) => hay = &hay[p + 1..],
                None => return false,
            }
        }
        true
    }
}

/// The matching candidates of `range` (in candidate order), without scoring; non-ASCII
/// haystacks are left to nucleo (its normalisation and Unicode case folding).
pub(super) fn select(
    job: &FilterJob,
    needle: &Needle,
    pattern: &Pattern,
    records: &[Row],
    candidates: &Candidates<'_>,
    range: std::ops::Range<usize>,
) -> Option<Vec<u32>> {
    let mut matcher = Matcher::new(Config::DEFAULT);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    for (n, k) in range.enumerate() {
        if n % CHECK_EVERY == CHECK_EVERY - 1
            && job.latest.load(Ordering::Relaxed) != job.generation
        {
            return None;
        }
        let i = candidates.get(k);
        let Some(r) = records.get(i) else { continue };
        if !job.status.admits(r.status_at(job.now)) {
            continue;
        }
        let hay = r.haystack();
        // Non-ASCII haystacks go to nucleo: it reads grapheme clusters, so even an ASCII
        // needle found byte by byte is not always its match (after a Unicode "Prepend"
        // character it sees nothing).
        let hit = if hay.is_ascii() {
            needle.in_ascii(hay.as_bytes())
        } else {
            pattern
                .score(Utf32Str::new(hay, &mut buf), &mut matcher)
                .is_some()
        };
        if hit {
            out.push(i as u32);
        }
    }
    Some(out)
}

pub(super) enum Candidates<'a> {
    All(usize),
    Some(&'a [u32]),
}

impl Candidates<'_> {
    pub(super) fn len(&self) -> usize {
        match self {
            Candidates::All(n) => *n,
            Candidates::Some(v) => v.len(),
        }
    }

    pub(super) fn get(&self, k: usize) -> usize {
        match self {
            Candidates::All(_) => k,
            Candidates::Some(v) => v[k] as usize,
        }
    }
}

/// Scores candidates `range`; each match as `(u32::MAX - score) << 32 | index`.
pub(super) fn score(
    job: &FilterJob,
    pattern: &Pattern,
    records: &[Row],
    candidates: &Candidates<'_>,
    range: std::ops::Range<usize>,
) -> Option<Vec<u64>> {
    let mut matcher = Matcher::new(Config::DEFAULT);
    let mut buf = Vec::new();
    // Sized for the worst case up front: growing by doubling would briefly hold 1.5 times
    // as much at a million matches.
    let mut out = Vec::with_capacity(range.len());
    for (n, k) in range.enumerate() {
        if n % CHECK_EVERY == CHECK_EVERY - 1
            && job.latest.load(Ordering::Relaxed) != job.generation
        {
            return None;
        }
        let i = candidates.get(k);
        let Some(r) = records.get(i) else { continue };
        if !job.status.admits(r.status_at(job.now)) {
            continue;
        }
        if let Some(s) = pattern.score(Utf32Str::new(r.haystack(), &mut buf), &mut matcher) {
            out.push(((u32::MAX - s) as u64) << 32 | (i as u64 & 0xffff_ffff));
        }
    }
    Some(out)
}
