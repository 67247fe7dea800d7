//! Where the program's connection settings (from the command line, the environment, or the
//! demo) become a [`Store`]: URLs, namespace, TLS CA, actor, the pepper and the master key.
//! The CLI and the TUI both start here; this module parses no arguments and prints nothing.

use std::path::PathBuf;

use crate::conn::{self, ConnectOptions, DEFAULT_URL};
use crate::crypto::Pepper;
use crate::error::{Error, Result};
use crate::layout::{DEFAULT_NAMESPACE, Namespace};
use crate::seal::MasterKey;
use crate::store::Store;

/// Everything needed to open a namespace's store, already merged from the sources the user
/// has (the CLI's positional URL wins over `--url`, which wins over `REDIS_URL`).
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// One URL, or several cluster seed nodes separated by commas; `None` is the default.
    pub url: Option<String>,
    pub namespace: String,
    /// Treat the server as a Redis Cluster (detected automatically otherwise).
    pub cluster: bool,
    pub tls_ca: Option<PathBuf>,
    /// Recorded as `created_by` and in the audit log; `None` is `$USER@host`.
    pub actor: Option<String>,
    /// A sealed namespace's master key file; `None` reads `KEYTUI_MASTER_KEY` instead.
    pub master_key_file: Option<PathBuf>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            url: None,
            namespace: DEFAULT_NAMESPACE.to_owned(),
            cluster: false,
            tls_ca: None,
            actor: None,
            master_key_file: None,
        }
    }
}

impl OpenOptions {
    /// The URL(s) to connect to, the default when none was given.
    pub fn connect_options(&self) -> ConnectOptions {
        let raw = self.url.as_deref().unwrap_or(DEFAULT_URL);
        let mut opts = ConnectOptions::new(String::new());
        opts.urls = raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if self.cluster {
            opts.cluster = Some(true);
        }
        opts.tls_ca = self.tls_ca.clone();
        opts
    }

    pub fn namespace(&self) -> Result<Namespace> {
        Ok(Namespace::new(&self.namespace)?)
    }

    /// Connects and opens the store of the chosen namespace.
    pub async fn store(&self) -> Result<(Store, ConnectOptions)> {
        let ns = self.namespace()?;
        let opts = self.connect_options();
        let conn = conn::connect(&opts).await?;
        let master_key = match &self.master_key_file {
            Some(path) => Some(MasterKey::from_file(path)?),
            None => MasterKey::from_env()?,
        };
        let mut store = Store::new(conn, ns)
            .with_pepper(pepper_from_env()?)
            .with_master_key(master_key)
            .with_connect_options(&opts);
        if let Some(a) = &self.actor {
            store = store.with_actor(a.clone());
        }
        Ok((store, opts))
    }
}

/// `KEYTUI_PEPPER`, if set.
pub fn pepper_from_env() -> Result<Option<Pepper>> {
    match std::env::var("KEYTUI_PEPPER") {
        Ok(p) if p.is_empty() => Err(Error::Config("KEYTUI_PEPPER is set but empty".into())),
        Ok(p) => Ok(Some(Pepper::new(p.into_bytes()))),
        Err(_) => Ok(None),
    }
}
