//! A standalone `redis-server` for one test ([`RedisServer`], with a password, ACL users,
//! extra arguments, kill -9 and restart) and the one shared by the whole test process
//! ([`shared_server`], for tests that isolate themselves with a unique namespace).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::node::{Node, connect, start_node, url_with_auth};
use super::reaper::register_exit_cleanup;

/// Options for [`RedisServer`]; obtained from [`RedisServer::builder`].
#[derive(Debug, Clone, Default)]
pub struct RedisServerBuilder {
    password: Option<String>,
    extra_args: Vec<OsString>,
    binary: Option<PathBuf>,
}

impl RedisServerBuilder {
    /// Password of the `default` user (`--requirepass`). [`RedisServer::client`] and
    /// [`RedisServer::connection`] authenticate with it; [`RedisServer::url`] does not carry it.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// More `redis-server` arguments, appended after the harness' own ones (so they win).
    pub fn extra_args(mut self, args: &[&str]) -> Self {
        self.extra_args.extend(args.iter().map(OsString::from));
        self
    }

    /// The `redis-server` executable to run (default: `redis-server` from `PATH`).
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }

    /// Starts the server and waits until it answers `PING`. Panics on failure.
    pub fn start(self) -> RedisServer {
        let binary = self
            .binary
            .clone()
            .unwrap_or_else(|| PathBuf::from("redis-server"));
        let mut args = Vec::new();
        if let Some(password) = &self.password {
            args.push(OsString::from("--requirepass"));
            args.push(OsString::from(password));
        }
        args.extend(self.extra_args.iter().cloned());
        let node = start_node(&binary, &args, false, self.password.as_deref());
        RedisServer {
            node,
            password: self.password,
        }
    }
}

/// A standalone `redis-server` on 127.0.0.1, killed and its directory removed on drop.
#[derive(Debug)]
pub struct RedisServer {
    node: Node,
    password: Option<String>,
}

impl RedisServer {
    /// Starts a server with the default options.
    pub fn start() -> RedisServer {
        RedisServer::builder().start()
    }

    pub fn builder() -> RedisServerBuilder {
        RedisServerBuilder::default()
    }

    pub fn port(&self) -> u16 {
        self.node.port
    }

    /// `redis://127.0.0.1:PORT` (no credentials).
    pub fn url(&self) -> String {
        self.node.url()
    }

    /// The URL with credentials for `user` (percent-encoded as needed).
    pub fn url_for_user(&self, user: &str, password: &str) -> String {
        url_with_auth(self.node.port, Some(user), Some(password))
    }

    /// The server's working directory (a fresh temporary directory).
    pub fn dir(&self) -> &Path {
        self.node.dir.path()
    }

    /// Kills `redis-server` with SIGKILL (no shutdown, no final save) and waits until it is
    /// gone. [`RedisServer::restart`] brings it back on the same port.
    pub fn kill9(&mut self) {
        let _ = self.node.child.kill();
        let _ = self.node.child.wait();
    }

    /// Starts the server again (after [`RedisServer::kill9`]) on the same port, in the same
    /// directory, with the same arguments: with `--appendonly yes` it reloads what it had.
    /// `wipe`: remove its data files first, so it comes back empty. Panics when the port
    /// cannot be had again.
    pub fn restart(&mut self, wipe: bool) {
        if wipe {
            for name in ["appendonlydir", "dump.rdb"] {
                let path = self.dir().join(name);
                let _ = std::fs::remove_dir_all(&path);
                let _ = std::fs::remove_file(&path);
            }
        }
        self.node.respawn(self.password.as_deref());
    }

    /// A client authenticated as `default` when the server has a password.
    pub fn client(&self) -> redis::Client {
        let url = url_with_auth(self.node.port, None, self.password.as_deref());
        redis::Client::open(url).expect("valid redis URL")
    }

    /// A sync connection from [`RedisServer::client`].
    pub fn connection(&self) -> redis::Connection {
        connect(&self.client())
    }

    /// A client that logs in as the ACL user `user`.
    pub fn client_for_user(&self, user: &str, password: &str) -> redis::Client {
        redis::Client::open(self.url_for_user(user, password)).expect("valid redis URL")
    }

    /// Creates (or resets) an ACL user: `ACL SETUSER name reset on >password RULES...`.
    ///
    /// `rules` are whitespace-separated ACL rules, e.g. `"~* +@read"`; a selector in
    /// parentheses, e.g. `"(~other:* +get)"`, stays one argument.
    pub fn add_acl_user(&self, name: &str, password: &str, rules: &str) {
        let mut cmd = redis::cmd("ACL");
        cmd.arg("SETUSER")
            .arg(name)
            .arg("reset")
            .arg("on")
            .arg(format!(">{password}"));
        for rule in split_acl_rules(rules) {
            cmd.arg(rule);
        }
        let mut con = self.connection();
        let () = cmd
            .query(&mut con)
            .unwrap_or_else(|e| panic!("ACL SETUSER {name} {rules:?} failed: {e}"));
    }
}

/// One standalone server per test process, started on first use.
pub fn shared_server() -> &'static RedisServer {
    static SHARED: OnceLock<RedisServer> = OnceLock::new();
    SHARED.get_or_init(|| {
        let server = RedisServer::start();
        register_exit_cleanup(server.node.pid(), server.node.dir.path().to_path_buf());
        server
    })
}

/// Splits ACL rules on whitespace, keeping `( ... )` selectors whole.
fn split_acl_rules(rules: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    for c in rules.chars() {
        match c {
            '(' => {
                depth += 1;
                cur.push(c);
            }
            ')' => {
                depth = depth.saturating_sub(1);
                cur.push(c);
            }
            c if c.is_whitespace() && depth == 0 => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}
