//! Fixed fake records and a fixed "now" for update and snapshot tests.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::keygen::Secret;
use crate::record::{KeyRecord, SecretAlg};
use crate::store::{Created, Mode};

use super::keymap::Keymap;
use super::state::{Msg, ServerInfo, State, update};

/// 2027-01-15T08:00:00Z.
pub const NOW: i64 = 1_800_000_000_000;
pub const DAY: i64 = 86_400_000;

pub fn record(i: usize, name: &str) -> KeyRecord {
    KeyRecord {
        id: format!("K{i:02}x9fQ2mZ7pL4tR8"),
        name: name.to_owned(),
        revoked: false,
        secret_alg: SecretAlg::Sha256,
        sealed: false,
        token_prefix: None,
        token_checksum: true,
        created_at: NOW - (i as i64 + 1) * DAY,
        created_by: "alice@laptop".into(),
        expires_at: None,
        revoked_at: None,
        revoked_reason: None,
        last_used_at: None,
        meta: BTreeMap::new(),
        rotated_from: None,
        rotated_to: None,
        damage: Vec::new(),
    }
}

/// Six keys, newest first: active, revoked, expired, expiring, used, with metadata.
pub fn records() -> Vec<KeyRecord> {
    let mut v = vec![
        record(0, "billing-service"),
        record(1, "search-worker"),
        record(2, "payments-webhook"),
        record(3, "mobile-app"),
        record(4, "analytics-export"),
        record(5, "partner-acme"),
    ];
    v[1].revoked = true;
    v[1].revoked_at = Some(NOW - DAY / 2);
    v[1].revoked_reason = Some("leaked in a CI log".into());
    v[2].expires_at = Some(NOW - 3 * DAY);
    v[3].expires_at = Some(NOW + 30 * DAY);
    v[3].last_used_at = Some(NOW - 2 * 3_600_000);
    v[4].meta.insert("owner".into(), "team-data".into());
    v[4].meta.insert("scopes".into(), "read".into());
    v[5].token_prefix = Some("sk_live".into());
    v[5].name = "partner-\u{1b}[31macme".into();
    v
}

pub fn server() -> ServerInfo {
    ServerInfo {
        url: "redis://:***@redis.example:6379".into(),
        namespace: "prod".into(),
        cluster: false,
        mode: Some(Mode::Hash),
        production: false,
    }
}

/// A state with the six records loaded, at 80x24.
pub fn state() -> State {
    let mut s = State::new(server(), Keymap::default(), 45, NOW);
    let cmds = update(
        &mut s,
        Msg::FirstPage {
            load: 1,
            records: records(),
            total: 6,
            malformed: vec![],
            done: true,
        },
    );
    assert!(cmds.is_empty());
    s
}

/// [`state`] in a namespace of another storage mode, maybe marked production.
pub fn state_in(mode: Mode, production: bool) -> State {
    let mut s = state();
    update(
        &mut s,
        Msg::Server {
            cluster: false,
            mode: Some(mode),
            production,
        },
    );
    s
}

pub fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

pub fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

pub fn created() -> Created {
    let mut r = record(9, "new-key");
    r.created_at = NOW;
    r.token_prefix = Some("sk_live".into());
    Created {
        record: r,
        secret: Secret::new("S3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3t".into()),
        token: Secret::new(
            "sk_live_K09x9fQ2mZ7pL4tR8_S3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3t0AbC12".into(),
        ),
    }
}

/// Runs the filter jobs among `cmds` as the worker does and hands their answers to the
/// state.
pub fn run_filter(s: &mut State, cmds: Vec<super::state::Out>) {
    for c in cmds {
        if let super::state::Out::Filter(job) = c {
            let found = crate::tui::filter::run(&job).expect("current job");
            // As the worker does: it lets go of the records before it answers.
            let done = Msg::FilterDone {
                generation: job.generation,
                structure: job.structure,
                revision: job.revision,
                len: job.records.len(),
                query: job.query.clone(),
                visible: found.indices,
                ranked: found.ranked,
            };
            drop(job);
            update(s, done);
        }
    }
}
