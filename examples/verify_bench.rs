//! Verification latency and throughput against a plain `GET` with the same client: the
//! "verify" rows of `script/bench`.
//!
//! ```text
//! cargo run --release --example verify_bench -- URL NAMESPACE ID SECRET \
//!     [--concurrency 32] [--seconds 5] [--get-key keytui-bench:get]
//! ```
//!
//! `--concurrency N` tasks share one store (one multiplexed connection, as an app would) and
//! loop; each call's latency is recorded. The same is done with `GET --get-key` (a short
//! string the tool writes first): one round trip, the floor of any verification. The sides
//! alternate in ten slices of `--seconds / 10` each, so load from other processes hits all.
//! Prints lines of `key=value` fields (`ops_per_s`, `p50_us`, `p99_us`, `calls`):
//! - `verify`: `Store::verify`, which in a namespace of layout 2 reads the record's
//!   `verify` field alone;
//! - `get`: the `GET`;
//! - `verify_fields`: `keytui::verify::verify`, which reads the five fields of layout 1
//!   (what `Store::verify` did before layout 2), in the same namespace;
//! - `hget`: the `HGET` of the `verify` field as a plain command by the same client (the
//!   floor of the one-field check, without keytui's own work);
//! - `hmget`: the `HMGET` of the five layout-1 fields alike (the floor of that check).

use std::time::{Duration, Instant};

use keytui::conn::{self, ConnectOptions};
use keytui::layout::Namespace;
use keytui::store::{Store, Verdict};

struct Args {
    url: String,
    ns: String,
    id: String,
    secret: String,
    concurrency: usize,
    seconds: f64,
    get_key: String,
}

fn parse_args() -> Result<Args, String> {
    let mut positional = Vec::new();
    let mut concurrency = 1;
    let mut seconds = 5.0;
    let mut get_key = "keytui-bench:get".to_owned();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--concurrency" => {
                concurrency = value("--concurrency")?
                    .parse()
                    .map_err(|_| "bad --concurrency")?
            }
            "--seconds" => seconds = value("--seconds")?.parse().map_err(|_| "bad --seconds")?,
            "--get-key" => get_key = value("--get-key")?,
            _ => positional.push(a),
        }
    }
    let [url, ns, id, secret]: [String; 4] = positional
        .try_into()
        .map_err(|_| "usage: verify_bench URL NAMESPACE ID SECRET [--concurrency N] [--seconds S] [--get-key KEY]")?;
    Ok(Args {
        url,
        ns,
        id,
        secret,
        concurrency: concurrency.max(1),
        seconds,
        get_key,
    })
}

/// Slices the measured time is cut into, alternating verify and `GET`.
const ROUNDS: u32 = 10;

/// Calls made, wall time, and every call's latency in nanoseconds (sorted).
#[derive(Default)]
struct Run {
    calls: usize,
    wall: Duration,
    latencies: Vec<u64>,
}

impl Run {
    fn add(&mut self, other: Run) {
        self.calls += other.calls;
        self.wall += other.wall;
        self.latencies.extend(other.latencies);
    }

    fn percentile_us(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i] as f64 / 1000.0
    }

    fn print(&self, what: &str, concurrency: usize) {
        println!(
            "{what} concurrency={concurrency} calls={} ops_per_s={:.0} p50_us={:.1} p99_us={:.1}",
            self.calls,
            self.calls as f64 / self.wall.as_secs_f64(),
            self.percentile_us(0.50),
            self.percentile_us(0.99),
        );
    }
}

/// Runs `op` from `concurrency` tasks until `for_time` has passed.
async fn drive<F, Fut>(concurrency: usize, for_time: Duration, op: F) -> Run
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let start = Instant::now();
    let deadline = start + for_time;
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(1 << 16);
                while Instant::now() < deadline {
                    let t = Instant::now();
                    op().await;
                    lat.push(t.elapsed().as_nanos() as u64);
                }
                lat
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in tasks {
        if let Ok(l) = t.await {
            latencies.extend(l);
        }
    }
    let wall = start.elapsed();
    latencies.sort_unstable();
    Run {
        calls: latencies.len(),
        wall,
        latencies,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), String> {
    let args = parse_args()?;
    let conn = conn::connect(&ConnectOptions::new(&args.url))
        .await
        .map_err(|e| e.to_string())?;
    let ns = Namespace::new(&args.ns).map_err(|e| e.to_string())?;
    let record_key = ns.record_key(&args.id);
    let ns_for_fields = std::sync::Arc::new(ns.clone());
    let store = Store::new(conn.clone(), ns);
    match store.verify(&args.id, &args.secret).await {
        Ok(Verdict::Valid { .. }) => {}
        other => return Err(format!("the benchmark key does not verify: {other:?}")),
    }
    let mut c = conn.clone();
    redis::cmd("SET")
        .arg(&args.get_key)
        .arg("x".repeat(64))
        .query_async::<()>(&mut c)
        .await
        .map_err(|e| e.to_string())?;

    let for_time = Duration::from_secs_f64(args.seconds);
    let warmup = Duration::from_millis(300);
    // Shared, so that each call clones pointers only, as the GET side does.
    let store = std::sync::Arc::new(store);
    let (id, secret): (std::sync::Arc<str>, std::sync::Arc<str>) =
        (args.id.as_str().into(), args.secret.as_str().into());
    let verify = move || {
        let (store, id, secret) = (store.clone(), id.clone(), secret.clone());
        async move {
            let v = store.verify(&id, &secret).await;
            assert!(matches!(v, Ok(Verdict::Valid { .. })), "{v:?}");
        }
    };
    let fields_conn = conn.clone();
    let fields_ns = ns_for_fields;
    let (fid, fsecret): (std::sync::Arc<str>, std::sync::Arc<str>) =
        (args.id.as_str().into(), args.secret.as_str().into());
    let verify_fields = move || {
        let (mut c, ns, id, secret) = (
            fields_conn.clone(),
            fields_ns.clone(),
            fid.clone(),
            fsecret.clone(),
        );
        async move {
            let v = keytui::verify::verify(&mut c, &ns, &id, &secret).await;
            assert!(matches!(v, Ok(Verdict::Valid { .. })), "{v:?}");
        }
    };
    let record_key: std::sync::Arc<str> = record_key.into();
    let hm_conn = conn.clone();
    let hm_key = record_key.clone();
    let one_key = record_key.clone();
    let one_conn = conn.clone();
    let hget = move || {
        let (mut c, key) = (one_conn.clone(), one_key.clone());
        async move {
            let v: redis::RedisResult<Option<String>> = redis::cmd("HGET")
                .arg(&*key)
                .arg("verify")
                .query_async(&mut c)
                .await;
            assert!(matches!(v, Ok(Some(_))), "{v:?}");
        }
    };
    let hmget = move || {
        let (mut c, key) = (hm_conn.clone(), hm_key.clone());
        async move {
            let v: redis::RedisResult<redis::Value> = redis::cmd("HMGET")
                .arg(&*key)
                .arg(&["status", "secret_alg", "secret", "expires_at", "name"][..])
                .query_async(&mut c)
                .await;
            assert!(matches!(v, Ok(redis::Value::Array(_))), "{v:?}");
        }
    };
    let key: std::sync::Arc<str> = args.get_key.as_str().into();
    let get = move || {
        let (mut c, key) = (conn.clone(), key.clone());
        async move {
            let v: redis::RedisResult<Option<String>> =
                redis::cmd("GET").arg(&*key).query_async(&mut c).await;
            assert!(matches!(v, Ok(Some(_))), "{v:?}");
        }
    };
    drive(args.concurrency, warmup, verify.clone()).await;
    drive(args.concurrency, warmup, get.clone()).await;
    drive(args.concurrency, warmup, hmget.clone()).await;
    drive(args.concurrency, warmup, hget.clone()).await;
    drive(args.concurrency, warmup, verify_fields.clone()).await;
    // Interleaved slices, so that a change of machine load (other processes) hits both
    // sides alike instead of whichever ran second.
    let slice = for_time / ROUNDS;
    let (mut v, mut g, mut h, mut one, mut vf) = (
        Run::default(),
        Run::default(),
        Run::default(),
        Run::default(),
        Run::default(),
    );
    for _ in 0..ROUNDS {
        v.add(drive(args.concurrency, slice, verify.clone()).await);
        g.add(drive(args.concurrency, slice, get.clone()).await);
        h.add(drive(args.concurrency, slice, hmget.clone()).await);
        one.add(drive(args.concurrency, slice, hget.clone()).await);
        vf.add(drive(args.concurrency, slice, verify_fields.clone()).await);
    }
    for run in [&mut v, &mut g, &mut h, &mut one, &mut vf] {
        run.latencies.sort_unstable();
    }
    v.print("verify", args.concurrency);
    g.print("get", args.concurrency);
    h.print("hmget", args.concurrency);
    one.print("hget", args.concurrency);
    vf.print("verify_fields", args.concurrency);
    Ok(())
}
