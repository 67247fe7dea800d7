//! Test harness shared by every integration test (`mod common;`).
//!
//! Real servers, never mocks:
//!
//! * [`RedisServer`]: one standalone `redis-server` on a free loopback port, in its own
//!   temporary directory, without persistence. Killed (and its directory removed) on drop.
//! * [`RedisCluster`]: three masters joined with `redis-cli --cluster create`, all slots
//!   assigned, `cluster_state:ok` on every node. Killed on drop.
//! * [`shared_server`] / [`shared_cluster`]: one lazily started instance per test process,
//!   for tests that isolate themselves with a [`unique_namespace`].
//!
//! Every server is spawned from one long-lived helper thread with
//! `prctl(PR_SET_PDEATHSIG, SIGKILL)`, so the servers die with the test process even when it
//! is killed (the signal fires when the *spawning thread* exits, hence the dedicated thread).
//! The shared instances are also killed, and their directories removed, by an `atexit`
//! handler on a normal exit.
#![allow(dead_code, unused_macros)]

pub mod tmux;
pub mod xvfb;

use std::collections::hash_map::RandomState;
use std::ffi::OsString;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

/// How many times a server start is retried after a port collision.
const START_ATTEMPTS: usize = 10;
/// How long one `redis-server` may take to answer `PING`.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a cluster may take to reach `cluster_state:ok` on every node.
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(25);

const BOOTSTRAP_HINT: &str = "run script/bootstrap";

// ---------------------------------------------------------------------------------------
// Standalone server
// ---------------------------------------------------------------------------------------

/// Options for [`RedisServer`]; obtained from [`RedisServer::builder`].
#[derive(Debug, Clone, Default)]
pub struct RedisServerBuilder {
    password: Option<String>,
    acl_file: Option<PathBuf>,
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

    /// An ACL file (`--aclfile PATH`); the file must exist.
    pub fn acl_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.acl_file = Some(path.into());
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
        if let Some(acl) = &self.acl_file {
            args.push(OsString::from("--aclfile"));
            args.push(acl.clone().into_os_string());
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

    /// The password given to the builder, if any.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The server's working directory (a fresh temporary directory).
    pub fn dir(&self) -> &Path {
        self.node.dir.path()
    }

    /// The process id of `redis-server`.
    pub fn pid(&self) -> u32 {
        self.node.pid()
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

// ---------------------------------------------------------------------------------------
// Cluster
// ---------------------------------------------------------------------------------------

/// A 3-master Redis Cluster on 127.0.0.1 (no replicas), killed on drop.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<Node>,
}

impl RedisCluster {
    pub const MASTERS: usize = 3;

    /// Starts three cluster-enabled servers, joins them with `redis-cli --cluster create` and
    /// waits until every node reports `cluster_state:ok`. Panics on failure.
    pub fn start() -> RedisCluster {
        let args: Vec<OsString> = [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "5000",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        let nodes: Vec<Node> = (0..Self::MASTERS)
            .map(|_| start_node(Path::new("redis-server"), &args, true, None))
            .collect();
        let cluster = RedisCluster { nodes };
        cluster.create();
        cluster.wait_ok();
        cluster
    }

    fn create(&self) {
        let args: Vec<String> = ["--cluster", "create"]
            .into_iter()
            .map(String::from)
            .chain(self.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)))
            .chain(["--cluster-replicas", "0", "--cluster-yes"].map(String::from))
            .collect();
        let spawned = spawn_tied_to_process(Box::new(move || {
            let mut cmd = Command::new("redis-cli");
            cmd.args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            cmd
        }));
        let out = match spawned.and_then(Child::wait_with_output) {
            Ok(out) => out,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                panic!("redis-cli not found: {BOOTSTRAP_HINT}")
            }
            Err(e) => panic!("cannot run redis-cli: {e}"),
        };
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn wait_ok(&self) {
        let deadline = Instant::now() + CLUSTER_TIMEOUT;
        for node in &self.nodes {
            loop {
                let info = node_cluster_info(node.port);
                let ok = info.as_ref().is_ok_and(|info| {
                    info_field(info, "cluster_state") == Some("ok")
                        && info_field(info, "cluster_slots_assigned") == Some("16384")
                        && info_field(info, "cluster_known_nodes")
                            == Some(&Self::MASTERS.to_string())
                });
                if ok {
                    break;
                }
                if Instant::now() > deadline {
                    panic!(
                        "cluster not ok after {CLUSTER_TIMEOUT:?} on node {}:\n{}",
                        node.port,
                        info.unwrap_or_else(|e| e)
                    );
                }
                thread::sleep(POLL);
            }
        }
    }

    /// The first node's URL.
    pub fn url(&self) -> String {
        self.nodes[0].url()
    }

    /// Every node's URL.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(Node::url).collect()
    }

    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// Process ids of the nodes.
    pub fn pids(&self) -> Vec<u32> {
        self.nodes.iter().map(Node::pid).collect()
    }

    /// A sync cluster client seeded with every node.
    pub fn client(&self) -> redis::cluster::ClusterClient {
        redis::cluster::ClusterClient::new(self.urls()).expect("valid cluster URLs")
    }

    /// A sync cluster connection from [`RedisCluster::client`].
    pub fn connection(&self) -> redis::cluster::ClusterConnection {
        self.client()
            .get_connection()
            .unwrap_or_else(|e| panic!("cannot connect to the cluster {:?}: {e}", self.urls()))
    }

    /// A plain (non-cluster) connection to node `index` (0..3).
    pub fn node_connection(&self, index: usize) -> redis::Connection {
        let client = redis::Client::open(self.nodes[index].url()).expect("valid redis URL");
        connect(&client)
    }
}

// ---------------------------------------------------------------------------------------
// Shared instances and namespaces
// ---------------------------------------------------------------------------------------

/// One standalone server per test process, started on first use.
pub fn shared_server() -> &'static RedisServer {
    static SHARED: OnceLock<RedisServer> = OnceLock::new();
    SHARED.get_or_init(|| {
        let server = RedisServer::start();
        register_exit_cleanup(&server.node);
        server
    })
}

/// One cluster per test process, started on first use.
pub fn shared_cluster() -> &'static RedisCluster {
    static SHARED: OnceLock<RedisCluster> = OnceLock::new();
    SHARED.get_or_init(|| {
        let cluster = RedisCluster::start();
        for node in &cluster.nodes {
            register_exit_cleanup(node);
        }
        cluster
    })
}

/// A namespace no other test (thread or process) uses: `TAG-PID-COUNTER-RANDOM`.
///
/// Only `[A-Za-z0-9_.-]`; other characters of `tag` become `_`.
pub fn unique_namespace(tag: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tag: String = tag
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(n);
    if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(d.as_nanos());
    }
    let random = hasher.finish() as u32;
    format!("{tag}-{}-{n}-{random:08x}", std::process::id())
}

// ---------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------

/// One running `redis-server`. Drop order: the process is killed first, then the directory
/// (a field) is removed.
#[derive(Debug)]
struct Node {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    /// How it was started, for [`Node::respawn`].
    binary: PathBuf,
    args: Vec<OsString>,
}

impl Node {
    /// Starts the same `redis-server` again on the same port (the old process must be
    /// gone) and waits until it answers `PING` as the new process.
    fn respawn(&mut self, password: Option<&str>) {
        let (binary, args, cwd) = (
            self.binary.clone(),
            self.args.clone(),
            self.dir.path().to_path_buf(),
        );
        let log_path = cwd.join("redis.log");
        let log = File::create(&log_path).expect("create redis.log");
        let log2 = log.try_clone().expect("clone the log file handle");
        self.child = spawn_tied_to_process(Box::new(move || {
            let mut cmd = Command::new(&binary);
            cmd.args(&args)
                .current_dir(&cwd)
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log2);
            cmd
        }))
        .expect("restart redis-server");
        let client =
            redis::Client::open(url_with_auth(self.port, None, password)).expect("valid redis URL");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!("redis-server did not restart ({status}); its log:\n{log}");
            }
            if server_pid(&client) == Some(self.child.id()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer on port {} after a restart",
                self.port
            );
            thread::sleep(POLL);
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

enum StartError {
    /// Port collision (or the port went to another server): try other ports.
    Retry(String),
}

/// Starts one `redis-server`, retrying with other ports on a collision.
fn start_node(binary: &Path, args: &[OsString], cluster: bool, password: Option<&str>) -> Node {
    let mut failures = Vec::new();
    for _ in 0..START_ATTEMPTS {
        match try_start_node(binary, args, cluster, password) {
            Ok(node) => return node,
            Err(StartError::Retry(why)) => failures.push(why),
        }
    }
    panic!(
        "could not start {} after {START_ATTEMPTS} attempts:\n{}",
        binary.display(),
        failures.join("\n---\n")
    );
}

fn try_start_node(
    binary: &Path,
    args: &[OsString],
    cluster: bool,
    password: Option<&str>,
) -> Result<Node, StartError> {
    let dir = tempfile::Builder::new()
        .prefix("keytui-redis-")
        .tempdir()
        .expect("create a temporary directory");
    let port = free_port(cluster);
    let log_path = dir.path().join("redis.log");
    let log = File::create(&log_path).expect("create redis.log");
    let log2 = log.try_clone().expect("clone the log file handle");

    let mut full: Vec<OsString> = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--daemonize",
        "no",
        "--save",
        "",
        "--appendonly",
        "no",
        "--logfile",
        "",
        "--dir",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    full.push(dir.path().as_os_str().to_owned());
    if cluster {
        full.push("--cluster-port".into());
        full.push(free_port(true).to_string().into());
    }
    full.extend(args.iter().cloned());

    let binary_owned = binary.to_path_buf();
    let cwd = dir.path().to_path_buf();
    let args_kept = full.clone();
    let spawned = spawn_tied_to_process(Box::new(move || {
        let mut cmd = Command::new(&binary_owned);
        cmd.args(&full)
            .current_dir(&cwd)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        cmd
    }));
    let child = match spawned {
        Ok(child) => child,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            panic!("{} not found: {BOOTSTRAP_HINT}", binary.display())
        }
        Err(e) => panic!("cannot run {}: {e}", binary.display()),
    };
    let mut node = Node {
        child,
        port,
        dir,
        binary: binary.to_path_buf(),
        args: args_kept,
    };

    let url = url_with_auth(port, None, password);
    let client = redis::Client::open(url).expect("valid redis URL");
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = node.child.try_wait() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            if log.contains("in use") || log.contains("bind") || log.contains("Could not create") {
                return Err(StartError::Retry(format!("port {port}: {log}")));
            }
            panic!(
                "{} exited early ({status}); its log:\n{log}",
                binary.display()
            );
        }
        if let Some(pid) = server_pid(&client) {
            if pid == node.child.id() {
                return Ok(node);
            }
            // Another test's server holds that port and ours will fail to bind.
            return Err(StartError::Retry(format!(
                "port {port} answered by pid {pid}, not ours ({})",
                node.child.id()
            )));
        }
        if Instant::now() > deadline {
            let _ = node.child.kill();
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!(
                "{} did not answer PING on port {port} within {START_TIMEOUT:?}; its log:\n{log}",
                binary.display()
            );
        }
        thread::sleep(POLL);
    }
}

/// `PING` then the `process_id` from `INFO server`; `None` while the server is not ready.
fn server_pid(client: &redis::Client) -> Option<u32> {
    let mut con = client
        .get_connection_with_timeout(Duration::from_millis(500))
        .ok()?;
    con.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let pong: String = redis::cmd("PING").query(&mut con).ok()?;
    if pong != "PONG" {
        return None;
    }
    let info: String = redis::cmd("INFO").arg("server").query(&mut con).ok()?;
    info_field(&info, "process_id")?.parse().ok()
}

fn node_cluster_info(port: u16) -> Result<String, String> {
    let client =
        redis::Client::open(format!("redis://127.0.0.1:{port}")).map_err(|e| e.to_string())?;
    let mut con = client
        .get_connection_with_timeout(Duration::from_secs(1))
        .map_err(|e| e.to_string())?;
    con.set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| e.to_string())?;
    redis::cmd("CLUSTER")
        .arg("INFO")
        .query(&mut con)
        .map_err(|e| e.to_string())
}

/// The value of `field:value` in an `INFO`-style reply.
pub fn info_field<'a>(info: &'a str, field: &str) -> Option<&'a str> {
    info.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k == field).then(|| v.trim())
    })
}

fn connect(client: &redis::Client) -> redis::Connection {
    client
        .get_connection_with_timeout(Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("cannot connect to {:?}: {e}", client.get_connection_info()))
}

fn url_with_auth(port: u16, user: Option<&str>, password: Option<&str>) -> String {
    let mut url = url::Url::parse(&format!("redis://127.0.0.1:{port}")).expect("valid URL");
    if let Some(user) = user {
        url.set_username(user).expect("URL accepts a username");
    }
    if let Some(password) = password {
        url.set_password(Some(password))
            .expect("URL accepts a password");
    }
    url.to_string()
}

/// A port that was free a moment ago (bind 127.0.0.1:0, then release). For a cluster node
/// (whose bus port is also picked here) keep clear of the top of the range.
fn free_port(cluster: bool) -> u16 {
    loop {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        if !cluster || port < 55_000 {
            return port;
        }
    }
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
pub fn port_is_open(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Duration::from_secs(1),
    )
    .is_ok()
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

// --- spawning servers that die with the test process -----------------------------------

type CommandFactory = Box<dyn FnOnce() -> Command + Send>;
type SpawnRequest = (CommandFactory, mpsc::Sender<io::Result<Child>>);

/// Spawns the command from a helper thread that lives as long as the process, with
/// `PR_SET_PDEATHSIG = SIGKILL`: the child is killed when the test process ends, however it
/// ends. (The death signal follows the *thread* that forked, so it must not be a test thread.)
fn spawn_tied_to_process(factory: CommandFactory) -> io::Result<Child> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        thread::Builder::new()
            .name("redis-spawner".into())
            .spawn(move || {
                for (factory, reply) in rx {
                    let mut cmd = factory();
                    let parent = std::process::id() as libc::pid_t;
                    // SAFETY: the closure only calls async-signal-safe functions
                    // (prctl, getppid) and does not allocate.
                    unsafe {
                        cmd.pre_exec(move || {
                            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                                return Err(io::Error::last_os_error());
                            }
                            if libc::getppid() != parent {
                                // The test process died before prctl took effect.
                                return Err(io::Error::from_raw_os_error(libc::ESRCH));
                            }
                            Ok(())
                        });
                    }
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("spawn the redis-spawner thread");
        Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    spawner
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send((factory, reply_tx))
        .expect("redis-spawner thread is alive");
    reply_rx.recv().expect("redis-spawner thread replies")
}

// --- cleanup of the shared instances at process exit -----------------------------------

static EXIT_CLEANUP: Mutex<Vec<(libc::pid_t, PathBuf)>> = Mutex::new(Vec::new());

fn register_exit_cleanup(node: &Node) {
    static REGISTERED: OnceLock<()> = OnceLock::new();
    REGISTERED.get_or_init(|| {
        // SAFETY: registering a plain `extern "C"` function that never unwinds.
        unsafe {
            libc::atexit(cleanup_at_exit);
        }
    });
    EXIT_CLEANUP
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((
            node.child.id() as libc::pid_t,
            node.dir.path().to_path_buf(),
        ));
}

extern "C" fn cleanup_at_exit() {
    let _ = std::panic::catch_unwind(|| {
        let Ok(mut list) = EXIT_CLEANUP.try_lock() else {
            return;
        };
        for (pid, dir) in list.drain(..) {
            // SAFETY: `pid` is our own child, not yet reaped (its `Child` lives in a static).
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
            let _ = std::fs::remove_dir_all(dir);
        }
    });
}

// ---------------------------------------------------------------------------------------
// Running one scenario on both topologies
// ---------------------------------------------------------------------------------------

/// Where a scenario runs: the shared standalone server or the shared 3-master cluster.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    Standalone,
    Cluster,
}

impl Target {
    /// Every URL: the server's, or one per cluster master.
    pub fn urls(self) -> Vec<String> {
        match self {
            Target::Standalone => vec![shared_server().url()],
            Target::Cluster => shared_cluster().urls(),
        }
    }

    pub fn url(self) -> String {
        match self {
            Target::Standalone => shared_server().url(),
            Target::Cluster => shared_cluster().url(),
        }
    }
}

/// `on_both!(a, b)` makes `standalone::a`, `cluster::a`, ... tokio tests that call the
/// file's `async fn a(t: Target)` with each [`Target`].
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod standalone {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::common::Target::Standalone).await
                }
            )*
        }
        mod cluster {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::common::Target::Cluster).await
                }
            )*
        }
    };
}
