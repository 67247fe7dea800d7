//! One running `redis-server` process ([`Node`]) on a free loopback port, in its own
//! temporary directory, without persistence: starting it (retrying on a port collision),
//! waiting until it answers as *this* process, restarting it, and killing it on drop.
//!
//! The building block of [`super::server`] and [`super::cluster`]; tests use those.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::reaper::spawn_tied_to_process;

/// How many times a server start is retried after a port collision.
const START_ATTEMPTS: usize = 10;
/// How long one `redis-server` may take to answer `PING`.
const START_TIMEOUT: Duration = Duration::from_secs(10);
pub const POLL: Duration = Duration::from_millis(25);

pub const BOOTSTRAP_HINT: &str = "run script/bootstrap";

/// One running `redis-server`. Drop order: the process is killed first, then the directory
/// (a field) is removed.
#[derive(Debug)]
pub struct Node {
    pub child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// How it was started, for [`Node::respawn`].
    binary: PathBuf,
    args: Vec<OsString>,
}

impl Node {
    /// Starts the same `redis-server` again on the same port (the old process must be
    /// gone) and waits until it answers `PING` as the new process.
    pub fn respawn(&mut self, password: Option<&str>) {
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

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
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
pub fn start_node(binary: &Path, args: &[OsString], cluster: bool, password: Option<&str>) -> Node {
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

/// The value of `field:value` in an `INFO`-style reply.
pub fn info_field<'a>(info: &'a str, field: &str) -> Option<&'a str> {
    info.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k == field).then(|| v.trim())
    })
}

pub fn connect(client: &redis::Client) -> redis::Connection {
    client
        .get_connection_with_timeout(Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("cannot connect to {:?}: {e}", client.get_connection_info()))
}

pub fn url_with_auth(port: u16, user: Option<&str>, password: Option<&str>) -> String {
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
