//! `verify` (against the store) and `check` (offline: the token's shape and checksum).

use std::io::{Read, Write};

use crate::cli::args::*;
use crate::cli::output::*;

use crate::cli::prompt::*;

use crate::error::{Error, Result};
use crate::exit::EXIT_REJECTED;
use crate::keygen::Token;

use crate::store::{Store, Verdict};

pub(crate) async fn verify(store: Store, a: VerifyArgs) -> Result<u8> {
    let mut out = std::io::stdout();
    let input = read_secret(if a.token { "token" } else { "secret" }).await?;
    let verdict = if a.token {
        store.verify_token(&input).await?
    } else {
        let id = a.id.clone().unwrap_or_default();
        store.verify(&id, &input).await?
    };
    match verdict {
        Verdict::Valid { id, name } => {
            if a.touch {
                store.touch(&id).await?;
            }
            if a.json {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({"valid": true, "id": id, "name": name})
                )
                .map_err(io)?;
            } else {
                writeln!(out, "valid: {id} ({})", crate::sanitize::line(&name)).map_err(io)?;
            }
            Ok(0)
        }
        Verdict::Rejected(why) => {
            if a.json {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({"valid": false, "reason": why.code()})
                )
                .map_err(io)?;
            } else {
                writeln!(out, "rejected: {}", why.as_str()).map_err(io)?;
            }
            Ok(EXIT_REJECTED)
        }
    }
}

/// `keytui check`: the token's shape and checksum, offline. Exit 0 when the token is well
/// formed and its checksum (if it has one) is right, 1 otherwise.
pub fn check(json: bool) -> Result<u8> {
    let mut text = String::new();
    std::io::stdin()
        .lock()
        .take(64 * 1024)
        .read_to_string(&mut text)
        .map_err(|_| Error::Input("the token on standard input is not UTF-8".into()))?;
    let text = zeroize::Zeroizing::new(text);
    let token = text.trim();
    let mut out = std::io::stdout().lock();
    let (ok, report) = match Token::parse(token) {
        Err(e) => (
            false,
            serde_json::json!({"valid": false, "reason": e.to_string()}),
        ),
        Ok(p) => {
            let checksum = p.checksum_valid();
            (
                checksum,
                serde_json::json!({
                    "valid": checksum,
                    "prefix": p.prefix,
                    "id": p.id,
                    "checksum": if checksum { "valid" } else { "invalid or absent" },
                }),
            )
        }
    };
    if json {
        writeln!(out, "{report}").map_err(io)?;
    } else if ok {
        writeln!(
            out,
            "well-formed keytui token: id {}{}, checksum valid",
            report["id"].as_str().unwrap_or_default(),
            report["prefix"]
                .as_str()
                .map(|p| format!(", prefix {p}"))
                .unwrap_or_default()
        )
        .map_err(io)?;
    } else if report["id"].is_string() {
        writeln!(
            out,
            "checksum invalid or absent: a typo, or a token made with --no-checksum (id {})",
            report["id"].as_str().unwrap_or_default()
        )
        .map_err(io)?;
    } else {
        writeln!(
            out,
            "not a keytui token: {}",
            report["reason"].as_str().unwrap_or_default()
        )
        .map_err(io)?;
    }
    Ok(if ok { 0 } else { 1 })
}
