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
use super::state::FilterJob;

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

/// Indices of the matching records, best match first (ties keep newest first); `None` when
/// a newer job made this one pointless.
pub fn run(job: &FilterJob) -> Option<Vec<usize>> {
    let pattern = Pattern::parse(&job.query, CaseMatching::Smart, Normalization::Smart);
    let records = &job.records[..];
    // The candidates: every row, or the previous matches plus the rows appended since.
    let owned: Vec<usize>;
    let candidates: Candidates<'_> = match &job.within {
        Some(w) => {
            let mut c: Vec<usize> = w.matches.iter().copied().filter(|&i| i < w.len).collect();
            c.sort_unstable();
            c.extend(w.len..records.len());
            owned = c;
            Candidates::Some(&owned)
        }
        None => Candidates::All(records.len()),
    };
    let n = candidates.len();
    let threads = if n < PARALLEL_FROM {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |p| p.get().min(8))
    };
    let per = n.div_ceil(threads.max(1)).max(1);
    let parts: Vec<Option<Vec<u64>>> = if threads <= 1 {
        vec![score(job, &pattern, records, &candidates, 0..n)]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let range = (t * per).min(n)..((t + 1) * per).min(n);
                    let (pattern, candidates) = (&pattern, &candidates);
                    s.spawn(move || score(job, pattern, records, candidates, range))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().ok().flatten())
                .collect()
        })
    };
    let mut keys: Vec<u64> = Vec::with_capacity(parts.iter().flatten().map(Vec::len).sum());
    for part in parts {
        keys.extend(part?);
    }
    if job.latest.load(Ordering::Relaxed) != job.generation {
        return None;
    }
    // Best score first, then lowest index (newest): one packed integer sorts fastest.
    keys.sort_unstable();
    Some(
        keys.into_iter()
            .map(|k| (k & 0xffff_ffff) as usize)
            .collect(),
    )
}

enum Candidates<'a> {
    All(usize),
    Some(&'a [usize]),
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
            Candidates::Some(v) => v[k],
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
    use crate::tui::state::{FilterBase, StatusFilter};

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
        assert_eq!(run(&job(10_000, 2, 2)).map(|v| v.len()), Some(10_000));
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
        run(&j).unwrap()
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
                            matches: before,
                            len: appended_from,
                        })),
                    };
                    assert_eq!(run(&j).unwrap(), full(&all, new, status), "{n} {old}→{new}");
                }
            }
        }
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
