//! What the CLI asks or reads from a person: confirmations before irreversible changes
//! (refused without a terminal unless `--yes`), and secrets read without echo.

use std::io::{BufRead, IsTerminal, Read, Write};

use crate::cli::output::*;
use crate::cli::progress::Progress;

use crate::error::{Error, Result};

use crate::record::now_ms;

use crate::store::{KeyFilter, Repair, Store};

/// Asks to go on with `what` (a sentence without its final period): on a terminal `y`, or
/// in a production namespace the namespace's name typed; elsewhere an error saying to add
/// `--yes`. `Ok(false)`: declined (said on stderr), nothing changed.
pub(crate) async fn confirm_or_refuse(what: &str, ns: &str, production: bool) -> Result<bool> {
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(Error::Unconfirmed(format!("{what}: add --yes to confirm")));
    }
    if production {
        eprint!("{what}.\nNamespace {ns} is marked production; type its name to go on: ");
    } else {
        eprint!("{what}.\nGo on? [y/N] ");
    }
    let _ = std::io::stderr().flush();
    let answer = read_answer().await?;
    let answer = answer.trim();
    let confirmed = if production {
        answer == ns
    } else {
        matches!(answer, "y" | "Y" | "yes" | "YES" | "Yes")
    };
    if !confirmed {
        eprintln!("keytui: nothing changed");
    }
    Ok(confirmed)
}

/// The malformed records `doctor --repair --delete-malformed` may delete, after the user
/// confirmed their count on a terminal (or with `--yes`); `None` when the user declined.
/// Without a terminal and without `--yes` it is an error naming the count.
pub(crate) async fn confirm_delete_malformed(
    store: &Store,
    masters: &[String],
    yes: bool,
) -> Result<Option<std::collections::HashSet<String>>> {
    let found = store.doctor_with(&Repair::No, masters).await?;
    let ids: std::collections::HashSet<String> =
        found.malformed_records.into_iter().map(|m| m.id).collect();
    if ids.is_empty() || yes {
        return Ok(Some(ids));
    }
    let what = format!(
        "{} malformed record key(s) in namespace {} (written by another program or damaged; this cannot be undone)",
        ids.len(),
        store.namespace()
    );
    let stdin = std::io::stdin();
    if !(stdin.is_terminal() && std::io::stderr().is_terminal()) {
        return Err(Error::Unconfirmed(format!(
            "would delete {what}: add --yes to confirm"
        )));
    }
    // A production namespace needs its name typed, as revoke and rotate do.
    let production = store.meta().await?.is_some_and(|m| m.production);
    let ns = store.namespace().as_str();
    if production {
        eprint!("delete {what}?\nNamespace {ns} is marked production; type its name to go on: ");
    } else {
        eprint!("delete {what}? [y/N] ");
    }
    let _ = std::io::stderr().flush();
    let answer = read_answer().await?;
    let confirmed = if production {
        answer.trim() == ns
    } else {
        matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes")
    };
    if confirmed {
        Ok(Some(ids))
    } else {
        eprintln!("keytui: nothing changed");
        Ok(None)
    }
}

/// The ids matching `filter`, after the user confirmed the count on a terminal (or with
/// `--yes`); `None` when the user declined. Without a terminal and without `--yes` it is
/// an error that names the count, so scripts never change keys by accident.
pub(crate) async fn select_confirmed(
    store: &Store,
    filter: &KeyFilter,
    verb: &str,
    yes: bool,
) -> Result<Option<Selection>> {
    let bar = Progress::new(0, "reading");
    let page = store.list_all(|n, total| bar.set(n, total)).await?;
    bar.finish();
    let now = now_ms();
    let mut ids: Vec<String> = page
        .records
        .into_iter()
        .filter(|r| filter.matches(r, now))
        .map(|r| r.id)
        .collect();
    let malformed: Vec<String> = page.malformed.into_iter().map(|e| e.id).collect();
    // A malformed record cannot be matched against a filter. Revoking "everything" takes
    // them by id (the revoke script changes only a record whose status is `active`);
    // otherwise they are reported as not evaluated.
    let by_id = verb == "revoke" && filter.is_empty() && !malformed.is_empty();
    let (not_evaluated, extra) = if by_id {
        (Vec::new(), malformed.len())
    } else {
        (malformed.clone(), 0)
    };
    if !not_evaluated.is_empty() {
        eprintln!("keytui: warning: {}", not_evaluated_line(&not_evaluated));
    }
    let mut what = format!(
        "{} key{} in namespace {} ({filter})",
        ids.len(),
        if ids.len() == 1 { "" } else { "s" },
        store.namespace()
    );
    if extra > 0 {
        what.push_str(&format!(
            " and {extra} malformed record(s) by id (only those whose status is active change)"
        ));
        ids.extend(malformed);
    }
    let selection = Selection {
        ids,
        malformed_included: extra,
        not_evaluated,
    };
    if selection.ids.is_empty() || yes {
        return Ok(Some(selection));
    }
    let stdin = std::io::stdin();
    if !(stdin.is_terminal() && std::io::stderr().is_terminal()) {
        return Err(Error::Unconfirmed(format!(
            "would {verb} {what}: add --yes to confirm"
        )));
    }
    eprint!("{verb} {what}? [y/N] ");
    let answer = read_answer().await?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(Some(selection))
    } else {
        eprintln!("keytui: nothing changed");
        Ok(None)
    }
}

/// Reads a secret or token from standard input: without echo on a terminal, otherwise the
/// whole input minus one trailing newline.
pub(crate) fn read_secret_input(what: &str) -> Result<String> {
    let stdin = std::io::stdin();
    let text = if stdin.is_terminal() {
        rpassword::prompt_password(format!("{what}: ")).map_err(io)?
    } else {
        let mut s = String::new();
        stdin
            .lock()
            .take(64 * 1024)
            .read_to_string(&mut s)
            .map_err(|_| Error::Input(format!("the {what} on standard input is not UTF-8")))?;
        s
    };
    let trimmed = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    if trimmed.is_empty() {
        return Err(Error::Input(format!(
            "no {what} on standard input (pipe it in: echo \"$SECRET\" | keytui verify ID)"
        )));
    }
    Ok(trimmed.to_owned())
}

/// In a production namespace, `revoke` and `delete` need `--yes` or the namespace's name
/// typed on the terminal.
pub async fn confirm_production(store: &Store, verb: &str, id: &str, yes: bool) -> Result<()> {
    let production = store.meta().await?.is_some_and(|m| m.production);
    if !production || yes {
        return Ok(());
    }
    let ns = store.namespace().as_str();
    if !std::io::stdin().is_terminal() {
        return Err(Error::Unconfirmed(format!(
            "namespace {ns} is marked production: add --yes to {verb} {id}"
        )));
    }
    eprint!("namespace {ns} is marked production; type its name to {verb} {id}: ");
    let _ = std::io::stderr().flush();
    let line = read_answer().await?;
    if line.trim() == ns {
        Ok(())
    } else {
        Err(Error::Declined(format!(
            "not confirmed: {id} was not changed"
        )))
    }
}

/// Asks before `scan --revoke` revokes `n` keys: `y` on a terminal, the namespace's name
/// in a production namespace; elsewhere `--yes` is needed (an error without it). Standard
/// input may be the scanned text, so it asks only when both it and stderr are a terminal.
/// `false` when the user declined.
pub(crate) async fn confirm_scan_revoke(store: &Store, n: usize, yes: bool) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    let ns = store.namespace().as_str();
    let what = format!(
        "revoke {n} key{} whose secret was found",
        if n == 1 { "" } else { "s" }
    );
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(Error::Unconfirmed(format!(
            "would {what}: add --yes to confirm"
        )));
    }
    let production = store.meta().await?.is_some_and(|m| m.production);
    if production {
        eprint!("namespace {ns} is marked production; type its name to {what}: ");
    } else {
        eprint!("{what} in namespace {ns}? [y/N] ");
    }
    let _ = std::io::stderr().flush();
    let answer = read_answer().await?;
    let answer = answer.trim();
    let ok = if production {
        answer == ns
    } else {
        matches!(answer, "y" | "Y" | "yes" | "YES" | "Yes")
    };
    if !ok {
        eprintln!("keytui: nothing revoked");
    }
    Ok(ok)
}

/// One line typed at a prompt, read on a blocking thread so no runtime worker waits on the
/// terminal.
pub(crate) async fn read_answer() -> Result<String> {
    tokio::task::spawn_blocking(|| {
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map(|_| answer)
    })
    .await
    .map_err(|e| Error::io_doing("the prompt stopped", std::io::Error::other(e)))?
    .map_err(io)
}

/// [`read_secret_input`] on a blocking thread (a terminal read without echo, or all of a
/// pipe), so no runtime worker waits on standard input.
pub(crate) async fn read_secret(what: &'static str) -> Result<String> {
    tokio::task::spawn_blocking(move || read_secret_input(what))
        .await
        .map_err(|e| {
            Error::io_doing(
                format!("reading the {what} stopped"),
                std::io::Error::other(e),
            )
        })?
}
