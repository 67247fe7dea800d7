//! A 3-master Redis Cluster for one test ([`RedisCluster`]) and the one shared by the whole
//! test process ([`shared_cluster`]).

use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use super::node::{BOOTSTRAP_HINT, Node, POLL, connect, info_field, start_node};
use super::reaper::{register_exit_cleanup, spawn_tied_to_process};

/// How long a cluster may take to reach `cluster_state:ok` on every node.
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(20);

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

/// One cluster per test process, started on first use.
pub fn shared_cluster() -> &'static RedisCluster {
    static SHARED: OnceLock<RedisCluster> = OnceLock::new();
    SHARED.get_or_init(|| {
        let cluster = RedisCluster::start();
        for node in &cluster.nodes {
            register_exit_cleanup(node.pid(), node.dir.path().to_path_buf());
        }
        cluster
    })
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
