//! One command per record, pipelined in batches: on a cluster one pipeline per master
//! (all masters at once, redirections retried). Knows nothing of what the commands read.

use std::collections::HashMap;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use redis::Value;

use crate::conn::SlotOwners;
use crate::error::{Error, Result};
use crate::store::*;

/// Record keys (with their position in the query) and the replies of their pipeline;
/// `None` when the pipeline met a moved slot.
type KeyedReplies = (Vec<(usize, String)>, Option<Vec<Value>>);

/// A reply that says the key is served elsewhere (or not yet).
fn is_redirect(code: &str) -> bool {
    matches!(code, "MOVED" | "ASK" | "TRYAGAIN" | "CLUSTERDOWN")
}

/// Fails on the first error reply other than `WRONGTYPE` (which the reader of that one
/// record reports as a malformed record).
fn check_replies(replies: &[Value]) -> Result<()> {
    for v in replies {
        if let Value::ServerError(e) = v
            && e.code() != "WRONGTYPE"
        {
            return Err(Error::from(redis::RedisError::from(e.clone())));
        }
    }
    Ok(())
}

impl Store {
    // ---- change ---------------------------------------------------------------------

    /// The `HGETALL` replies of the given ids, in order.
    pub(crate) async fn fetch_raw(&self, ids: &[String]) -> Result<Vec<Value>> {
        self.query_each(ids, |key| {
            let mut cmd = redis::cmd("HGETALL");
            cmd.arg(key);
            cmd
        })
        .await
    }

    /// One command per record (built from its key), replies in order, pipelined in
    /// batches: on a cluster one pipeline per master (all masters at once), each holding the
    /// commands of the keys that master serves. A record key of another type (`WRONGTYPE`,
    /// written by another program) gives that record's reply as a [`Value::ServerError`]
    /// instead of failing the others; any other error fails the whole query.
    pub(crate) async fn query_each(
        &self,
        ids: &[String],
        command: impl Fn(String) -> redis::Cmd,
    ) -> Result<Vec<Value>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // The gate's check, once, before the connection is used without it below.
        self.conn.check().await?;
        if !self.conn.is_cluster() {
            // The pipelines go out together over the multiplexed connection: the server
            // works on one while the client reads the previous one's replies.
            // (Chunks by index: a closure over borrowed chunks would not be `Send` for
            // every lifetime, which `tokio::spawn` of `list_each`'s reader needs.)
            let command = &command;
            let parts: Vec<Vec<Value>> = futures::stream::iter((0..ids.len()).step_by(BATCH))
                .map(|start| {
                    let chunk = &ids[start..ids.len().min(start + BATCH)];
                    let mut pipe = redis::Pipeline::with_capacity(chunk.len());
                    for id in chunk {
                        pipe.add_command(command(self.ns.record_key(id)));
                    }
                    let mut c = self.conn.inner();
                    async move {
                        let replies = c.pipeline_to_slot(pipe, 0).await?;
                        check_replies(&replies)?;
                        Ok::<_, Error>(replies)
                    }
                })
                .buffered(PIPELINES_IN_FLIGHT)
                .try_collect()
                .await?;
            return Ok(parts.into_iter().flatten().collect());
        }
        // A cluster: group by master, one pipeline per master and batch, all at once.
        let owners = self.slot_owners().await?;
        let mut groups: HashMap<u16, Vec<(usize, String)>> = HashMap::new();
        for (i, id) in ids.iter().enumerate() {
            let key = self.ns.record_key(id);
            groups.entry(owners.route(&key)).or_default().push((i, key));
        }
        let mut batches = Vec::new();
        for (slot, mut keys) in groups {
            while !keys.is_empty() {
                let rest = keys.split_off(keys.len().min(BATCH));
                batches.push((slot, std::mem::replace(&mut keys, rest)));
            }
        }
        let command = &command;
        let answered: Vec<KeyedReplies> = futures::stream::iter(batches)
            .map(|(slot, keys)| {
                let mut pipe = redis::Pipeline::with_capacity(keys.len());
                for (_, key) in &keys {
                    pipe.add_command(command(key.clone()));
                }
                let mut c = self.conn.inner();
                async move {
                    match c.pipeline_to_slot(pipe, slot).await {
                        Ok(replies) => Ok((keys, Some(replies))),
                        // The client followed a redirection with the whole pipeline and
                        // gave up: the keys are not all on one master any more.
                        Err(e) if e.code().is_some_and(is_redirect) => Ok((keys, None)),
                        Err(e) => Err(Error::from(e)),
                    }
                }
            })
            .buffer_unordered(CLUSTER_PIPELINES_IN_FLIGHT)
            .try_collect()
            .await?;
        let mut out = vec![Value::Nil; ids.len()];
        let mut moved = Vec::new();
        for (keys, replies) in answered {
            let Some(replies) = replies else {
                moved.extend(keys);
                continue;
            };
            if replies.len() != keys.len() {
                return Err(Error::Redis(format!(
                    "a pipeline of {} commands got {} replies",
                    keys.len(),
                    replies.len()
                )));
            }
            for ((i, key), v) in keys.into_iter().zip(replies) {
                match &v {
                    Value::ServerError(e) if is_redirect(e.code()) => moved.push((i, key)),
                    _ => out[i] = v,
                }
            }
        }
        if !moved.is_empty() {
            // The slots moved since they were read: read them again next time, and send
            // these commands one by one (the client follows the redirections).
            *self.slots.lock().unwrap_or_else(|e| e.into_inner()) = None;
            let again: Vec<(usize, Value)> = futures::stream::iter(moved)
                .map(|(i, key)| {
                    let mut c = self.conn.inner();
                    let cmd = command(key);
                    async move {
                        match cmd.query_async::<Value>(&mut c).await {
                            Ok(v) => Ok((i, v)),
                            Err(e) if is_wrong_type(&e) => Ok((
                                i,
                                e.into_server_errors()
                                    .and_then(|errs| errs.first().map(|(_, e)| e.clone()))
                                    .map_or(Value::Nil, Value::ServerError),
                            )),
                            Err(e) => Err(Error::from(e)),
                        }
                    }
                })
                .buffer_unordered(CLUSTER_CONCURRENCY)
                .try_collect()
                .await?;
            for (i, v) in again {
                out[i] = v;
            }
        }
        check_replies(&out)?;
        Ok(out)
    }

    /// The cluster's slot owners, read once per store (and again after a redirection).
    async fn slot_owners(&self) -> Result<Arc<SlotOwners>> {
        if let Some(o) = self.slots.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(o);
        }
        let owners = Arc::new(SlotOwners::read(&mut self.conn.inner()).await?);
        *self.slots.lock().unwrap_or_else(|e| e.into_inner()) = Some(owners.clone());
        Ok(owners)
    }
}
