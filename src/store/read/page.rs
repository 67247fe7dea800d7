//! Paging the index by score and id (never by offset), for long-running readers such as
//! the TUI loader whose pages others' deletes must not shift.

use crate::error::Result;
use crate::store::*;

impl Store {
    // ---- paging that others' writes do not shift (long-running readers: the TUI) ----

    /// Up to `limit` ids of the index after `after` (`None`: from the newest), newest
    /// first, and where the next page starts (`None`: the index is exhausted). Pages by
    /// score and id, not by offset, so keys deleted meanwhile by another client never shift
    /// a later page past keys not yet read; equal scores (old data) are told apart by id,
    /// which Redis orders in reverse for `ZREVRANGEBYSCORE`. Keys added meanwhile may or may
    /// not be in a later page (a reader follows the change feed for those).
    pub async fn page_after(
        &self,
        after: Option<&IndexPos>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<IndexPos>)> {
        let limit = limit.max(1);
        // Entries at the last score already returned come back too: ask for that many more.
        let (max, skip) = match after {
            None => ("+inf".to_owned(), 0),
            Some(p) => (p.score.to_string(), p.tied),
        };
        let raw: Vec<(String, f64)> = redis::cmd("ZREVRANGEBYSCORE")
            .arg(self.ns.index_key())
            .arg(max)
            .arg("-inf")
            .arg("WITHSCORES")
            .arg("LIMIT")
            .arg(0)
            .arg(limit + skip)
            .query_async(&mut self.conn.clone())
            .await?;
        let exhausted = raw.len() < limit + skip;
        let seen = |(id, score): &(String, f64)| {
            after.is_some_and(|p| *score == p.score && id.as_str() >= p.id.as_str())
        };
        let mut ids = Vec::new();
        let mut last: Option<&(String, f64)> = None;
        let mut read = 0;
        for entry in &raw {
            if ids.len() == limit {
                break;
            }
            read += 1;
            if !seen(entry) {
                ids.push(entry.0.clone());
                last = Some(entry);
            }
        }
        let next = match last {
            Some((id, score)) => Some(IndexPos {
                score: *score,
                id: id.clone(),
                tied: raw[..read].iter().filter(|(_, s)| s == score).count(),
            }),
            // Nothing new in a full answer (others added entries at that very score):
            // ask for more next time.
            None => after.map(|p| IndexPos {
                tied: raw.len(),
                ..p.clone()
            }),
        };
        let more = !exhausted || ids.len() == limit && read < raw.len();
        Ok((ids, if more { next } else { None }))
    }
}

/// Where [`Store::page_after`] goes on: the last entry returned, and how many entries with
/// its score it has returned (or skipped) so far.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexPos {
    score: f64,
    id: String,
    tied: usize,
}
