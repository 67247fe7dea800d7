//! A web service that protects an endpoint with keytui keys, using [`keytui::verify::Verifier`].
//!
//! ```sh
//! cargo run --example verify_service -- --url redis://127.0.0.1:6379 --namespace prod \
//!     --listen 127.0.0.1:8080
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/protected
//! curl -H "Authorization: ApiKey $ID:$SECRET" http://127.0.0.1:8080/protected
//! ```
//!
//! - `GET /protected`: 200 `{"key_id":..,"name":..}` for a valid key; 401
//!   `{"error":"<reason>"}` (`missing_credentials`, `unknown`, `wrong_secret`,
//!   `bad_checksum`, `revoked`, `expired`); 503 `{"error":"unavailable"}` when Redis fails.
//! - `GET /health`: 200 `ok`, no credentials needed.
//!
//! On startup it prints `listening on ADDR` (with the real port when `--listen` ends in
//! `:0`). Each valid request records `last_used_at`, at most once a minute per key, without
//! waiting for the write. Secrets never reach the log.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use clap::Parser;
use keytui::conn::{ConnectOptions, connect};
use keytui::crypto::Pepper;
use keytui::layout::Namespace;
use keytui::verify::{Verdict, Verifier};
use serde_json::json;

#[derive(Parser)]
#[command(about = "An example web service protecting GET /protected with keytui keys")]
struct Args {
    /// Redis URL (`redis://` or `rediss://`).
    #[arg(long, env = "REDIS_URL", hide_env_values = true, default_value = keytui::conn::DEFAULT_URL)]
    url: String,
    /// The keytui namespace holding the keys.
    #[arg(short, long, env = "KEYTUI_NAMESPACE", default_value = "keytui")]
    namespace: Namespace,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Record `last_used_at` at most this often per key (`0s` records every use).
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    record_use_every: Duration,
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    if let Err(e) = run(Args::parse()).await {
        eprintln!("verify_service: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let pepper = match std::env::var("KEYTUI_PEPPER") {
        Ok(p) if !p.is_empty() => Some(Pepper::new(p.into_bytes())),
        _ => None,
    };
    let conn = connect(&ConnectOptions::new(args.url)).await?;
    let verifier = Verifier::new(conn, args.namespace)
        .with_pepper(pepper)
        .record_use(args.record_use_every);
    // Fail fast on a wrong pepper or an unknown layout version.
    if verifier.check_namespace().await?.is_none() {
        tracing::warn!(
            namespace = %verifier.namespace(),
            "the namespace has no keys yet: every request will be rejected"
        );
    }
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/protected", get(protected))
        .with_state(verifier);
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

/// Credentials from an `Authorization` header.
enum Credentials<'a> {
    /// `Bearer <token>`
    Token(&'a str),
    /// `ApiKey <id>:<secret>`
    IdSecret(&'a str, &'a str),
}

fn credentials(headers: &HeaderMap) -> Option<Credentials<'_>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.trim().split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        Some(Credentials::Token(rest))
    } else if scheme.eq_ignore_ascii_case("apikey") {
        let (id, secret) = rest.split_once(':')?;
        Some(Credentials::IdSecret(id, secret))
    } else {
        None
    }
}

async fn protected(State(verifier): State<Verifier>, headers: HeaderMap) -> Response {
    let verdict = match credentials(&headers) {
        None => return unauthorized("missing_credentials"),
        Some(Credentials::Token(token)) => verifier.verify_token(token).await,
        Some(Credentials::IdSecret(id, secret)) => verifier.verify(id, secret).await,
    };
    match verdict {
        Ok(Verdict::Valid { id, name }) => {
            (StatusCode::OK, Json(json!({"key_id": id, "name": name}))).into_response()
        }
        Ok(Verdict::Rejected(why)) => unauthorized(why.code()),
        Err(e) => {
            // keytui errors are one line and never contain the presented secret.
            tracing::error!("verification failed: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "unavailable"})),
            )
                .into_response()
        }
    }
}

fn unauthorized(reason: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        Json(json!({"error": reason})),
    )
        .into_response()
}
