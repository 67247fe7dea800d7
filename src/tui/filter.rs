//! The fuzzy filter (nucleo-matcher over name, id and metadata). Pure and CPU-bound: the
//! event loop runs it in `spawn_blocking`, never on the render path.

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};

use std::sync::atomic::Ordering;

use super::state::FilterJob;

/// Indices of the matching records, best match first (ties keep newest first); `None` when
/// a newer job made this one pointless.
pub fn run(job: &FilterJob) -> Option<Vec<usize>> {
    let pattern = Pattern::parse(&job.query, CaseMatching::Smart, Normalization::Smart);
    let mut matcher = Matcher::new(Config::DEFAULT);
    let mut buf = Vec::new();
    let mut hay = String::new();
    let mut scored: Vec<(u32, usize)> = Vec::new();
    for (i, r) in job.records.iter().enumerate() {
        if i % 4096 == 4095 && job.latest.load(Ordering::Relaxed) != job.generation {
            return None;
        }
        if !job.status.admits(r.status_at(job.now)) {
            continue;
        }
        hay.clear();
        hay.push_str(&r.name);
        hay.push(' ');
        hay.push_str(&r.id);
        for (k, v) in &r.meta {
            hay.push(' ');
            hay.push_str(k);
            hay.push('=');
            hay.push_str(v);
        }
        if let Some(score) = pattern.score(Utf32Str::new(&hay, &mut buf), &mut matcher) {
            scored.push((score, i));
        }
    }
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    Some(scored.into_iter().map(|(_, i)| i).collect())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;

    use super::*;
    use crate::tui::fixtures::{NOW, record};
    use crate::tui::state::StatusFilter;

    fn job(records: usize, generation: u64, latest: u64) -> FilterJob {
        FilterJob {
            generation,
            structure: 0,
            query: "svc".into(),
            status: StatusFilter::All,
            now: NOW,
            records: Arc::new((0..records).map(|i| record(i % 90, "svc")).collect()),
            latest: Arc::new(AtomicU64::new(latest)),
        }
    }

    #[test]
    fn an_outdated_job_gives_up() {
        assert_eq!(run(&job(10_000, 1, 2)), None);
        assert_eq!(run(&job(10_000, 2, 2)).map(|v| v.len()), Some(10_000));
    }
}
