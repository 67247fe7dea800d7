//! Rotation under concurrency, against real Redis (standalone and cluster): two rotations
//! of one key at once leave exactly one successor, linked by `rotated_to`; the loser
//! leaves no key behind.

use crate::common::Target;
use crate::common::data::store;

use std::time::Duration;

use keytui::error::Error;
use keytui::store::{CreateRequest, RotateRequest};

on_both!(concurrent_rotations_leave_one_successor);

async fn concurrent_rotations_leave_one_successor(t: Target) {
    let s = store(t, "rotrace").await;
    for _ in 0..5 {
        let old = s.create(&CreateRequest::new("svc")).await.unwrap();
        let id = old.record.id.clone();
        let req = RotateRequest::new(Duration::from_secs(60));
        let (a, b) = tokio::join!(s.rotate(&id, &req), s.rotate(&id, &req));
        let (won, lost) = match (a, b) {
            (Ok(w), Err(l)) | (Err(l), Ok(w)) => (w, l),
            (a, b) => panic!("not exactly one rotation: {a:?} / {b:?}"),
        };
        assert!(
            matches!(&lost, Error::Conflict(m) if m.contains("already rotated")),
            "{lost}"
        );
        let stored = s.get(&id).await.unwrap();
        assert_eq!(
            stored.rotated_to.as_deref(),
            Some(won.created.record.id.as_str())
        );
        // the old key and its one successor, nothing else, per round
        let all = s.list_all(|_, _| {}).await.unwrap();
        let successors = all
            .records
            .iter()
            .filter(|r| r.rotated_from.as_deref() == Some(id.as_str()))
            .count();
        assert_eq!(successors, 1);
    }
}
