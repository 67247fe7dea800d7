//! Where a scenario runs ([`Target`]: the shared standalone server or the shared cluster)
//! and `on_both!`, which makes one test per target from one `async fn`.

use super::cluster::shared_cluster;
use super::server::shared_server;

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
                    super::$name(crate::common::Target::Standalone).await
                }
            )*
        }
        mod cluster {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::common::Target::Cluster).await
                }
            )*
        }
    };
}
