//! `keytui demo`: a private `redis-server` (temporary directory, free loopback port, no
//! persistence) seeded with about fifty varied keys, and the TUI on it. The server is
//! killed on exit, on error and on panic (a Drop guard).

use std::io::Write;
use std::process::{Child, ExitCode, Stdio};
use std::time::Duration;

use crate::cli::{EXIT_ERROR, Global};
use crate::error::{Error, Result};
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
        let dir = tempfile::tempdir().map_err(|e| Error::Config(format!("temp dir: {e}")))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| Error::Config(format!("no free port: {e}")))?;
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
                Error::Config(format!(
                    "cannot start redis-server ({e}); install it (apt-get install redis-server)"
                ))
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
        Err(Error::Config(
            "redis-server did not start within 5 s".into(),
        ))
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

/// Seeds about fifty keys: active, revoked with reasons, expired, expiring, with metadata.
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
        if matches!(i % 10, 2 | 7) {
            // Expired: a past expiry is written directly (create refuses one).
            let past = now - (i as i64 + 1) * 86_400_000;
            let mut c = store.conn();
            redis::cmd("HSET")
                .arg(store.namespace().record_key(&created.record.id))
                .arg(crate::layout::field::EXPIRES_AT)
                .arg(past)
                .query_async::<()>(&mut c)
                .await?;
        }
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
pub async fn run(mut global: Global) -> ExitCode {
    let server = match DemoServer::start().await {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "keytui demo: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    global.url = Some(server.url());
    let seeded = async {
        let (store, _) = global.store(None).await?;
        seed(&store).await
    }
    .await;
    if let Err(e) = seeded {
        let _ = writeln!(std::io::stderr(), "keytui demo: seeding failed: {e}");
        return ExitCode::from(EXIT_ERROR);
    }
    let code = super::run(global, None).await;
    drop(server);
    code
}
