//! The fuzzy filter (nucleo-matcher over name, id and metadata). Pure and CPU-bound: the
//! event loop runs it in `spawn_blocking`, never on the render path.

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};

use super::state::FilterJob;

/// Indices of the matching records, best match first (ties keep newest first).
pub fn run(job: &FilterJob) -> Vec<usize> {
    let pattern = Pattern::parse(&job.query, CaseMatching::Smart, Normalization::Smart);
    let mut matcher = Matcher::new(Config::DEFAULT);
    let mut buf = Vec::new();
    let mut hay = String::new();
    let mut scored: Vec<(u32, usize)> = Vec::new();
    for (i, r) in job.records.iter().enumerate() {
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
    scored.into_iter().map(|(_, i)| i).collect()
}
