//! The test harness shared by every integration test (`crate::common`), split by concern.
//!
//! Real servers, never mocks:
//!
//! * [`server`]: one standalone `redis-server` on a free loopback port ([`RedisServer`]),
//!   and the one shared by the whole test process ([`shared_server`]).
//! * [`cluster`]: a 3-master Redis Cluster ([`RedisCluster`], [`shared_cluster`]).
//! * [`node`]: one `redis-server` process, its port, directory and restart; [`reaper`]:
//!   every server dies with the test process, however it ends.
//! * [`target`]: [`Target`] (shared server or shared cluster) and `on_both!`.
//! * [`data`]: unique namespaces, connections and stores on a target.
//! * [`spawn`]: the `keytui` binary with a clean, uniform environment.
//! * [`tmux`]: the TUI in a private tmux server; [`xvfb`]: a private X server.
//!
//! All tests run in one process, in parallel threads: shared servers are isolated by
//! namespace only, so no test may flush, reconfigure or restart them (use a private
//! [`RedisServer`] for that), set environment variables, or change the working directory.

#[macro_use]
pub mod target;

pub mod cluster;
pub mod data;
pub mod layout_doc;
pub mod node;
pub mod reaper;
pub mod server;
pub mod spawn;
pub mod tmux;
pub mod xvfb;

pub use cluster::{RedisCluster, shared_cluster};
pub use data::unique_namespace;
pub use node::{info_field, port_is_open};
pub use server::{RedisServer, shared_server};
pub use target::Target;
