//! Connecting to Redis: URLs (with the password redacted for display), TLS, standalone or
//! cluster (detected with `INFO cluster` or forced), and one connection type for both.
//!
//! Everything else talks to Redis through [`Conn`], which implements
//! [`redis::aio::ConnectionLike`], so one code path serves a server and a cluster.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, SingleNodeRoutingInfo, SlotAddr};
use redis::{Cmd, IntoConnectionInfo, Pipeline, RedisFuture, TlsCertificates, Value};

use crate::error::{Error, Result};
use crate::redis::pipe::PipeTarget;

/// The URL used when neither an argument nor `REDIS_URL` gives one.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

/// How to reach Redis.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// One URL, or several seed nodes of a cluster.
    pub urls: Vec<String>,
    /// `Some(true)` forces cluster mode, `Some(false)` standalone, `None` detects.
    pub cluster: Option<bool>,
    /// PEM file of a private CA for `rediss://`.
    pub tls_ca: Option<PathBuf>,
    pub connect_timeout: Duration,
    pub response_timeout: Duration,
    /// Bulk reads (a listing, the TUI loading a namespace) of a standalone server without
    /// TLS go over a connection of their own ([`crate::redis::pipe`]); `false` reads them
    /// through the ordinary connection. On by default.
    pub bulk_pipe: bool,
}

impl ConnectOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            urls: vec![url.into()],
            cluster: None,
            tls_ca: None,
            connect_timeout: Duration::from_secs(3),
            response_timeout: Duration::from_secs(10),
            bulk_pipe: true,
        }
    }

    /// The first URL with its password replaced by `***`, for headers and messages.
    pub fn display_url(&self) -> String {
        self.urls.first().map(|u| redact_url(u)).unwrap_or_default()
    }

    fn certs(&self) -> Result<Option<TlsCertificates>> {
        let Some(path) = &self.tls_ca else {
            return Ok(None);
        };
        let pem = std::fs::read(path).map_err(|e| Error::io("cannot read --tls-ca", path, e))?;
        Ok(Some(TlsCertificates {
            client_tls: None,
            root_cert: Some(pem),
        }))
    }
}

/// Replaces the password of a Redis URL with `***`. Text that does not parse as a URL is
/// cut at the last `@` so that a password in it is never shown.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => match raw.rfind('@') {
            Some(at) => format!("***@{}", &raw[at + 1..]),
            None => raw.to_owned(),
        },
    }
}

/// An open connection to a standalone server or a cluster. Cheap to clone; clones share
/// the underlying multiplexed connection and reconnect on their own.
#[derive(Clone)]
pub enum Conn {
    /// A standalone server, and where its bulk reads connect (none with TLS or when
    /// [`ConnectOptions::bulk_pipe`] is off).
    Single(ConnectionManager, Option<Arc<PipeTarget>>),
    Cluster(ClusterConnection),
}

impl Conn {
    pub fn is_cluster(&self) -> bool {
        matches!(self, Conn::Cluster(_))
    }

    /// Where bulk reads open their own connection, when they may.
    pub(crate) fn pipe_target(&self) -> Option<&Arc<PipeTarget>> {
        match self {
            Conn::Single(_, target) => target.as_ref(),
            Conn::Cluster(_) => None,
        }
    }

    /// Sends a pipeline to the master that serves `slot` on a cluster (its commands may be
    /// on any slots of that master), or to the server. Replies come back as they are, errors
    /// included as [`Value::ServerError`] (a `MOVED` after a resharding too: the caller
    /// retries those commands one by one, which follows the redirection).
    pub(crate) async fn pipeline_to_slot(
        &mut self,
        pipe: Pipeline,
        slot: u16,
    ) -> redis::RedisResult<Vec<Value>> {
        match self {
            Conn::Single(c, _) => c.req_packed_commands(&pipe, 0, pipe.len()).await,
            Conn::Cluster(c) => {
                let n = pipe.len();
                let route = SingleNodeRoutingInfo::SpecificNode(Route::new(slot, SlotAddr::Master));
                c.route_pipeline(pipe, 0, n, route).await
            }
        }
    }
}

/// Which master serves each of the 16,384 slots of a cluster, as one slot of that master
/// (the first of its first range): pipelines of commands on keys of one master are routed
/// by that slot. Read with `CLUSTER SLOTS`.
pub(crate) struct SlotOwners(Box<[u16]>);

impl SlotOwners {
    pub(crate) async fn read(conn: &mut impl ConnectionLike) -> redis::RedisResult<Self> {
        let slots: Value = redis::cmd("CLUSTER").arg("SLOTS").query_async(conn).await?;
        let mut owner = vec![0u16; SLOTS].into_boxed_slice();
        let mut first: Vec<(Vec<u8>, i64, u16)> = Vec::new();
        let Value::Array(ranges) = slots else {
            return Ok(Self(owner));
        };
        for range in ranges {
            let Value::Array(r) = range else { continue };
            let (Some(Value::Int(start)), Some(Value::Int(end)), Some(Value::Array(node))) =
                (r.first(), r.get(1), r.get(2))
            else {
                continue;
            };
            let host = match node.first() {
                Some(Value::BulkString(h)) => h.clone(),
                _ => Vec::new(),
            };
            let port = match node.get(1) {
                Some(Value::Int(p)) => *p,
                _ => 0,
            };
            let (start, end) = (
                (*start).clamp(0, 16383) as u16,
                (*end).clamp(0, 16383) as u16,
            );
            let rep = match first.iter().find(|(h, p, _)| *h == host && *p == port) {
                Some((_, _, rep)) => *rep,
                None => {
                    first.push((host, port, start));
                    start
                }
            };
            for s in start..=end {
                owner[s as usize] = rep;
            }
        }
        Ok(Self(owner))
    }

    /// The slot a pipeline for `key` is routed by.
    pub(crate) fn route(&self, key: &str) -> u16 {
        self.0[key_slot(key.as_bytes()) as usize]
    }
}

const SLOTS: usize = 16384;

/// The cluster slot of a key: CRC16 (XMODEM) of its hash tag (the text between the first
/// `{` and the next `}`, when not empty) or of the whole key, modulo 16,384.
pub(crate) fn key_slot(key: &[u8]) -> u16 {
    let mut k = key;
    if let Some(open) = key.iter().position(|&b| b == b'{')
        && let Some(len) = key[open + 1..].iter().position(|&b| b == b'}')
        && len > 0
    {
        k = &key[open + 1..open + 1 + len];
    }
    crc16(k) % SLOTS as u16
}

fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c, _) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c, _) => c.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c, _) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// Opens a connection, detecting a cluster unless told.
pub async fn connect(opts: &ConnectOptions) -> Result<Conn> {
    connect_with_timeout(opts, opts.response_timeout).await
}

/// Opens a connection whose response timeout fits blocking reads (`XREAD BLOCK`).
pub async fn connect_blocking(opts: &ConnectOptions, block: Duration) -> Result<Conn> {
    connect_with_timeout(opts, block + opts.response_timeout).await
}

async fn connect_with_timeout(opts: &ConnectOptions, response_timeout: Duration) -> Result<Conn> {
    ensure_crypto_provider();
    let shown = opts.display_url();
    let Some(first) = opts.urls.first() else {
        return Err(Error::Input("no Redis URL given".into()));
    };
    for url in &opts.urls {
        check_url(url)?;
    }
    let certs = opts.certs()?;
    let cluster = match opts.cluster {
        Some(c) => c,
        None => opts.urls.len() > 1 || detect_cluster(first, &certs, opts).await?,
    };
    if cluster {
        let mut builder = ClusterClientBuilder::new(opts.urls.clone())
            .connection_timeout(opts.connect_timeout)
            .response_timeout(response_timeout)
            .retries(2);
        if let Some(c) = certs {
            builder = builder.certs(c);
        }
        let client = builder.build().map_err(|e| Error::connect(&shown, &e))?;
        let conn = client
            .get_async_connection()
            .await
            .map_err(|e| Error::connect(&shown, &e))?;
        Ok(Conn::Cluster(conn))
    } else {
        let client = open_client(first, &certs).map_err(|e| Error::connect(&shown, &e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(opts.connect_timeout))
            .set_response_timeout(Some(response_timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(2));
        let conn = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(|e| Error::connect(&shown, &e))?;
        let pipe = opts
            .bulk_pipe
            .then(|| PipeTarget::from_url(first, opts.connect_timeout, opts.response_timeout))
            .flatten()
            .map(Arc::new);
        Ok(Conn::Single(conn, pipe))
    }
}

fn open_client(url: &str, certs: &Option<TlsCertificates>) -> redis::RedisResult<redis::Client> {
    match certs {
        Some(c) => redis::Client::build_with_tls(url, c.clone()),
        None => redis::Client::open(url),
    }
}

fn check_url(url: &str) -> Result<()> {
    let shown = redact_url(url);
    if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
        return Err(Error::Url {
            url: Some(shown),
            reason: Some("it must start with redis:// or rediss://"),
        });
    }
    url.into_connection_info()
        .map(|_| ())
        .map_err(|_| Error::Url {
            url: Some(shown),
            reason: None,
        })
}

async fn detect_cluster(
    url: &str,
    certs: &Option<TlsCertificates>,
    opts: &ConnectOptions,
) -> Result<bool> {
    let shown = redact_url(url);
    let client = open_client(url, certs).map_err(|e| Error::connect(&shown, &e))?;
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(opts.connect_timeout))
        .set_response_timeout(Some(opts.response_timeout));
    let mut conn = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(|e| Error::connect(&shown, &e))?;
    let info: String = redis::cmd("INFO")
        .arg("cluster")
        .query_async(&mut conn)
        .await
        .map_err(|e| Error::connect(&shown, &e))?;
    Ok(info.lines().any(|l| l.trim() == "cluster_enabled:1"))
}

/// rustls needs one process-wide crypto provider before the first TLS connection.
fn ensure_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_slots_match_redis() {
        // Values from `CLUSTER KEYSLOT` of Redis 7.
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"123456789"), 12739);
        assert_eq!(key_slot(b"ns:key:{abc}"), key_slot(b"abc"));
        assert_eq!(key_slot(b"hello"), 866);
        // An empty tag does not count: the whole key is hashed.
        assert_eq!(key_slot(b"{}x"), crc16(b"{}x") % 16384);
        assert_eq!(key_slot(b"a{}{b}"), crc16(b"a{}{b}") % 16384);
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("redis://app:hunter2@db:6379/2"),
            "redis://app:***@db:6379/2"
        );
        assert_eq!(redact_url("redis://:hunter2@db"), "redis://:***@db");
        assert_eq!(redact_url("redis://db:6379"), "redis://db:6379");
        assert!(!redact_url("not a url with hunter2@host").contains("hunter2"));
    }
}
