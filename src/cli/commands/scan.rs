//! `scan`: finding this namespace's tokens in files or logs ([`crate::scan`]), reporting
//! each place with its key's status (never the secret), and optionally revoking the keys
//! whose real secret was found. Exit 0 nothing live, 1 a live key found
//! ([`EXIT_REJECTED`]), 2 an error, 3 a declined `--revoke`.

use std::io::Write;
use std::path::PathBuf;

use zeroize::Zeroizing;

use crate::cli::args::*;
use crate::cli::output::*;
use crate::cli::prompt::confirm_scan_revoke;
use crate::error::{Error, Result};
use crate::exit::{EXIT_DECLINED, EXIT_OK, EXIT_REJECTED};
use crate::store::{ScanHit, ScanStatus, Store};

/// Where a token was seen.
struct Seen {
    file: String,
    line: u64,
    /// Index into the unique tokens.
    token: usize,
}

/// The unique tokens of every source and each place one was seen. Blocking reads: run on a
/// blocking thread.
fn find_tokens(paths: &[PathBuf]) -> Result<(Vec<Zeroizing<String>>, Vec<Seen>)> {
    let mut tokens: Vec<Zeroizing<String>> = Vec::new();
    let mut seen: Vec<Seen> = Vec::new();
    let mut sources: Vec<Option<&PathBuf>> = paths.iter().map(Some).collect();
    if sources.is_empty() {
        sources.push(None);
    }
    for src in sources {
        let file = src.filter(|p| p.as_os_str() != "-");
        let label = file.map_or_else(|| "-".to_owned(), |p| p.display().to_string());
        let cannot = |e: std::io::Error| {
            Error::io_doing(format!("cannot read {}", crate::sanitize::line(&label)), e)
        };
        let mut each = |f: crate::scan::Found| {
            let i = match tokens.iter().position(|t| **t == *f.token) {
                Some(i) => i,
                None => {
                    tokens.push(f.token);
                    tokens.len() - 1
                }
            };
            seen.push(Seen {
                file: label.clone(),
                line: f.line,
                token: i,
            });
        };
        match file {
            Some(p) => {
                let f = std::fs::File::open(p).map_err(cannot)?;
                crate::scan::scan_reader(f, &mut each).map_err(cannot)?;
            }
            None => crate::scan::scan_reader(std::io::stdin().lock(), &mut each).map_err(cannot)?,
        }
    }
    Ok((tokens, seen))
}

/// `keytui scan`.
pub(crate) async fn scan(store: &Store, a: &ScanArgs) -> Result<u8> {
    let paths = a.paths.clone();
    let (tokens, seen) = tokio::task::spawn_blocking(move || find_tokens(&paths))
        .await
        .map_err(|e| Error::io_doing("reading the input stopped", std::io::Error::other(e)))??;
    let refs: Vec<&str> = tokens.iter().map(|t| t.as_str()).collect();
    let hits = if refs.is_empty() {
        Vec::new()
    } else {
        store.scan_lookup(&refs).await?
    };
    let live = hits
        .iter()
        .filter(|h| h.status == ScanStatus::Active)
        .count();
    let mut out = std::io::stdout().lock();
    let clean = crate::sanitize::line;
    if !a.json {
        for s in &seen {
            let h = &hits[s.token];
            let name = h
                .name
                .as_deref()
                .map_or_else(|| "-".into(), |n| format!("{:?}", clean(n)));
            writeln!(
                out,
                "{}:{}: {} {} {name}",
                clean(&s.file),
                s.line,
                clean(&h.id),
                h.status.as_str(),
            )
            .map_err(io)?;
        }
        out.flush().map_err(io)?;
    }
    let mut revoked: Vec<String> = Vec::new();
    let mut declined = false;
    if a.revoke {
        // One entry per key whose real secret was found, with its first place.
        let mut leaks: Vec<(&ScanHit, &Seen)> = Vec::new();
        for s in &seen {
            let h = &hits[s.token];
            if h.status.is_leak() && !leaks.iter().any(|(l, _)| l.id == h.id) {
                leaks.push((h, s));
            }
        }
        if !leaks.is_empty() {
            declined = !confirm_scan_revoke(store, leaks.len(), a.yes).await?;
        }
        if !declined {
            for (h, s) in &leaks {
                let reason = format!("leaked: found in {}:{}", s.file, s.line);
                store.revoke(&h.id, Some(&reason)).await?;
                revoked.push(h.id.clone());
                if !a.json {
                    writeln!(out, "revoked {}", clean(&h.id)).map_err(io)?;
                }
            }
        }
    }
    if a.json {
        let findings: Vec<serde_json::Value> = seen
            .iter()
            .map(|s| {
                let h = &hits[s.token];
                serde_json::json!({
                    "file": s.file,
                    "line": s.line,
                    "id": h.id,
                    "name": h.name,
                    "status": h.status.as_str(),
                })
            })
            .collect();
        let v = serde_json::json!({"findings": findings, "live": live, "revoked": revoked});
        writeln!(out, "{v}").map_err(io)?;
    } else if seen.is_empty() {
        eprintln!("keytui: no tokens found");
    }
    Ok(if declined {
        EXIT_DECLINED
    } else if live > 0 {
        EXIT_REJECTED
    } else {
        EXIT_OK
    })
}
