//! `import`: keys made elsewhere (JSON lines, a django-tastypie ApiKey export).

use std::collections::BTreeMap;
use std::io::{Read, Write};

use serde_json::Value;

use crate::cli::args::*;
use crate::cli::output::*;
use crate::cli::progress::Progress;

use crate::error::{Error, Result};

use crate::keygen::Secret;

use crate::store::Store;
use crate::store::migrate::ImportItem;

pub async fn import(store: &Store, a: &ImportArgs) -> Result<u8> {
    let mut text = String::new();
    match a.file.as_deref() {
        None => {
            std::io::stdin()
                .lock()
                .read_to_string(&mut text)
                .map_err(io)?;
        }
        Some(p) if p.as_os_str() == "-" => {
            std::io::stdin()
                .lock()
                .read_to_string(&mut text)
                .map_err(io)?;
        }
        Some(p) => {
            text = std::fs::read_to_string(p).map_err(|e| Error::io("cannot read", p, e))?;
        }
    }
    let text = zeroize::Zeroizing::new(text);
    let parsed = parse_import(&text, a.format)?;
    // Every item is checked before anything is written; one line of error names the
    // first problem and counts the others.
    let mut first_line: std::collections::HashMap<&str, usize> = Default::default();
    let mut problems = parsed
        .items
        .iter()
        .filter_map(|(line, item)| {
            if let Some(first) = first_line.get(item.id.as_str()) {
                return Some(format!(
                    "line {line}: id {:?} is also on line {first}",
                    crate::sanitize::line(&item.id)
                ));
            }
            first_line.insert(&item.id, *line);
            crate::migrate::check_import_item(item, a.allow_weak)
                .err()
                .map(|e| format!("line {line}: {e}"))
        })
        .collect::<Vec<_>>()
        .into_iter();
    if let Some(first) = problems.next() {
        let more = problems.len();
        return Err(Error::Input(format!(
            "import: nothing was written: {first}{}",
            if more > 0 {
                format!(" (and {more} more line(s) with problems)")
            } else {
                String::new()
            }
        )));
    }
    let count = parsed.items.len();
    let items = parsed.items.into_iter().map(|(_, item)| item).collect();
    let bar = Progress::new(count as u64, "importing");
    let report = store.import(items, a.allow_weak, |n| bar.set(n, 0)).await?;
    bar.finish();
    let mut out = std::io::stdout().lock();
    if a.json {
        let v = serde_json::json!({
            "imported": report.imported,
            "skipped_existing": report.skipped_existing,
            "weak": report.weak,
            "skipped_invalid": parsed.skipped.iter().map(|s| serde_json::json!({
                "line": s.line, "id": s.id, "reason": s.reason,
            })).collect::<Vec<_>>(),
        });
        writeln!(out, "{v}").map_err(io)?;
    } else {
        let clean = crate::sanitize::line;
        writeln!(
            out,
            "imported {} of {} keys",
            report.imported,
            count + parsed.skipped.len()
        )
        .map_err(io)?;
        for id in &report.skipped_existing {
            writeln!(
                out,
                "skipped {}: a key with this id exists (not overwritten)",
                clean(id)
            )
            .map_err(io)?;
        }
        for s in &parsed.skipped {
            if s.id.is_empty() {
                writeln!(out, "skipped line {}: {}", s.line, s.reason).map_err(io)?;
            } else {
                writeln!(
                    out,
                    "skipped line {}: {:?} {}",
                    s.line,
                    clean(&s.id),
                    s.reason
                )
                .map_err(io)?;
            }
        }
        if !report.weak.is_empty() {
            writeln!(
                out,
                "{} weak secret(s) (under 128 bits) imported because of --allow-weak: {}",
                report.weak.len(),
                report
                    .weak
                    .iter()
                    .map(|i| clean(i))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
            .map_err(io)?;
        }
    }
    // Rows were given but every one was left out: that is not a successful import.
    if count == 0 && !parsed.skipped.is_empty() {
        eprintln!(
            "keytui: nothing was imported: all {} row(s) were left out",
            parsed.skipped.len()
        );
        return Ok(crate::exit::EXIT_ERROR);
    }
    Ok(0)
}

/// Import input, read and checked for shape: the items with their line numbers, and the
/// rows left out (tastypie usernames that cannot be key ids).
pub struct ParsedImport {
    pub items: Vec<(usize, ImportItem)>,
    pub skipped: Vec<SkippedRow>,
}

/// A row left out of an import, and why.
pub struct SkippedRow {
    pub line: usize,
    pub id: String,
    pub reason: String,
}

/// Parses import input. Errors name the line, never its secret. For a JSON array the
/// "line" is the row's position in the array.
pub fn parse_import(text: &str, format: ImportFormat) -> Result<ParsedImport> {
    // A UTF-8 byte order mark (some editors and Windows tools write one) is not content.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let trimmed = text.trim_start();
    let values: Vec<(usize, Value)> = if trimmed.starts_with('[') {
        let arr: Vec<Value> = serde_json::from_str(trimmed)
            .map_err(|e| Error::Input(format!("import: not a JSON array (line {})", e.line())))?;
        arr.into_iter()
            .enumerate()
            .map(|(i, v)| (i + 1, v))
            .collect()
    } else {
        let mut out = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.starts_with('{') {
                let v: Value = serde_json::from_str(line).map_err(|_| {
                    Error::Input(format!("import: line {} is not valid JSON", n + 1))
                })?;
                out.push((n + 1, v));
            } else if format == ImportFormat::Tastypie {
                let Some((user, key)) = line.split_once(',') else {
                    return Err(Error::Input(format!(
                        "import: line {} is neither JSON nor username,key",
                        n + 1
                    )));
                };
                if user.trim() == "username" {
                    continue; // a CSV header
                }
                out.push((
                    n + 1,
                    serde_json::json!({"username": user.trim(), "key": key.trim()}),
                ));
            } else {
                return Err(Error::Input(format!(
                    "import: line {} is not a JSON object",
                    n + 1
                )));
            }
        }
        out
    };
    let mut parsed = ParsedImport {
        items: Vec::with_capacity(values.len()),
        skipped: Vec::new(),
    };
    for (line, v) in values {
        // A full `dumpdata` holds rows of every model (auth.user, ...): only ApiKey rows
        // are keys; the others are left out with a note naming their model.
        if format == ImportFormat::Tastypie
            && let Some(model) = v.get("model").and_then(Value::as_str)
            && !model.eq_ignore_ascii_case("tastypie.apikey")
        {
            parsed.skipped.push(SkippedRow {
                line,
                id: String::new(),
                reason: format!(
                    "is a {} row, not tastypie.apikey: left out",
                    crate::sanitize::line(model)
                ),
            });
            continue;
        }
        let item = item_from_json(line, &v, format)?;
        if format == ImportFormat::Tastypie && !crate::layout::is_lookup_safe_id(&item.id) {
            parsed.skipped.push(SkippedRow {
                line,
                id: item.id,
                reason: "is not a valid key id (1-128 printable ASCII characters without spaces or braces): row left out".into(),
            });
            continue;
        }
        parsed.items.push((line, item));
    }
    Ok(parsed)
}

/// The username of a tastypie row: `username` (hand-made exports), or django dumpdata's
/// `fields.user`, which is `["alice"]` with `--natural-foreign`. A bare user primary key
/// names no user this side can know: refused, with the flag that fixes it.
pub(crate) fn tastypie_user(line: usize, v: &Value) -> Result<String> {
    let bad = |what: String| Error::Input(format!("import: line {line}: {what}"));
    let field = |k: &str| v.get(k).or_else(|| v.get("fields").and_then(|f| f.get(k)));
    if let Some(Value::String(u)) = field("username") {
        return Ok(u.clone());
    }
    match field("user") {
        Some(Value::String(u)) => Ok(u.clone()),
        Some(Value::Array(parts)) => match parts.as_slice() {
            [Value::String(u)] => Ok(u.clone()),
            _ => Err(bad("fields.user is not a [\"username\"] natural key".into())),
        },
        Some(Value::Number(pk)) => Err(bad(format!(
            "fields.user is the user's primary key ({pk}), not a username: export with \
             `manage.py dumpdata tastypie.ApiKey --natural-foreign` so that clients keep \
             sending `ApiKey <username>:<key>`"
        ))),
        _ => Err(bad("missing username (fields.user)".into())),
    }
}

pub(crate) fn item_from_json(line: usize, v: &Value, format: ImportFormat) -> Result<ImportItem> {
    let bad = |what: &str| Error::Input(format!("import: line {line}: {what}"));
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    // django dumpdata rows keep their fields under "fields"
    let f = |k: &str| {
        s(k).or_else(|| {
            v.get("fields")
                .and_then(|f| f.get(k))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
    };
    let (id, secret) = match format {
        ImportFormat::Tastypie => (
            tastypie_user(line, v)?,
            f("key").ok_or_else(|| bad("missing key"))?,
        ),
        ImportFormat::Jsonl => {
            let text = |k: &str| match v.get(k) {
                None | Some(Value::Null) => Err(bad(&format!("missing {k}"))),
                Some(Value::String(t)) => Ok(t.clone()),
                Some(_) => Err(bad(&format!("{k} must be a string"))),
            };
            (text("id")?, text("secret")?)
        }
    };
    let time = |k: &str| -> Result<Option<i64>> {
        match v.get(k).or_else(|| v.get("fields").and_then(|f| f.get(k))) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| bad(&format!("{k} is not unix ms"))),
            Some(Value::String(t)) => t
                .parse::<jiff::Timestamp>()
                .map(|ts| Some(ts.as_millisecond()))
                .or_else(|_| {
                    t.parse::<jiff::civil::DateTime>()
                        .ok()
                        .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC).ok())
                        .map(|z| Some(z.timestamp().as_millisecond()))
                        .ok_or(())
                })
                .map_err(|_| bad(&format!("{k} is not an RFC 3339 time"))),
            Some(_) => Err(bad(&format!("{k} is not a time"))),
        }
    };
    let mut meta = BTreeMap::new();
    if let Some(Value::Object(m)) = v.get("meta") {
        for (k, val) in m {
            let text = match val {
                Value::String(t) => t.clone(),
                other => other.to_string(),
            };
            meta.insert(k.clone(), text);
        }
    }
    if format == ImportFormat::Tastypie {
        meta.insert("source".into(), "tastypie".into());
    }
    Ok(ImportItem {
        name: s("name").unwrap_or_else(|| id.clone()),
        id,
        secret: Secret::new(secret),
        created_at: match time("created_at")? {
            Some(t) => Some(t),
            None => time("created")?,
        },
        expires_at: time("expires_at")?,
        meta,
        revoked: match s("status").as_deref() {
            None | Some("active") => false,
            Some("revoked") => true,
            Some(_) => return Err(bad("status must be active or revoked")),
        },
    })
}
