//! The 1M-row filter timing (`cargo test --release --lib bench_filter_1m -- --ignored`).

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
    let mut prev: Option<(String, Vec<u32>)> = None;
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
                matches: m.clone(),
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
