//! `keytui demo`: a private `redis-server` (temporary directory, free loopback port, no
//! persistence) seeded with about fifty varied keys, and the TUI on it. The server is
//! killed on exit, on error and on panic (a Drop guard).

use std::io::Write;
use std::process::{Child, ExitCode, Stdio};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::exit::EXIT_ERROR;
use crate::open::OpenOptions;
use crate::record::now_ms;
use crate::store::{CreateRequest, Store};

/// A running private redis-server; killed when dropped.
pub struct DemoServer {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl DemoServer {
    /// Starts redis-server on a free loopback port and waits until it answers.
    pub async fn start() -> Result<Self> {
        let dir = tempfile::tempdir().map_err(|e| Error::io_doing("cannot make a temp dir", e))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| Error::io_doing("no free port", e))?;
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                Error::io_doing(
                    "cannot start redis-server (install it: apt-get install redis-server)",
                    e,
                )
            })?;
        let server = DemoServer {
            child,
            port,
            _dir: dir,
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(Error::Connect {
            url: format!("127.0.0.1:{port}"),
            reason: "redis-server did not start within 5 s".into(),
        })
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

const TEAMS: [&str; 6] = [
    "billing",
    "search",
    "payments",
    "mobile",
    "analytics",
    "support",
];
const KINDS: [&str; 9] = [
    "service",
    "worker",
    "webhook",
    "cron",
    "ci",
    "partner",
    "dashboard",
    "gateway",
    "export",
];

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// When demo key `i` was made: spread over the last six months (not in creation order), so
/// that the "unused for 90 days" view has keys in it, and before the past expiry of the
/// expired ones.
fn demo_created_at(i: usize, now: i64, expired_at: Option<i64>) -> i64 {
    let age = ((i as i64 * 53) % 179 + 1) * DAY + ((i as i64 * 7) % 24) * HOUR;
    let created = now - age;
    match expired_at {
        Some(exp) => created.min(exp - 14 * DAY),
        None => created,
    }
}

/// When demo key `i` was last used, if ever: most within the last day, some days or months
/// ago, a few never; always after creation and before a past expiry.
fn demo_last_used_at(i: usize, now: i64, created: i64, expired_at: Option<i64>) -> Option<i64> {
    if i % 4 == 3 {
        return None;
    }
    let ago = if i % 5 == 0 {
        ((i as i64 * 13) % 150 + 1) * DAY
    } else {
        ((i as i64 * 17) % 96 + 1) * 15 * 60_000
    };
    let mut used = (now - ago).max(created + HOUR);
    if let Some(exp) = expired_at {
        used = used.min(exp - HOUR);
    }
    (used > created && used < now).then_some(used)
}

/// Seeds about fifty keys: active, revoked with reasons, expired, expiring, with metadata,
/// made over the last six months and some recently used. Creation times and use are written
/// directly after creating (record field and index score together, as the layout
/// requires); the namespace is not marked production.
pub async fn seed(store: &Store) -> Result<()> {
    store.ensure_meta().await?;
    let now = now_ms();
    let mut revoke = Vec::new();
    for i in 0..50usize {
        let team = TEAMS[i % TEAMS.len()];
        let kind = KINDS[(i * 7) % KINDS.len()];
        let mut req = CreateRequest::new(format!("{team}-{kind}-{i:02}"));
        req.meta.insert("owner".into(), format!("team-{team}"));
        req.meta.insert(
            "env".into(),
            if i % 3 == 0 { "staging" } else { "prod" }.into(),
        );
        if i % 4 == 0 {
            req.meta.insert("scopes".into(), "read,write".into());
        }
        if i % 5 == 1 {
            req.prefix = Some(if i % 2 == 0 { "sk_live" } else { "pk_test" }.into());
        }
        req.expires_at = match i % 10 {
            3 => Some(now + 3 * 3_600_000),
            4 => Some(now + 30 * 86_400_000),
            5 => Some(now + 365 * 86_400_000),
            _ => None,
        };
        let created = store.create(&req).await?;
        let id = &created.record.id;
        // Expired: a past expiry is written directly (create refuses one).
        let expired_at = matches!(i % 10, 2 | 7).then(|| now - (i as i64 + 1) * DAY);
        let created_at = demo_created_at(i, now, expired_at);
        let last_used = demo_last_used_at(i, now, created_at, expired_at);
        store
            .backdate(id, created_at, expired_at, last_used)
            .await?;
        if i % 8 == 6 {
            revoke.push((created.record.id, i));
        }
    }
    let reasons = [
        "leaked in a CI log",
        "employee left",
        "replaced by a scoped key",
        "partner contract ended",
    ];
    for (id, i) in revoke {
        store.revoke(&id, Some(reasons[i % reasons.len()])).await?;
    }
    Ok(())
}

/// Runs `keytui demo`.
pub async fn run(mut options: OpenOptions) -> ExitCode {
    let server = match DemoServer::start().await {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "keytui demo: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    options.url = Some(server.url());
    let seeded = async {
        let (store, _) = options.store().await?;
        seed(&store).await
    }
    .await;
    if let Err(e) = seeded {
        let _ = writeln!(std::io::stderr(), "keytui demo: seeding failed: {e}");
        return ExitCode::from(EXIT_ERROR);
    }
    let code = super::run(options).await;
    drop(server);
    code
}
