//! Proves the test harness in `tests/it/common` works against real servers.

use std::collections::HashSet;

use crate::common;
use crate::common::{
    RedisCluster, RedisServer, info_field, port_is_open, shared_cluster, shared_server,
};
use redis::Commands;

#[test]
fn standalone_server_answers_set_get() {
    let server = RedisServer::start();
    assert_eq!(server.url(), format!("redis://127.0.0.1:{}", server.port()));
    let mut con = server.connection();
    let () = con.set("harness:k", "v1").unwrap();
    let got: String = con.get("harness:k").unwrap();
    assert_eq!(got, "v1");
    // No persistence configured.
    let save: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("save")
        .query(&mut con)
        .unwrap();
    assert_eq!(save, vec!["save".to_string(), String::new()]);
    let aof: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("appendonly")
        .query(&mut con)
        .unwrap();
    assert_eq!(aof, vec!["appendonly".to_string(), "no".to_string()]);
    let dir: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("dir")
        .query(&mut con)
        .unwrap();
    assert_eq!(
        std::fs::canonicalize(&dir[1]).unwrap(),
        std::fs::canonicalize(server.dir()).unwrap()
    );
}

#[test]
fn servers_started_in_parallel_are_distinct() {
    let servers: Vec<RedisServer> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(RedisServer::start)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ports: HashSet<u16> = servers.iter().map(RedisServer::port).collect();
    assert_eq!(ports.len(), servers.len());
    for (i, server) in servers.iter().enumerate() {
        let mut con = server.connection();
        let () = con.set("which", i).unwrap();
    }
    for (i, server) in servers.iter().enumerate() {
        let got: usize = server.connection().get("which").unwrap();
        assert_eq!(got, i);
    }
}

#[test]
fn shared_server_is_started_once_and_isolated_by_namespace() {
    let a = shared_server();
    let b = shared_server();
    assert!(std::ptr::eq(a, b));
    let ns = unique_ns_pair();
    let mut con = a.connection();
    let () = con.set(format!("{}:k", ns.0), "first").unwrap();
    let () = con.set(format!("{}:k", ns.1), "second").unwrap();
    let got: String = con.get(format!("{}:k", ns.0)).unwrap();
    assert_eq!(got, "first");
}

fn unique_ns_pair() -> (String, String) {
    (
        common::unique_namespace("pair"),
        common::unique_namespace("pair"),
    )
}

#[test]
fn unique_namespaces_differ_and_use_safe_characters() {
    let all: Vec<String> = (0..1000)
        .map(|_| common::unique_namespace("t a/g:*"))
        .collect();
    let distinct: HashSet<&String> = all.iter().collect();
    assert_eq!(distinct.len(), all.len());
    for ns in &all {
        assert!(ns.starts_with("t_a_g__-"), "{ns}");
        assert!(
            ns.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')),
            "{ns}"
        );
    }
}

#[test]
fn password_server_requires_auth() {
    let server = RedisServer::builder().password("s3cr:t@/pw").start();
    let anonymous = redis::Client::open(server.url()).unwrap();
    let mut con = anonymous.get_connection().unwrap();
    let err = redis::cmd("GET")
        .arg("x")
        .query::<Option<String>>(&mut con)
        .unwrap_err();
    assert_eq!(err.code(), Some("NOAUTH"), "{err}");
    let pong: String = redis::cmd("PING").query(&mut server.connection()).unwrap();
    assert_eq!(pong, "PONG");
    // The same password through a URL with a (percent-encoded) user name.
    let mut con = server
        .client_for_user("default", "s3cr:t@/pw")
        .get_connection()
        .unwrap();
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
}

#[test]
fn acl_read_only_user_gets_noperm_on_set() {
    let server = shared_server();
    let ns = common::unique_namespace("acl");
    let user = format!("reader-{ns}");
    let key = format!("{ns}:k");
    let () = server.connection().set(&key, "v").unwrap();
    server.add_acl_user(&user, "readpw", "~* +@read +ping +acl|whoami");

    let mut con = server
        .client_for_user(&user, "readpw")
        .get_connection()
        .unwrap();
    let whoami: String = redis::cmd("ACL").arg("WHOAMI").query(&mut con).unwrap();
    assert_eq!(whoami, user);
    let got: String = con.get(&key).unwrap();
    assert_eq!(got, "v");
    let err = con.set::<_, _, ()>(&key, "w").unwrap_err();
    assert_eq!(err.code(), Some("NOPERM"), "{err}");
    // Wrong password is refused.
    assert!(
        server
            .client_for_user(&user, "wrong")
            .get_connection()
            .is_err()
    );
}

#[test]
fn acl_selector_stays_one_argument() {
    let server = RedisServer::start();
    server.add_acl_user("sel", "pw", "~a:* +get (~b:* +set)");
    let mut con = server
        .client_for_user("sel", "pw")
        .get_connection()
        .unwrap();
    let () = con.set("b:1", "x").unwrap();
    let err = con.set::<_, _, ()>("a:1", "x").unwrap_err();
    assert_eq!(err.code(), Some("NOPERM"), "{err}");
}

#[test]
fn cluster_has_three_masters_and_state_ok() {
    let cluster = shared_cluster();
    assert_eq!(cluster.urls().len(), 3);
    assert_eq!(cluster.url(), cluster.urls()[0]);
    for i in 0..3 {
        let mut con = cluster.node_connection(i);
        let info: String = redis::cmd("CLUSTER").arg("INFO").query(&mut con).unwrap();
        assert_eq!(info_field(&info, "cluster_state"), Some("ok"), "{info}");
        assert_eq!(info_field(&info, "cluster_size"), Some("3"), "{info}");
        let nodes: String = redis::cmd("CLUSTER").arg("NODES").query(&mut con).unwrap();
        let masters = nodes.lines().filter(|l| l.contains("master")).count();
        assert_eq!(masters, 3, "{nodes}");
    }
}

#[test]
fn cluster_client_set_get_spreads_over_all_nodes() {
    let cluster = shared_cluster();
    let ns = common::unique_namespace("cluster");
    let mut con = cluster.connection();
    let keys: Vec<String> = (0..60).map(|i| format!("{ns}:{i}")).collect();
    for (i, key) in keys.iter().enumerate() {
        let () = con.set(key, i).unwrap();
    }
    for (i, key) in keys.iter().enumerate() {
        let got: usize = con.get(key).unwrap();
        assert_eq!(got, i);
    }
    // Each master owns some of the keys.
    for i in 0..3 {
        let mut node = cluster.node_connection(i);
        let mine = keys
            .iter()
            .filter(|k| node.exists::<_, bool>(k.as_str()).unwrap_or(false))
            .count();
        assert!(mine > 0, "node {i} holds none of the keys");
    }
}

#[test]
fn dropped_server_is_gone() {
    let server = RedisServer::start();
    let port = server.port();
    let dir = server.dir().to_path_buf();
    assert!(port_is_open(port));
    assert!(dir.is_dir());
    drop(server);
    assert!(!port_is_open(port), "port {port} still accepts connections");
    assert!(!dir.exists(), "{} still exists", dir.display());
}

#[test]
fn dropped_cluster_is_gone() {
    let cluster = RedisCluster::start();
    let ports = cluster.ports();
    assert!(ports.iter().all(|&p| port_is_open(p)));
    let () = cluster.connection().set("k", "v").unwrap();
    drop(cluster);
    for port in ports {
        assert!(!port_is_open(port), "port {port} still accepts connections");
    }
}

#[test]
#[should_panic(expected = "not found: run script/bootstrap")]
fn missing_binary_says_run_bootstrap() {
    let _ = RedisServer::builder()
        .binary("/nonexistent/redis-server")
        .start();
}
