//! The fuzzy filter (nucleo-matcher over name, id and metadata). Pure and CPU-bound: the
//! event loop runs it in `spawn_blocking`, never on the render path.
//!
//! Each row keeps its haystack ready ([`Row::haystack`]); the rows are split between the
//! cores; a query that extends the previous one only looks at the previous matches (and
//! rows appended since); an outdated run stops early.
//!
//! This module holds the job and its entry points ([`run`], [`best`]); [`matcher`] holds
//! the per-range work (the cheap subsequence pass, nucleo scoring, the split between cores).

#[cfg(test)]
mod bench;
mod matcher;
#[cfg(test)]
mod tests;

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};

use self::matcher::{Candidates, parallel, score, select, sorted};
pub use self::matcher::{Needle, cheap_needle};

use std::sync::atomic::Ordering;

use super::row::Row;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crate::record::UnixMs;

/// Rows scored between two looks at whether the job is still wanted.
pub(super) const CHECK_EVERY: usize = 4096;
/// Below this many candidates one thread does it all.
pub(super) const PARALLEL_FROM: usize = 20_000;

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
    pub indices: Vec<u32>,
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
                    indices,
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
pub fn best(records: &[Row], visible: &[u32], query: &str) -> Option<usize> {
    let pattern = Pattern::parse(query, CaseMatching::Smart, Normalization::Smart);
    let best = parallel(visible.len(), |range| {
        let mut matcher = Matcher::new(Config::DEFAULT);
        let mut buf = Vec::new();
        let mut top: Option<(u32, usize)> = None;
        for k in range {
            let Some(r) = records.get(visible[k] as usize) else {
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
