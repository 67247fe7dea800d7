//! `create`, `list`, `show`, `rotate` and `reveal`: making keys and reading them back.

use std::io::Write;

use crate::cli::args::*;
use crate::cli::output::*;
use crate::cli::progress::Progress;

use crate::error::{Error, Result};

use crate::keygen::{Encoding, Length, Spec};
use crate::record::{KeyRecord, RecordError, RecordView, now_ms, rfc3339};

use crate::store::{CreateRequest, KeyFilter, Listed, ListedBatch, Store, sort_records};

/// The most keys one `create --count` makes (run it again for more).
pub const MAX_CREATE_COUNT: usize = 1_000_000;

pub(crate) async fn create(store: Store, a: CreateArgs) -> Result<u8> {
    let mut out = std::io::stdout();
    if a.count == 0 {
        return Err(Error::Input("--count must be at least 1".into()));
    }
    if a.count > MAX_CREATE_COUNT {
        return Err(Error::Input(format!(
            "--count is at most {MAX_CREATE_COUNT} per call"
        )));
    }
    if a.copy && a.count != 1 {
        return Err(Error::Input("--copy works with one key at a time".into()));
    }
    let clear_after = parse_duration(&a.clear_after)?;
    let mut req = CreateRequest::new(a.name.clone());
    apply_format(&mut req, &a.format)?;
    req.expires_at = a.expires.as_deref().map(parse_expiry).transpose()?;
    req.meta = parse_meta(&a.meta)?;
    let bits = req.secret_spec.entropy_bits();
    if a.copy {
        let c = store.create(&req).await?;
        match crate::clipboard_hold::copy_in_background(c.secret.expose(), clear_after) {
            Ok(()) if !a.json => print_copied(&mut out, &c, bits, clear_after)?,
            Ok(()) => {
                eprintln!(
                    "keytui: secret copied to the clipboard; it is cleared in {}",
                    humantime::format_duration(clear_after)
                );
                print_created_json(&mut out, &c, bits, false)?;
            }
            Err(e) => {
                eprintln!("keytui: warning: not copied ({e}); the secret is printed instead");
                print_created(&mut out, &c, a.json, bits)?;
            }
        }
        return Ok(0);
    }
    let bar = Progress::new(a.count as u64, "creating");
    // Each batch is printed as soon as it is written: memory stays flat and the
    // secrets of keys already created reach the output even if a later batch fails.
    let mut w = std::io::BufWriter::with_capacity(1 << 16, &mut out);
    store
        .create_each(
            &req,
            a.count,
            |c| print_created(&mut w, &c, a.json, bits),
            |n| bar.set(n, 0),
        )
        .await?;
    w.flush().map_err(io)?;
    drop(w);
    bar.finish();
    Ok(0)
}

pub(crate) async fn list(store: Store, a: ListArgs) -> Result<u8> {
    if a.attention.is_given() || a.order.is_given() {
        return list_selected(&store, &a).await;
    }
    let mut out = std::io::stdout();
    let now = now_ms();
    // Pages are written as they arrive, while the next ones are read.
    let mut list = ListWriter::new(&mut out, a.json)?;
    let mut left = a.limit.unwrap_or(usize::MAX);
    let mut emit = |malformed: &[&RecordError], records: &[RecordView]| -> Result<()> {
        for m in malformed {
            eprintln!("keytui: warning: {}", crate::sanitize::line(&m.to_string()));
        }
        for r in records.iter().filter(|r| !r.damage.is_empty()) {
            eprintln!(
                "keytui: warning: damaged record {:?}: {} (listed anyway)",
                crate::sanitize::line(r.id),
                crate::sanitize::line(&r.damage.join("; "))
            );
        }
        for r in records.iter().filter(|r| a.status.admits(r.status_at(now))) {
            if left == 0 {
                break;
            }
            list.item(r, now)?;
            left -= 1;
        }
        Ok(())
    };
    match a.limit {
        Some(limit) if a.status == StatusFilter::All => {
            let page = store.page(0, limit).await?;
            let views: Vec<RecordView> = page.records.iter().map(KeyRecord::view).collect();
            emit(&page.malformed.iter().collect::<Vec<_>>(), &views)?;
        }
        _ => {
            let bar = Progress::new(0, "reading");
            // Printed from the bytes of the replies: no owned record is built.
            let each = |batch: ListedBatch| -> Result<()> {
                let (mut malformed, mut records) = (Vec::new(), Vec::new());
                for item in batch.read() {
                    match item {
                        Listed::Record(r) => records.push(r),
                        Listed::Malformed(m) => malformed.push(m),
                        Listed::Dangling(_) => {}
                    }
                }
                emit(&malformed.iter().collect::<Vec<_>>(), &records)
            };
            store
                .list_batches(each, |n, total| bar.set(n, total))
                .await?;
            bar.finish();
        }
    }
    list.finish()?;
    Ok(0)
}

/// `list` with attention filters or `--sort`: reads every record, then filters, sorts and
/// prints them.
async fn list_selected(store: &Store, a: &ListArgs) -> Result<u8> {
    let mut filter = KeyFilter {
        status: a.status.status(),
        ..KeyFilter::default()
    };
    a.attention.apply(&mut filter)?;
    let bar = Progress::new(0, "reading");
    let page = store.list_all(|n, total| bar.set(n, total)).await?;
    bar.finish();
    for m in &page.malformed {
        eprintln!("keytui: warning: {}", crate::sanitize::line(&m.to_string()));
    }
    let now = now_ms();
    let mut records: Vec<KeyRecord> = page
        .records
        .into_iter()
        .filter(|r| filter.matches(r, now))
        .collect();
    let (key, descending) = a.order.order();
    sort_records(&mut records, key, descending, now);
    records.truncate(a.limit.unwrap_or(usize::MAX));
    let mut list = ListWriter::new(std::io::stdout().lock(), a.json)?;
    for r in &records {
        list.item(&r.view(), now)?;
    }
    list.finish()?;
    Ok(0)
}

pub(crate) async fn show(store: Store, a: IdArgs) -> Result<u8> {
    let mut out = std::io::stdout();
    let r = store.get(&a.id).await?;
    let now = now_ms();
    if a.json {
        let s = serde_json::to_string_pretty(&r.to_json(now)).map_err(json_err)?;
        writeln!(out, "{s}").map_err(io)?;
    } else {
        print_record(&mut out, &r, now)?;
    }
    Ok(0)
}

pub(crate) async fn rotate(store: Store, a: RotateArgs) -> Result<u8> {
    let mut out = std::io::stdout();
    let req = rotate_request(&a)?;
    crate::cli::prompt::confirm_production(&store, "rotate", &a.id, a.yes).await?;
    let rotated = store.rotate(&a.id, &req).await?;
    let created = &rotated.created;
    let bits = rotated.entropy_bits;
    if a.json {
        // The created key's line, plus what the text output says about the old key.
        let mut line = Vec::new();
        print_created_json(&mut line, created, bits, true)?;
        let mut v: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&line).map_err(json_err)?;
        v.insert("old_id".into(), a.id.clone().into());
        v.insert(
            "old_expires_at".into(),
            rotated.old_expires_at.map(rfc3339).into(),
        );
        v.insert(
            "old_deleted".into(),
            rotated.old_expires_at.is_none().into(),
        );
        v.insert(
            "first_successor".into(),
            rotated.first_successor.clone().into(),
        );
        writeln!(out, "{}", serde_json::Value::Object(v)).map_err(io)?;
    } else {
        print_created(&mut out, created, false, bits)?;
        match rotated.old_expires_at {
            Some(e) => writeln!(out, "old key {} expires {}", a.id, rfc3339(e)),
            None => writeln!(out, "old key {} was deleted meanwhile", a.id),
        }
        .map_err(io)?;
        if let Some(first) = &rotated.first_successor {
            writeln!(
                out,
                "{} was rotated before: its first successor {} stays valid",
                a.id,
                crate::sanitize::line(first)
            )
            .map_err(io)?;
        }
    }
    Ok(0)
}

/// Applies the format flags to a create request.
pub fn apply_format(req: &mut CreateRequest, f: &FormatArgs) -> Result<()> {
    if f.tastypie {
        req.secret_spec = Spec::tastypie();
    } else {
        let encoding: Encoding = f.format.parse()?;
        let length = match (f.bytes, f.length) {
            (Some(b), _) => Length::Bytes(b),
            (None, Some(l)) => Length::Chars(l),
            (None, None) => Length::Bytes(32),
        };
        req.secret_spec = Spec { encoding, length };
    }
    let id_encoding: Encoding = f.id_format.parse()?;
    let default_id = Spec::id_default();
    req.id_spec = Spec {
        length: match f.id_length {
            Some(n) => Length::Chars(n),
            None if f.id_format == "base62" => default_id.length,
            None => Length::Chars(16),
        },
        encoding: id_encoding,
    };
    req.prefix = f.prefix.clone();
    req.checksum = !f.no_checksum;
    req.allow_weak = f.allow_weak;
    Ok(())
}

/// The rotate flags as overrides of the old key's shape.
pub(crate) fn rotate_request(a: &RotateArgs) -> Result<crate::store::RotateRequest> {
    let mut req = crate::store::RotateRequest::new(parse_duration(&a.grace)?);
    req.force = a.force;
    req.allow_weak = a.allow_weak;
    if a.format.is_some() || a.bytes.is_some() || a.length.is_some() {
        let encoding: Encoding = a.format.as_deref().unwrap_or("base62").parse()?;
        let length = match (a.bytes, a.length) {
            (Some(b), _) => Length::Bytes(b),
            (None, Some(l)) => Length::Chars(l),
            (None, None) => Length::Bytes(32),
        };
        req.secret_spec = Some(Spec { encoding, length });
    }
    if a.id_format.is_some() || a.id_length.is_some() {
        let encoding: Encoding = a.id_format.as_deref().unwrap_or("base62").parse()?;
        req.id_spec = Some(Spec {
            encoding,
            length: Length::Chars(a.id_length.unwrap_or(16)),
        });
    }
    req.prefix = a.prefix.clone();
    if a.no_checksum {
        req.checksum = Some(false);
    }
    req.expires_at = match a.expires.as_deref() {
        None => None,
        Some("never") => Some(None),
        Some(s) => Some(Some(parse_expiry(s)?)),
    };
    Ok(req)
}

pub async fn reveal(store: &Store, id: &str, json: bool) -> Result<u8> {
    let secret = store.reveal(id).await?;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(
            out,
            "{}",
            serde_json::json!({"id": id, "secret": secret.expose()})
        )
        .map_err(io)?;
    } else {
        writeln!(out, "{}", secret.expose()).map_err(io)?;
    }
    Ok(0)
}
