//! How results are printed: human lines or JSON, one record or event at a time, the report
//! of a bulk change (and the [`Selection`] it was applied to), and the I/O errors of
//! writing them (a closed pipe ends the command quietly). Asks nothing: questions are in
//! `prompt.rs`, which imports this module, never the other way.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use crate::error::{Error, Result};

use crate::record::{KeyRecord, RecordView, rfc3339};

use crate::store::{BulkOutcome, Change, Created};

/// One line of `create --json`; without the secret and token when they went to the
/// clipboard instead. (A struct rather than `json!`, so a million lines build no maps.)
pub(crate) fn print_created_json(
    out: &mut impl Write,
    c: &Created,
    bits: f64,
    with_secret: bool,
) -> Result<()> {
    #[derive(serde::Serialize)]
    struct Line<'a> {
        id: &'a str,
        secret: Option<&'a str>,
        token: Option<&'a str>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        copied_to_clipboard: bool,
        name: &'a str,
        status: &'static str,
        created_at: String,
        expires_at: Option<String>,
        meta: &'a BTreeMap<String, String>,
        entropy_bits: f64,
        rotated_from: Option<&'a str>,
    }
    let r = &c.record;
    let line = Line {
        id: &r.id,
        secret: with_secret.then(|| c.secret.expose()),
        token: with_secret.then(|| c.token.expose()),
        copied_to_clipboard: !with_secret,
        name: &r.name,
        status: r.status().as_str(),
        created_at: rfc3339(r.created_at),
        expires_at: r.expires_at.map(rfc3339),
        meta: &r.meta,
        entropy_bits: bits.floor(),
        rotated_from: r.rotated_from.as_deref(),
    };
    serde_json::to_writer(&mut *out, &line).map_err(json_err)?;
    writeln!(out).map_err(io)
}

pub(crate) fn print_created(
    out: &mut impl Write,
    c: &Created,
    json: bool,
    bits: f64,
) -> Result<()> {
    let r = &c.record;
    if json {
        return print_created_json(out, c, bits, true);
    }
    writeln!(out, "created key {:?}", crate::sanitize::line(&r.name)).map_err(io)?;
    writeln!(out, "  id:      {}", r.id).map_err(io)?;
    writeln!(out, "  secret:  {}", c.secret.expose()).map_err(io)?;
    writeln!(out, "  token:   {}", c.token.expose()).map_err(io)?;
    writeln!(out, "  entropy: {:.0} bits", bits.floor()).map_err(io)?;
    if let Some(e) = r.expires_at {
        writeln!(out, "  expires: {}", rfc3339(e)).map_err(io)?;
    }
    writeln!(out, "The secret is shown only this once: store it now.").map_err(io)?;
    Ok(())
}

pub(crate) fn print_copied(
    out: &mut impl Write,
    c: &Created,
    bits: f64,
    clear_after: Duration,
) -> Result<()> {
    let r = &c.record;
    writeln!(out, "created key {:?}", crate::sanitize::line(&r.name)).map_err(io)?;
    writeln!(out, "  id:      {}", r.id).map_err(io)?;
    writeln!(
        out,
        "  secret:  copied to the clipboard (cleared in {})",
        humantime::format_duration(clear_after)
    )
    .map_err(io)?;
    writeln!(out, "  entropy: {:.0} bits", bits.floor()).map_err(io)?;
    writeln!(
        out,
        "Paste the secret where it belongs now: it is not shown again."
    )
    .map_err(io)?;
    Ok(())
}

pub(crate) fn print_record(out: &mut impl Write, r: &KeyRecord, now: i64) -> Result<()> {
    let opt = |t: Option<i64>| t.map(rfc3339).unwrap_or_else(|| "-".into());
    let clean = crate::sanitize::line;
    let lines = [
        ("id", clean(&r.id)),
        ("name", clean(&r.name)),
        ("status", r.status_at(now).as_str().into()),
        ("created", rfc3339(r.created_at)),
        ("created by", clean(&r.created_by)),
        ("expires", opt(r.expires_at)),
        ("revoked", opt(r.revoked_at)),
        ("reason", clean(r.revoked_reason.as_deref().unwrap_or("-"))),
        ("last used", opt(r.last_used_at)),
        ("secret", r.secret_alg.as_str().into()),
        ("prefix", clean(r.token_prefix.as_deref().unwrap_or("-"))),
        (
            "rotated from",
            clean(r.rotated_from.as_deref().unwrap_or("-")),
        ),
        ("rotated to", clean(r.rotated_to.as_deref().unwrap_or("-"))),
    ];
    for (k, v) in lines {
        writeln!(out, "{k:>12}: {v}").map_err(io)?;
    }
    for (k, v) in &r.meta {
        writeln!(out, "{:>12}: {}", clean(&format!("meta.{k}")), clean(v)).map_err(io)?;
    }
    if !r.damage.is_empty() {
        writeln!(out, "{:>12}: {}", "damaged", clean(&r.damage.join("; "))).map_err(io)?;
    }
    Ok(())
}

pub(crate) fn print_event(out: &mut impl Write, e: &crate::store::Event, json: bool) -> Result<()> {
    if json {
        let s = serde_json::to_string(e).map_err(json_err)?;
        writeln!(out, "{s}").map_err(io)
    } else {
        let clean = crate::sanitize::line;
        writeln!(
            out,
            "{} {:<8} {:<24} {}{}",
            rfc3339(e.at),
            clean(&e.op),
            clean(&e.id),
            clean(&e.actor),
            e.detail
                .as_deref()
                .map(|d| format!(" ({})", clean(d)))
                .unwrap_or_default()
        )
        .map_err(io)
    }
}

pub(crate) fn report_change(
    out: &mut impl Write,
    verb: &str,
    id: &str,
    c: Change,
    json: bool,
) -> Result<u8> {
    if json {
        let v = serde_json::json!({"id": id, verb: true, "changed": c == Change::Done});
        writeln!(out, "{v}").map_err(io)?;
    } else if c == Change::Done {
        writeln!(out, "{verb} {id}").map_err(io)?;
    } else {
        writeln!(out, "{id} was already {verb}").map_err(io)?;
    }
    Ok(0)
}

/// What a bulk change applies to.
pub(crate) struct Selection {
    /// Matching keys, then (revoke of every key) the malformed records, by id.
    pub ids: Vec<String>,
    /// How many malformed records are at the end of `ids`.
    pub malformed_included: usize,
    /// Malformed records the filter could not be evaluated on: left alone.
    pub not_evaluated: Vec<String>,
}

/// `N malformed records not evaluated: id, id, ...` (at most 20 ids named).
pub(crate) fn not_evaluated_line(ids: &[String]) -> String {
    let named: Vec<String> = ids
        .iter()
        .take(20)
        .map(|i| crate::sanitize::line(i))
        .collect();
    format!(
        "{} malformed record(s) not evaluated: {}{} (see keytui doctor)",
        ids.len(),
        named.join(", "),
        if ids.len() > 20 { ", ..." } else { "" }
    )
}

pub(crate) fn report_bulk(
    out: &mut impl Write,
    verb: &str,
    sel: &Selection,
    o: &BulkOutcome,
    json: bool,
) -> Result<u8> {
    let matched = sel.ids.len() - sel.malformed_included;
    if json {
        let v = serde_json::json!({
            "matched": matched,
            verb: o.done,
            "unchanged": o.unchanged,
            "missing": o.missing,
            "malformed": o.malformed,
            "malformed_included": sel.malformed_included,
            "not_evaluated": sel.not_evaluated,
        });
        writeln!(out, "{v}").map_err(io)?;
    } else {
        write!(out, "{verb} {} of {matched} matching key(s)", o.done).map_err(io)?;
        if sel.malformed_included > 0 {
            write!(
                out,
                " and {} malformed record(s) taken by id",
                sel.malformed_included
            )
            .map_err(io)?;
        }
        if o.unchanged > 0 {
            write!(out, ", {} already {verb}", o.unchanged).map_err(io)?;
        }
        if !o.missing.is_empty() {
            write!(out, ", {} gone meanwhile", o.missing.len()).map_err(io)?;
        }
        writeln!(out).map_err(io)?;
        for id in &o.malformed {
            writeln!(
                out,
                "left unchanged: {} (malformed record: see keytui doctor)",
                crate::sanitize::line(id)
            )
            .map_err(io)?;
        }
        if !sel.not_evaluated.is_empty() {
            writeln!(out, "{}", not_evaluated_line(&sel.not_evaluated)).map_err(io)?;
        }
    }
    // Records left as they were because they could not be read: not a full success.
    if o.malformed.is_empty() && sel.not_evaluated.is_empty() {
        Ok(0)
    } else {
        Ok(crate::exit::EXIT_ERROR)
    }
}

/// `list` output written record by record: a JSON array, or a table with a header.
pub(crate) struct ListWriter<W: Write> {
    w: std::io::BufWriter<W>,
    json: bool,
    first: bool,
}

impl<W: Write> ListWriter<W> {
    pub(crate) fn new(out: W, json: bool) -> Result<Self> {
        let mut w = std::io::BufWriter::with_capacity(1 << 16, out);
        if json {
            w.write_all(b"[").map_err(io)?;
        } else {
            writeln!(
                w,
                "{:<24} {:<8} {:<20} {:<20} NAME",
                "ID", "STATUS", "CREATED", "EXPIRES"
            )
            .map_err(io)?;
        }
        Ok(Self {
            w,
            json,
            first: true,
        })
    }

    pub(crate) fn item(&mut self, r: &RecordView, now: i64) -> Result<()> {
        if self.json {
            if !self.first {
                self.w.write_all(b",\n").map_err(io)?;
            }
            serde_json::to_writer(&mut self.w, &r.to_json(now)).map_err(json_err)?;
        } else {
            writeln!(
                self.w,
                "{:<24} {:<8} {:<20} {:<20} {}{}",
                crate::sanitize::line(r.id),
                r.status_at(now).as_str(),
                rfc3339(r.created_at),
                expiry_cell(r.expires_at),
                crate::sanitize::line(&r.name),
                if r.damage.is_empty() {
                    ""
                } else {
                    " [damaged]"
                }
            )
            .map_err(io)?;
        }
        self.first = false;
        Ok(())
    }

    pub(crate) fn finish(mut self) -> Result<()> {
        if self.json {
            self.w.write_all(b"]\n").map_err(io)?;
        }
        self.w.flush().map_err(io)
    }
}

/// An expiry for tables: the RFC 3339 time, or `never`.
pub(crate) fn expiry_cell(e: Option<i64>) -> String {
    e.map(rfc3339).unwrap_or_else(|| "never".into())
}

pub(crate) fn io(e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return Error::OutputClosed;
    }
    Error::io_doing("I/O error", e)
}

pub(crate) fn json_err(e: serde_json::Error) -> Error {
    // Writing JSON to a reader that went away (`| head`) is the end of output, not an
    // error in the JSON.
    if e.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe) {
        return Error::OutputClosed;
    }
    Error::Json(e)
}
