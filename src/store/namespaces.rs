//! The namespaces of a Redis (`keytui namespaces`): every `{*}:meta` hash on every master,
//! with its mode, production mark and key count.

use std::collections::BTreeMap;

use redis::AsyncCommands;

use crate::error::Result;
use crate::layout::{Namespace, meta_field};

use super::*;

/// A namespace found in Redis by [`Store::namespaces`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct NamespaceInfo {
    pub name: String,
    /// `hash`, `sealed` or `plain` (as stored; `None` when the meta hash has none).
    pub mode: Option<String>,
    pub production: bool,
    /// Entries of its index.
    pub keys: usize,
    pub layout: Option<String>,
}

impl Store {
    /// The namespaces of this Redis: every `{*}:meta` hash, found with `SCAN ... TYPE hash`
    /// on each master (`masters`, from [`Store::master_urls`]), with its mode, production
    /// mark and number of indexed keys. Sorted by name.
    pub async fn namespaces(&self, masters: &[String]) -> Result<Vec<NamespaceInfo>> {
        let mut names = Vec::new();
        for url in masters {
            let mut c = self.connect_node(url).await?;
            let mut cursor: u64 = 0;
            loop {
                let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg("{*}:meta")
                    .arg("COUNT")
                    .arg(1000)
                    .arg("TYPE")
                    .arg("hash")
                    .query_async(&mut c)
                    .await?;
                names.extend(keys.iter().filter_map(|k| {
                    let name = k.strip_prefix('{')?.strip_suffix("}:meta")?;
                    Namespace::new(name).ok()
                }));
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        names.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        names.dedup();
        let mut out = Vec::with_capacity(names.len());
        let mut c = self.conn.clone();
        for ns in names {
            let meta: BTreeMap<String, String> = c.hgetall(ns.meta_key()).await?;
            let keys: usize = c.zcard(ns.index_key()).await?;
            out.push(NamespaceInfo {
                name: ns.as_str().to_owned(),
                mode: meta.get(meta_field::MODE).cloned(),
                production: meta.get(meta_field::PRODUCTION).map(String::as_str) == Some("1"),
                keys,
                layout: meta.get(meta_field::LAYOUT).cloned(),
            });
        }
        Ok(out)
    }
}
