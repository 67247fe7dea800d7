//! Creation order and per-key history against real Redis, on a standalone server and on a
//! 3-master cluster: keys created in the same millisecond list in the order they were
//! created, and a key's whole history is readable however many events came after it.

use crate::common::Target;
use crate::common::data::{ACTOR, store};

use keytui::store::{CreateRequest, RotateRequest, Store};

on_both!(
    same_millisecond_keys_list_in_creation_order,
    a_key_history_reaches_back_past_the_event_stream,
);

async fn same_millisecond_keys_list_in_creation_order(t: Target) {
    let s = store(t, "order").await;
    // One batch: hundreds of keys drawn within a few milliseconds.
    let batch = s
        .create_many(&CreateRequest::new("batch"), 600, |_| {})
        .await
        .unwrap();
    // Then one at a time, as separate commands.
    let mut created: Vec<String> = batch.iter().map(|c| c.record.id.clone()).collect();
    for i in 0..40 {
        let c = s
            .create(&CreateRequest::new(format!("one-{i}")))
            .await
            .unwrap();
        created.push(c.record.id);
    }
    let same_ms = batch
        .windows(2)
        .filter(|w| w[0].record.created_at == w[1].record.created_at)
        .count();
    assert!(
        same_ms > 0,
        "no two keys shared a millisecond: the test proves nothing"
    );
    let listed = s.page_ids(0, 1_000).await.unwrap();
    created.reverse();
    assert_eq!(listed, created, "not newest first in creation order");

    // Readers that take the score as created_at still can: its integer part is.
    let mut c = s.conn();
    for r in batch.iter().take(50) {
        let score: f64 = redis::cmd("ZSCORE")
            .arg(s.namespace().index_key())
            .arg(&r.record.id)
            .query_async(&mut c)
            .await
            .unwrap();
        assert_eq!(score.floor() as i64, r.record.created_at);
    }
}

async fn ops(s: &Store, id: &str) -> Vec<String> {
    s.key_events(id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.op)
        .collect()
}

async fn a_key_history_reaches_back_past_the_event_stream(t: Target) {
    let s = store(t, "history").await;
    let ns = s.namespace().clone();
    let old = s
        .create(&CreateRequest::new("old"))
        .await
        .unwrap()
        .record
        .id;
    s.revoke(&old, Some("early")).await.unwrap();
    s.restore(&old).await.unwrap();
    // The namespace's stream loses everything about the key (trimmed, as a busy namespace's
    // 100,000-entry stream would be): its history keeps it.
    let mut c = s.conn();
    let () = redis::cmd("XTRIM")
        .arg(ns.events_key())
        .arg("MAXLEN")
        .arg(0)
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(ops(&s, &old).await, ["create", "revoke", "restore"]);
    let events = s.key_events(&old).await.unwrap();
    assert_eq!(events[1].detail.as_deref(), Some("early"));
    assert_eq!(events[1].actor, ACTOR);

    // Rotation shows in both keys' histories.
    let new = s
        .rotate(
            &old,
            &RotateRequest::new(std::time::Duration::from_secs(60)),
        )
        .await
        .unwrap()
        .created
        .record
        .id;
    assert_eq!(
        ops(&s, &old).await,
        ["create", "revoke", "restore", "rotate"]
    );
    assert_eq!(ops(&s, &new).await, ["create", "rotate"]);

    // A key from before histories (none written): its events come from the stream, once.
    let legacy = s
        .create(&CreateRequest::new("legacy"))
        .await
        .unwrap()
        .record
        .id;
    s.revoke(&legacy, None).await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg(ns.history_key(&legacy))
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(ops(&s, &legacy).await, ["create", "revoke"]);
    // ... and with a history begun later (only the newest events): no duplicates.
    s.restore(&legacy).await.unwrap();
    assert_eq!(ops(&s, &legacy).await, ["create", "revoke", "restore"]);

    // Delete cleans the history up; bulk delete too.
    s.delete(&new).await.unwrap();
    s.delete_many(std::slice::from_ref(&legacy), |_| {})
        .await
        .unwrap();
    for id in [&new, &legacy] {
        let exists: i64 = redis::cmd("EXISTS")
            .arg(ns.history_key(id))
            .query_async(&mut c)
            .await
            .unwrap();
        assert_eq!(exists, 0, "history of deleted {id} left behind");
    }
}
