//! Unit tests of the filter: narrowing, the cheap pass against nucleo, ranking limits.

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

fn full(records: &Arc<Vec<Row>>, query: &str, status: StatusFilter) -> Vec<u32> {
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
                        matches: before.clone(),
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
fn nucleo_matches(records: &[Row], query: &str) -> Vec<u32> {
    let pattern = Pattern::parse(query, CaseMatching::Smart, Normalization::Smart);
    let mut matcher = Matcher::new(Config::DEFAULT);
    let mut buf = Vec::new();
    (0..records.len())
        .filter(|&i| {
            let hay = Utf32Str::new(records[i].haystack(), &mut buf);
            pattern.score(hay, &mut matcher).is_some()
        })
        .map(|i| i as u32)
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
        "a", "al", "alb", "needle", "nEe", "Be", "BETA", "ab-", "ue", "e-n", "svc", "k0", "x9fq",
        "X9fQ", "team=", "fil", "zzz", "unicode", "ete", "a b", "^al", "le$", "'eta", "!beta", "é",
        "ß",
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
    let expect: Vec<u32> = big
        .iter()
        .copied()
        .filter(|&i| (i as usize) < small.len())
        .collect();
    assert_eq!(one, expect);
}
