//! The fuzzy filter (nucleo-matcher over name, id and metadata). Pure and CPU-bound: the
//! event loop runs it in `spawn_blocking`, never on the render path.
//!
//! Each row keeps its haystack ready ([`Row::haystack`]); the rows are split between the
//! cores; a query that extends the previous one only looks at the previous matches (and
//! rows appended since); an outdated run stops early.

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};

use std::sync::atomic::Ordering;

use super::row::Row;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crate::record::UnixMs;

/// Rows scored between two looks at whether the job is still wanted.
const CHECK_EVERY: usize = 4096;
/// Below this many candidates one thread does it all.
const PARALLEL_FROM: usize = 20_000;

/// Whether the matches of `new` are always among those of `old`: `new` extends `old` and
/// neither uses the pattern syntax (spaces, `^`, `$`, `'`, `!`, `\`) whose meaning a
/// longer query can change. Case: a capital letter makes matching stricter, never looser.
pub fn narrows(old: &str, new: &str) -> bool {
    let plain = |q: &str| !q.chars().any(|c| c.is_whitespace() || "^$'!\\".contains(c));
    !old.is_empty() && new.starts_with(old) && plain(old) && plain(new)
}

/// Above this many matches a plain query's result is not scored: the matches are shown in
/// table order (newest first) and marked unranked; Enter then picks the best one ([`best`]).
pub const RANK_LIMIT: usize = 20_000;

/// A filter run's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filtered {
    /// Indices of the matching records: best first when `ranked`, else in table order.
    pub indices: Vec<usize>,
    pub ranked: bool,
}

/// Which statuses the table shows (one type with the CLI's `--status`).
pub use crate::input::StatusFilter;

/// The previous matches a narrowing run starts from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterBase {
    /// Indices of the previous matches (any order).
    pub matches: Vec<u32>,
    /// Number of records the previous run looked at; later ones are all candidates.
    pub len: usize,
}

/// A fuzzy filter run for the worker: owns a snapshot of the records.
#[derive(Clone, Debug)]
pub struct FilterJob {
    pub generation: u64,
    /// `State::structure` when the job started: indices are valid only for it.
    pub structure: u64,
    /// `State::revision` when the job started.
    pub revision: u64,
    pub query: String,
    pub status: StatusFilter,
    pub now: UnixMs,
    pub records: Arc<Vec<Row>>,
    /// The newest generation: the job gives up when it is no longer this one's.
    pub latest: Arc<AtomicU64>,
    /// When the query narrows the previous run's: only its matches (and rows appended
    /// since) can match.
    pub within: Option<Arc<FilterBase>>,
}

/// The matching records; `None` when a newer job made this one pointless.
///
/// A plain ASCII query (see [`cheap_needle`]) first finds the matches with a byte-wise
/// subsequence test (the same set nucleo matches); only up to [`RANK_LIMIT`] of them are
/// scored and sorted. Other queries are scored by nucleo throughout.
pub fn run(job: &FilterJob) -> Option<Filtered> {
    let pattern = Pattern::parse(&job.query, CaseMatching::Smart, Normalization::Smart);
    let records = &job.records[..];
    // The candidates: every row, or the previous matches plus the rows appended since.
    let owned: Vec<u32>;
    let candidates: Candidates<'_> = match &job.within {
        Some(w) => {
            let mut c: Vec<u32> = w
                .matches
                .iter()
                .copied()
                .filter(|&i| (i as usize) < w.len)
                .collect();
            if !c.is_sorted() {
                c.sort_unstable();
            }
            c.extend((w.len..records.len()).map(|i| i as u32));
            owned = c;
            Candidates::Some(&owned)
        }
        None => Candidates::All(records.len()),
    };
    match cheap_needle(&job.query) {
        Some(needle) => {
            let found = parallel(candidates.len(), |range| {
                select(job, &needle, &pattern, records, &candidates, range)
            })?;
            let mut indices: Vec<u32> = Vec::with_capacity(found.iter().map(Vec::len).sum());
            for part in found {
                indices.extend(part);
            }
            if indices.len() > RANK_LIMIT {
                return Some(Filtered {
                    indices: indices.into_iter().map(|i| i as usize).collect(),
                    ranked: false,
                });
            }
            let chosen = Candidates::Some(&indices);
            let keys = parallel(indices.len(), |range| {
                score(job, &pattern, records, &chosen, range)
            })?;
            Some(Filtered {
                indices: sorted(keys),
                ranked: true,
            })
        }
        None => {
            let keys = parallel(candidates.len(), |range| {
                score(job, &pattern, records, &candidates, range)
            })?;
            if job.latest.load(Ordering::Relaxed) != job.generation {
                return None;
            }
            Some(Filtered {
                indices: sorted(keys),
                ranked: true,
            })
        }
    }
}

/// The position in `visible` of the best-scoring record for `query` (ties: the first).
pub fn best(records: &[Row], visible: &[usize], query: &str) -> Option<usize> {
    let pattern = Pattern::parse(query, CaseMatching::Smart, Normalization::Smart);
    let best = parallel(visible.len(), |range| {
        let mut matcher = Matcher::new(Config::DEFAULT);
        let mut buf = Vec::new();
        let mut top: Option<(u32, usize)> = None;
        for k in range {
            let Some(r) = records.get(visible[k]) else {
                continue;
            };
            if let Some(s) = pattern.score(Utf32Str::new(r.haystack(), &mut buf), &mut matcher)
                && top.is_none_or(|(t, _)| s > t)
            {
                top = Some((s, k));
            }
        }
        Some(top)
    })?;
    best.into_iter()
        .flatten()
        .fold(None, |acc: Option<(u32, usize)>, (s, k)| match acc {
            Some((t, _)) if t >= s => acc,
            _ => Some((s, k)),
        })
        .map(|(_, k)| k)
}

/// Splits `0..n` between the cores (one thread below [`PARALLEL_FROM`]); the parts in order.
fn parallel<T: Send>(
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
fn sorted(parts: Vec<Vec<u64>>) -> Vec<usize> {
    let mut keys: Vec<u64> = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for part in parts {
        keys.extend(part);
    }
    keys.sort_unstable();
    keys.into_iter()
        .map(|k| (k & 0xffff_ffff) as usize)
        .collect()
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
fn select(
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

enum Candidates<'a> {
    All(usize),
    Some(&'a [u32]),
}

impl Candidates<'_> {
    fn len(&self) -> usize {
        match self {
            Candidates::All(n) => *n,
            Candidates::Some(v) => v.len(),
        }
    }

    fn get(&self, k: usize) -> usize {
        match self {
            Candidates::All(_) => k,
            Candidates::Some(v) => v[k] as usize,
        }
    }
}

/// Scores candidates `range`; each match as `(u32::MAX - score) << 32 | index`.
fn score(
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;

    use super::*;
    use crate::tui::fixtures::{NOW, record};

    fn job(records: usize, generation: u64, latest: u64) -> FilterJob {
        FilterJob {
            generation,
            structure: 0,
            revision: 0,
            query: "svc".into(),
            status: StatusFilter::All,
            now: NOW,
            records: Arc::new((0..records).map(|i| record(i % 90, "svc").into()).collect()),
            latest: Arc::new(AtomicU64::new(latest)),
            within: None,
        }
    }

    #[test]
    fn an_outdated_job_gives_up() {
        assert_eq!(run(&job(10_000, 1, 2)), None);
        assert_eq!(
            run(&job(10_000, 2, 2)).map(|v| v.indices.len()),
            Some(10_000)
        );
        assert_eq!(run(&job(50_000, 1, 2)), None);
    }

    /// Many rows of varied names and metadata, some revoked.
    fn varied(n: usize) -> Arc<Vec<Row>> {
        let words = [
            "alpha", "beta", "gamma", "delta", "needle", "svc", "Billing",
        ];
        Arc::new(
            (0..n)
                .map(|i| {
                    let mut r = record(i, &format!("{}-{}", words[i % 7], words[i / 7 % 7]));
                    r.revoked = i % 5 == 0;
                    r.meta.insert("team".into(), words[i / 49 % 7].into());
                    r.into()
                })
                .collect(),
        )
    }

    fn full(records: &Arc<Vec<Row>>, query: &str, status: StatusFilter) -> Vec<usize> {
        let j = FilterJob {
            generation: 1,
            structure: 0,
            revision: 0,
            query: query.into(),
            status,
            now: NOW,
            records: Arc::clone(records),
            latest: Arc::new(AtomicU64::new(1)),
            within: None,
        };
        run(&j).unwrap().indices
    }

    #[test]
    fn narrowing_the_previous_matches_gives_the_full_result() {
        // Sizes on both sides of the parallel threshold; rows appended after the previous
        // run are looked at too.
        for n in [300, 45_000] {
            let all = varied(n);
            for status in [
                StatusFilter::All,
                StatusFilter::Active,
                StatusFilter::Revoked,
            ] {
                for (old, new) in [("a", "al"), ("e", "eed"), ("ne", "neB"), ("b", "bg")] {
                    assert!(narrows(old, new));
                    let appended_from = n - n / 10;
                    let prefix = Arc::new(all[..appended_from].to_vec());
                    let before = full(&prefix, old, status);
                    let j = FilterJob {
                        generation: 1,
                        structure: 0,
                        revision: 0,
                        query: new.into(),
                        status,
                        now: NOW,
                        records: Arc::clone(&all),
                        latest: Arc::new(AtomicU64::new(1)),
                        within: Some(Arc::new(FilterBase {
                            matches: before.iter().map(|&i| i as u32).collect(),
                            len: appended_from,
                        })),
                    };
                    assert_eq!(
                        run(&j).unwrap().indices,
                        full(&all, new, status),
                        "{n} {old}→{new}"
                    );
                }
            }
        }
    }

    /// The matches by nucleo alone, in index order.
    fn nucleo_matches(records: &[Row], query: &str) -> Vec<usize> {
        let pattern = Pattern::parse(query, CaseMatching::Smart, Normalization::Smart);
        let mut matcher = Matcher::new(Config::DEFAULT);
        let mut buf = Vec::new();
        (0..records.len())
            .filter(|&i| {
                let hay = Utf32Str::new(records[i].haystack(), &mut buf);
                pattern.score(hay, &mut matcher).is_some()
            })
            .collect()
    }

    #[test]
    fn the_cheap_pass_matches_what_nucleo_matches() {
        let mut rows = varied(45_000).to_vec();
        for (i, name) in ["Ünïcödé-nèedle", "ALPHA-BETA", "gAmMa-sVc", "été-ß-ﬁle"]
            .iter()
            .enumerate()
        {
            rows[i * 7 + 1] = record(i, name).into();
        }
        let rows = Arc::new(rows);
        for q in [
            "a", "al", "alb", "needle", "nEe", "Be", "BETA", "ab-", "ue", "e-n", "svc", "k0",
            "x9fq", "X9fQ", "team=", "fil", "zzz", "unicode", "ete", "a b", "^al", "le$", "'eta",
            "!beta", "é", "ß",
        ] {
            let mut got = full(&rows, q, StatusFilter::All);
            got.sort_unstable();
            assert_eq!(got, nucleo_matches(&rows, q), "{q}");
        }
    }

    #[test]
    fn many_matches_come_unranked_in_table_order_few_ranked() {
        let rows = varied(45_000);
        let j = |query: &str| FilterJob {
            generation: 1,
            structure: 0,
            revision: 0,
            query: query.into(),
            status: StatusFilter::All,
            now: NOW,
            records: Arc::clone(&rows),
            latest: Arc::new(AtomicU64::new(1)),
            within: None,
        };
        let broad = run(&j("a")).unwrap();
        assert!(!broad.ranked);
        assert!(broad.indices.len() > RANK_LIMIT);
        assert!(broad.indices.is_sorted());
        assert_eq!(broad.indices, nucleo_matches(&rows, "a"));
        let narrow = run(&j("needle")).unwrap();
        assert!(narrow.ranked && narrow.indices.len() <= RANK_LIMIT);
        // Best first: the best of the unsorted set is the first ranked one.
        let pos = best(&rows, &nucleo_matches(&rows, "needle"), "needle").unwrap();
        assert_eq!(nucleo_matches(&rows, "needle")[pos], narrow.indices[0]);
    }

    #[test]
    fn only_plain_extensions_narrow() {
        assert!(narrows("ab", "abc"));
        assert!(narrows("ab", "ab"));
        assert!(!narrows("", "a"));
        assert!(!narrows("abc", "ab"));
        assert!(!narrows("ab", "ab c"));
        assert!(!narrows("ab", "ab$"));
        assert!(!narrows("ab", "!ab"));
        assert!(!narrows("'ab", "'abc"));
    }

    #[test]
    fn parallel_and_single_threaded_runs_agree() {
        let all = varied(45_000);
        let small = Arc::new(all[..PARALLEL_FROM - 1].to_vec());
        let big = full(&all, "needle", StatusFilter::All);
        let one = full(&small, "needle", StatusFilter::All);
        let expect: Vec<usize> = big.iter().copied().filter(|&i| i < small.len()).collect();
        assert_eq!(one, expect);
    }
}

#[cfg(test)]
mod bench {
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;
    use std::time::Instant;

    use super::*;
    use crate::tui::fixtures::{NOW, record};

    /// 1M rows shaped like `bench/tui.sh`'s: `bench-0`/`bench-1`, random base62 ids,
    /// `env=prod team=…`, one `zqxv-needle`.
    fn rows(n: usize) -> Arc<Vec<Row>> {
        const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        Arc::new(
            (0..n)
                .map(|i| {
                    let name = if i == n / 2 {
                        "zqxv-needle".to_owned()
                    } else {
                        format!("bench-{}", i % 2)
                    };
                    let mut r = record(i, &name);
                    r.id = (0..22)
                        .map(|_| {
                            x ^= x << 13;
                            x ^= x >> 7;
                            x ^= x << 17;
                            B62[(x % 62) as usize] as char
                        })
                        .collect();
                    r.meta.insert("env".into(), "prod".into());
                    r.meta.insert("team".into(), format!("team-{}", i % 7));
                    r.into()
                })
                .collect(),
        )
    }

    #[test]
    #[ignore]
    fn bench_filter_1m() {
        let records = rows(1_000_000);
        let mut prev: Option<(String, Vec<usize>)> = None;
        for q in ["n", "ne", "nee", "need", "needl", "needle"] {
            let job = |within: Option<Arc<FilterBase>>| FilterJob {
                generation: 1,
                structure: 0,
                revision: 0,
                query: q.into(),
                status: StatusFilter::All,
                now: NOW,
                records: Arc::clone(&records),
                latest: Arc::new(AtomicU64::new(1)),
                within,
            };
            let t = Instant::now();
            let fresh = run(&job(None)).unwrap().indices;
            let full_ms = t.elapsed().as_secs_f64() * 1e3;
            let within = prev.take().map(|(_, m)| {
                Arc::new(FilterBase {
                    matches: m.iter().map(|&i| i as u32).collect(),
                    len: records.len(),
                })
            });
            let t = Instant::now();
            let narrowed = run(&job(within)).unwrap().indices;
            let narrow_ms = t.elapsed().as_secs_f64() * 1e3;
            assert_eq!(fresh.len(), narrowed.len());
            println!(
                "BENCH {q:<7} matches {:>8}  full {full_ms:7.1} ms  typed (narrowing) {narrow_ms:7.1} ms",
                fresh.len()
            );
            if q == "n" {
                let t = Instant::now();
                let pos = best(&records, &narrowed, q);
                let ms = t.elapsed().as_secs_f64() * 1e3;
                println!(
                    "BENCH Enter on unranked `n`: best() over {} rows {ms:.1} ms ({pos:?})",
                    narrowed.len()
                );
            }
            prev = Some((q.into(), narrowed));
        }
    }
}
