//! The audit log (`{ns}:events`): appending an event to a write, and reading it back
//! (recent, after a cursor, one key's history, blocking waits for the TUI).

use std::collections::HashMap;
use std::time::Duration;

use crate::conn::Conn;
use crate::error::Result;
use crate::layout::{EVENTS_MAXLEN, HISTORY_MAXLEN, Namespace};
use crate::record::{UnixMs, now_ms};

use super::*;

/// One entry of the audit log / change feed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Event {
    /// The stream entry id (`<ms>-<seq>`), usable as a cursor.
    pub cursor: String,
    pub op: String,
    pub id: String,
    pub actor: String,
    pub at: UnixMs,
    pub detail: Option<String>,
}

/// A stream entry's fields as stored: read as bytes, so that one entry another program
/// wrote with invalid UTF-8 cannot make the whole audit log unreadable.
pub(super) type RawFields = HashMap<Vec<u8>, Vec<u8>>;

pub(super) fn parse_event((cursor, raw): (String, RawFields)) -> Event {
    let f = lossy(raw);
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    Event {
        at: get("at").parse().unwrap_or(0),
        op: get("op"),
        id: get("id"),
        actor: get("actor"),
        detail: f.get("detail").cloned(),
        cursor,
    }
}

impl Store {
    pub(crate) async fn event(&self, op: &str, id: &str, detail: Option<&str>) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        self.push_event(&mut pipe, &self.ns.events_key(), op, id, detail);
        pipe.query_async::<()>(&mut self.conn.clone()).await?;
        Ok(())
    }

    /// Queues the `XADD` of one event and its copy in the history of each key it concerns
    /// (the key, and for `rotate` also the new key); a `delete` removes the key's history
    /// instead. Every key written is in the `{ns}` slot: use an atomic pipeline.
    pub(super) fn push_event(
        &self,
        pipe: &mut redis::Pipeline,
        events: &str,
        op: &str,
        id: &str,
        detail: Option<&str>,
    ) {
        let at = now_ms();
        let mut fields: Vec<(&str, &str)> = vec![("op", op), ("id", id), ("actor", &self.actor)];
        let at_text = at.to_string();
        fields.push(("at", &at_text));
        if let Some(d) = detail {
            fields.push(("detail", d));
        }
        pipe.cmd("XADD")
            .arg(events)
            .arg("MAXLEN")
            .arg("~")
            .arg(EVENTS_MAXLEN)
            .arg("*")
            .arg(&fields)
            .ignore();
        let mut concerned = vec![id];
        if op == "rotate"
            && let Some(new) = detail
        {
            concerned.push(new);
        }
        for key in concerned.into_iter().filter(|k| !k.is_empty()) {
            let history = self.ns.history_key(key);
            if op == "delete" && key == id {
                pipe.del(history).ignore();
            } else {
                pipe.cmd("XADD")
                    .arg(history)
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(HISTORY_MAXLEN)
                    .arg("*")
                    .arg(&fields)
                    .ignore();
            }
        }
    }

    /// Every event of one key, oldest first, however old: its history stream, and when that
    /// does not begin with the key's creation (keys created before keytui kept histories),
    /// the key's older entries still in `{ns}:events`.
    pub async fn key_events(&self, id: &str) -> Result<Vec<Event>> {
        let raw: Vec<(String, RawFields)> = redis::cmd("XRANGE")
            .arg(self.ns.history_key(id))
            .arg("-")
            .arg("+")
            .query_async(&mut self.conn.clone())
            .await?;
        let mut events: Vec<Event> = raw.into_iter().map(parse_event).collect();
        if events.first().is_some_and(|e| e.op == "create") {
            return Ok(events);
        }
        // Older entries of the namespace's stream, newest first, up to the key's creation.
        let concerns =
            |e: &Event| e.id == id || (e.op == "rotate" && e.detail.as_deref() == Some(id));
        let mut older = Vec::new();
        let mut end = events
            .first()
            .map(|e| e.cursor.clone())
            .unwrap_or_else(|| "+".to_owned());
        'scan: loop {
            let raw: Vec<(String, RawFields)> = redis::cmd("XREVRANGE")
                .arg(self.ns.events_key())
                .arg(&end)
                .arg("-")
                .arg("COUNT")
                .arg(HISTORY_SCAN)
                .query_async(&mut self.conn.clone())
                .await?;
            let n = raw.len();
            for e in raw.into_iter().map(parse_event) {
                end = format!("({}", e.cursor);
                if concerns(&e) {
                    let created = e.op == "create" && e.id == id;
                    older.push(e);
                    if created {
                        break 'scan;
                    }
                }
            }
            if n < HISTORY_SCAN {
                break;
            }
        }
        let same = |a: &Event, b: &Event| {
            (a.at, &a.op, &a.id, &a.actor, &a.detail) == (b.at, &b.op, &b.id, &b.actor, &b.detail)
        };
        older.retain(|o| !events.iter().any(|e| same(o, e)));
        older.reverse();
        older.append(&mut events);
        Ok(older)
    }

    /// The newest `count` events, oldest first.
    pub async fn recent_events(&self, count: usize) -> Result<Vec<Event>> {
        let raw: Vec<(String, RawFields)> = redis::cmd("XREVRANGE")
            .arg(self.ns.events_key())
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut self.conn.clone())
            .await?;
        let mut events: Vec<Event> = raw.into_iter().map(parse_event).collect();
        events.reverse();
        Ok(events)
    }

    /// Events after a cursor, oldest first (at most `count`).
    pub async fn events_after(&self, cursor: &str, count: usize) -> Result<Vec<Event>> {
        let raw: Vec<(String, RawFields)> = redis::cmd("XRANGE")
            .arg(self.ns.events_key())
            .arg(format!("({cursor}"))
            .arg("+")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(raw.into_iter().map(parse_event).collect())
    }

    /// The cursor of the oldest event still in the stream, if any: a follower whose
    /// cursor is older has missed events and must reload.
    pub async fn oldest_event_cursor(&self) -> Result<Option<String>> {
        let raw: Vec<(String, RawFields)> = redis::cmd("XRANGE")
            .arg(self.ns.events_key())
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(raw.into_iter().next().map(|(c, _)| c))
    }

    /// The cursor of the newest event, `0-0` when there is none.
    pub async fn last_event_cursor(&self) -> Result<String> {
        let raw: Vec<(String, RawFields)> = redis::cmd("XREVRANGE")
            .arg(self.ns.events_key())
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(raw
            .into_iter()
            .next()
            .map(|(c, _)| c)
            .unwrap_or_else(|| "0-0".into()))
    }

    /// Waits up to `block` for events after `cursor`. Use a connection made with
    /// [`crate::conn::connect_blocking`]: the ordinary one times out first.
    pub async fn wait_events(
        conn: &mut Conn,
        ns: &Namespace,
        cursor: &str,
        block: Duration,
        count: usize,
    ) -> Result<Vec<Event>> {
        type Reply = Option<Vec<(String, Vec<(String, RawFields)>)>>;
        let reply: Reply = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(count)
            .arg("BLOCK")
            .arg(block.as_millis() as u64)
            .arg("STREAMS")
            .arg(ns.events_key())
            .arg(cursor)
            .query_async(conn)
            .await?;
        Ok(reply
            .into_iter()
            .flatten()
            .flat_map(|(_, entries)| entries)
            .map(parse_event)
            .collect())
    }

    // ---- doctor ---------------------------------------------------------------------
}
