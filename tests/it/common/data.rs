//! Test data: namespaces no other test uses, and connections and stores on a [`Target`].
//!
//! Every test that shares a server isolates itself with [`unique_namespace`]; nothing here
//! flushes, reconfigures or counts a whole server.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use keytui::conn::{self, Conn, ConnectOptions};
use keytui::layout::Namespace;
use keytui::store::Store;

use super::target::Target;

/// The actor of every [`store`] (events record it).
pub const ACTOR: &str = "tester";

/// A namespace no other test (thread or process) uses: `TAG-PID-COUNTER-RANDOM`.
///
/// Only `[A-Za-z0-9_.-]`; other characters of `tag` become `_`.
pub fn unique_namespace(tag: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tag: String = tag
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(n);
    if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(d.as_nanos());
    }
    let random = hasher.finish() as u32;
    format!("{tag}-{}-{n}-{random:08x}", std::process::id())
}

/// A fresh [`unique_namespace`] as a [`Namespace`].
pub fn namespace(tag: &str) -> Namespace {
    Namespace::new(&unique_namespace(tag)).expect("a unique namespace is valid")
}

/// A connection to `url` (cluster mode detected by keytui).
pub async fn raw_at(url: &str) -> Conn {
    conn::connect(&ConnectOptions::new(url))
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"))
}

/// A connection to the target's shared server or cluster, checked to be of its kind.
pub async fn raw(t: Target) -> Conn {
    let conn = raw_at(&t.url()).await;
    assert_eq!(conn.is_cluster(), matches!(t, Target::Cluster));
    conn
}

/// A store on a fresh namespace of the target, acting as [`ACTOR`].
pub async fn store(t: Target, tag: &str) -> Store {
    Store::new(raw(t).await, namespace(tag)).with_actor(ACTOR)
}
