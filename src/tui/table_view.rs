//! What the key table shows and in which order: the sort ([`Sort`], the orders of
//! `keytui list --sort`) and the columns ([`Column`], metadata keys included), read from
//! and written as the config file's words (`sort = "name asc"`, `columns = ["id",
//! "meta.owner"]`). Sorting orders indices into the rows, never the rows themselves (a
//! million rows are never copied). Pure: no I/O, no drawing, no state of the app.

use crate::record::{Status, UnixMs};
pub use crate::store::SortKey;

use super::row::Row;

/// The sort keys in the order `o` cycles through them, with their config names.
pub const SORT_KEYS: [(SortKey, &str); 5] = [
    (SortKey::Name, "name"),
    (SortKey::Created, "created"),
    (SortKey::Expires, "expires"),
    (SortKey::LastUsed, "used"),
    (SortKey::Status, "status"),
];

/// An order of the table: a key and a direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

impl Sort {
    /// The key's own default direction (newest first for creation and last use).
    pub fn by(key: SortKey) -> Self {
        Sort {
            key,
            descending: key.descending_by_default(),
        }
    }

    /// The next key in [`SORT_KEYS`] after `current` (the first when unsorted), in its
    /// default direction.
    pub fn cycle(current: Option<Sort>) -> Sort {
        let at = current.and_then(|s| SORT_KEYS.iter().position(|(k, _)| *k == s.key));
        let next = at.map_or(0, |i| (i + 1) % SORT_KEYS.len());
        Sort::by(SORT_KEYS[next].0)
    }

    /// Reads `name`, `expires desc`, `used asc` (also `last_used`, `last-used`).
    pub fn parse(s: &str) -> Result<Sort, String> {
        let mut words = s.split_whitespace();
        let field = words.next().unwrap_or("");
        let key = sort_key(field)?;
        let mut sort = Sort::by(key);
        match words.next() {
            None => {}
            Some("asc") => sort.descending = false,
            Some("desc") => sort.descending = true,
            Some(other) => return Err(format!("{other:?}: give asc or desc")),
        }
        if let Some(extra) = words.next() {
            return Err(format!("{extra:?}: a sort is a field and asc or desc"));
        }
        Ok(sort)
    }

    /// How the config file writes it: `name asc`.
    pub fn to_config(self) -> String {
        let name = SORT_KEYS
            .iter()
            .find(|(k, _)| *k == self.key)
            .map_or("created", |(_, n)| n);
        format!("{name} {}", if self.descending { "desc" } else { "asc" })
    }

    /// The column this order is shown on.
    pub fn column(self) -> Column {
        match self.key {
            SortKey::Name => Column::Name,
            SortKey::Created => Column::Created,
            SortKey::Expires => Column::Expires,
            SortKey::LastUsed => Column::LastUsed,
            SortKey::Status => Column::Status,
        }
    }
}

fn sort_key(field: &str) -> Result<SortKey, String> {
    let f = field.to_ascii_lowercase().replace(['-', '_'], "");
    match f.as_str() {
        "lastused" => return Ok(SortKey::LastUsed),
        "age" => return Ok(SortKey::Created),
        _ => {}
    }
    SORT_KEYS
        .iter()
        .find(|(_, n)| *n == f)
        .map(|(k, _)| *k)
        .ok_or_else(|| {
            let names: Vec<&str> = SORT_KEYS.iter().map(|(_, n)| *n).collect();
            format!("cannot sort by {field:?}: give {}", names.join(", "))
        })
}

/// Sorts `visible` (indices into `records`, which are newest first) by `sort`; values
/// that are absent (no expiry, never used) come last in either direction; ties keep the
/// newest first. Each index gets one 64-bit key, so the sort compares integers (names
/// that tie in their first 8 bytes are sorted again by the next 8, and so on).
pub fn sort_indices(records: &[Row], visible: &mut Vec<u32>, sort: Sort, now: UnixMs) {
    let dir = |k: u64| if sort.descending { !k } else { k };
    let signed = |v: i64| (v as u64) ^ (1 << 63);
    let key = |r: &Row| -> u64 {
        match sort.key {
            SortKey::Name => dir(name_prefix(r.name())),
            SortKey::Created => dir(signed(r.created_at)),
            SortKey::Expires => r.expires_at().map_or(u64::MAX, |t| dir(signed(t))),
            SortKey::LastUsed => r.last_used_at().map_or(u64::MAX, |t| dir(signed(t))),
            SortKey::Status => dir(status_rank(r.status_at(now))),
        }
    };
    let mut keyed: Vec<(u64, u32)> = visible
        .iter()
        .filter_map(|&i| records.get(i as usize).map(|r| (key(r), i)))
        .collect();
    keyed.sort_unstable();
    if sort.key == SortKey::Name {
        // Names sharing their first 8 bytes: the next 8, and so on (integers throughout).
        for run in keyed.chunk_by_mut(|a, b| a.0 == b.0) {
            by_name_from(records, run, 1, sort.descending);
        }
    }
    visible.clear();
    visible.extend(keyed.into_iter().map(|(_, i)| i));
}

/// Whether the row at index `a` comes before the one at `b` in `sort` (the order of
/// [`sort_indices`]).
fn before(records: &[Row], a: u32, b: u32, sort: Sort, now: UnixMs) -> bool {
    let mut pair = vec![a, b];
    sort_indices(records, &mut pair, sort, now);
    pair[0] == a
}

/// Merges `page` (sorted by `sort`) into `visible` (sorted too): each row of the page
/// finds its place by binary search, then the rows are copied once (a page appended to a
/// million sorted rows costs a few thousand comparisons, not a new sort).
pub fn merge_sorted(
    records: &[Row],
    visible: &mut Vec<u32>,
    page: &[u32],
    sort: Sort,
    now: UnixMs,
) {
    if page.is_empty() {
        return;
    }
    let mut merged = Vec::with_capacity(visible.len() + page.len());
    let mut from = 0;
    for &p in page {
        let at = from + visible[from..].partition_point(|&v| before(records, v, p, sort, now));
        merged.extend_from_slice(&visible[from..at]);
        merged.push(p);
        from = at;
    }
    merged.extend_from_slice(&visible[from..]);
    *visible = merged;
}

/// Orders `run` (names equal in their first `chunk` 8-byte chunks) by the following
/// chunks, one at a time; names equal throughout stay newest first.
fn by_name_from(records: &[Row], run: &mut [(u64, u32)], chunk: usize, descending: bool) {
    if run.len() < 2
        || run
            .iter()
            .all(|&(_, i)| records[i as usize].name().len() <= chunk * 8)
    {
        return;
    }
    for e in run.iter_mut() {
        let k = name_chunk(records[e.1 as usize].name(), chunk);
        e.0 = if descending { !k } else { k };
    }
    run.sort_unstable();
    for sub in run.chunk_by_mut(|a, b| a.0 == b.0) {
        by_name_from(records, sub, chunk + 1, descending);
    }
}

fn status_rank(s: Status) -> u64 {
    match s {
        Status::Active => 0,
        Status::Expired => 1,
        Status::Revoked => 2,
    }
}

/// The first 8 bytes of a name, ASCII lower-cased, as a big-endian number.
fn name_prefix(name: &str) -> u64 {
    name_chunk(name, 0)
}

/// Bytes `8 * chunk ..` of a name (zero past its end), ASCII lower-cased, big-endian.
fn name_chunk(name: &str, chunk: usize) -> u64 {
    let mut b = [0u8; 8];
    let bytes = name.as_bytes().get(chunk * 8..).unwrap_or(&[]);
    for (d, s) in b.iter_mut().zip(bytes) {
        *d = s.to_ascii_lowercase();
    }
    u64::from_be_bytes(b)
}

/// A column of the key table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Column {
    Status,
    Name,
    /// The whole id (cut only when the screen is too narrow).
    Id,
    /// The token prefix.
    Prefix,
    CreatedBy,
    /// When it was created, as an age.
    Created,
    Expires,
    LastUsed,
    /// The value of one metadata key.
    Meta(String),
}

/// The columns shown when the config file names none.
pub fn default_columns() -> Vec<Column> {
    vec![
        Column::Status,
        Column::Name,
        Column::Id,
        Column::Created,
        Column::Expires,
        Column::LastUsed,
    ]
}

/// The column names (`meta.<key>` besides), for completion and help.
pub const COLUMN_NAMES: [&str; 8] = [
    "status",
    "name",
    "id",
    "prefix",
    "created_by",
    "age",
    "expires",
    "used",
];

impl Column {
    /// Reads one name: `id`, `created_by`, `meta.owner`, …
    pub fn parse(s: &str) -> Result<Column, String> {
        let s = s.trim();
        if let Some(k) = s.strip_prefix("meta.") {
            if k.is_empty() {
                return Err("meta. needs a metadata key: meta.owner".into());
            }
            return Ok(Column::Meta(k.to_owned()));
        }
        Ok(match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "status" => Column::Status,
            "name" => Column::Name,
            "id" => Column::Id,
            "prefix" | "token_prefix" => Column::Prefix,
            "created_by" | "by" => Column::CreatedBy,
            "age" | "created" => Column::Created,
            "expires" => Column::Expires,
            "used" | "last_used" => Column::LastUsed,
            _ => {
                return Err(format!(
                    "no column {s:?}: give {} or meta.<key>",
                    COLUMN_NAMES.join(", ")
                ));
            }
        })
    }

    /// Reads a list, `id,name,meta.owner` (commas or spaces); the name is always shown.
    pub fn parse_list(s: &str) -> Result<Vec<Column>, String> {
        let cols = s
            .split([',', ' '])
            .filter(|w| !w.trim().is_empty())
            .map(Column::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Self::checked(cols)
    }

    /// A list as given, or why not (empty, without the name, or a column named twice).
    pub fn checked(cols: Vec<Column>) -> Result<Vec<Column>, String> {
        if !cols.contains(&Column::Name) {
            return Err("the columns must include name".into());
        }
        if let Some((_, c)) = cols
            .iter()
            .enumerate()
            .find(|(i, c)| cols[..*i].contains(c))
        {
            return Err(format!("{} is named twice", c.config_name()));
        }
        Ok(cols)
    }

    /// The name the config file and `:columns` use.
    pub fn config_name(&self) -> String {
        match self {
            Column::Status => "status".into(),
            Column::Name => "name".into(),
            Column::Id => "id".into(),
            Column::Prefix => "prefix".into(),
            Column::CreatedBy => "created_by".into(),
            Column::Created => "age".into(),
            Column::Expires => "expires".into(),
            Column::LastUsed => "used".into(),
            Column::Meta(k) => format!("meta.{k}"),
        }
    }

    /// The header text.
    pub fn title(&self) -> String {
        match self {
            Column::Status => "STATUS".into(),
            Column::Name => "NAME".into(),
            Column::Id => "ID".into(),
            Column::Prefix => "PREFIX".into(),
            Column::CreatedBy => "BY".into(),
            Column::Created => "AGE".into(),
            Column::Expires => "EXPIRES".into(),
            Column::LastUsed => "USED".into(),
            Column::Meta(k) => crate::sanitize::line(k).to_uppercase(),
        }
    }
}

/// What the table shows: the columns and the order (`None`: newest first, or best match
/// first while a filter is typed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableView {
    pub columns: Vec<Column>,
    pub sort: Option<Sort>,
}

impl Default for TableView {
    fn default() -> Self {
        TableView {
            columns: default_columns(),
            sort: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixtures::{NOW, records};

    fn names(rows: &[Row], v: &[u32]) -> Vec<String> {
        v.iter()
            .map(|&i| rows[i as usize].name().to_owned())
            .collect()
    }

    #[test]
    fn a_column_named_twice_is_refused() {
        let e = Column::parse_list("name,status,status").unwrap_err();
        assert!(e.contains("status is named twice"), "{e}");
        let e = Column::parse_list("name,meta.k1,meta.k1").unwrap_err();
        assert!(e.contains("meta.k1 is named twice"), "{e}");
        assert!(Column::parse_list("name,meta.k1,meta.k2").is_ok());
    }

    #[test]
    fn sorting_orders_indices_like_list_sort() {
        let recs = records();
        let rows: Vec<Row> = recs.iter().cloned().map(Row::from).collect();
        for (key, _) in SORT_KEYS {
            for descending in [false, true] {
                let sort = Sort { key, descending };
                let mut v: Vec<u32> = (0..rows.len() as u32).collect();
                sort_indices(&rows, &mut v, sort, NOW);
                let mut want = recs.clone();
                crate::store::sort_records(&mut want, key, descending, NOW);
                let want: Vec<String> = want
                    .into_iter()
                    .map(|r| Row::from(r).name().to_owned())
                    .collect();
                assert_eq!(names(&rows, &v), want, "{sort:?}");
            }
        }
    }

    #[test]
    fn a_sorted_page_merged_in_gives_the_whole_sort() {
        let rows: Vec<Row> = (0..300)
            .map(|i| {
                let mut r = crate::tui::fixtures::record(i % 7, "x");
                r.name = format!("svc-{:03}-{}", (i * 37) % 101, i % 3);
                r.id = format!("I{i:04}");
                r.expires_at = (i % 4 != 0).then_some(NOW + (i as i64 % 13) * 1000);
                Row::from(r)
            })
            .collect();
        for (key, _) in SORT_KEYS {
            for descending in [false, true] {
                let sort = Sort { key, descending };
                let mut all: Vec<u32> = (0..rows.len() as u32).collect();
                sort_indices(&rows, &mut all, sort, NOW);
                let mut first: Vec<u32> = (0..200).collect();
                sort_indices(&rows, &mut first, sort, NOW);
                let mut page: Vec<u32> = (200..300).collect();
                sort_indices(&rows, &mut page, sort, NOW);
                merge_sorted(&rows, &mut first, &page, sort, NOW);
                assert_eq!(first, all, "{sort:?}");
            }
        }
    }

    #[test]
    fn names_sharing_a_long_prefix_sort_in_full() {
        let mut recs = records();
        recs[0].name = "service-billing-b".into();
        recs[1].name = "SERVICE-billing-a".into();
        recs[2].name = "service-b".into();
        let rows: Vec<Row> = recs.into_iter().map(Row::from).collect();
        let mut v = vec![0, 1, 2];
        sort_indices(&rows, &mut v, Sort::parse("name").unwrap(), NOW);
        assert_eq!(v, [2, 1, 0]);
        sort_indices(&rows, &mut v, Sort::parse("name desc").unwrap(), NOW);
        assert_eq!(v, [0, 1, 2]);
    }

    #[test]
    fn sorts_and_columns_read_and_write_their_config_words() {
        assert_eq!(Sort::parse("expires").unwrap(), Sort::by(SortKey::Expires));
        let s = Sort::parse("last-used asc").unwrap();
        assert_eq!((s.key, s.descending), (SortKey::LastUsed, false));
        assert_eq!(Sort::parse(&s.to_config()).unwrap(), s);
        assert!(
            Sort::parse("colour")
                .unwrap_err()
                .contains("cannot sort by")
        );
        assert!(Sort::parse("name up").is_err());
        let cols = Column::parse_list("id,name, meta.owner created_by").unwrap();
        assert_eq!(
            cols,
            [
                Column::Id,
                Column::Name,
                Column::Meta("owner".into()),
                Column::CreatedBy
            ]
        );
        let words: Vec<String> = cols.iter().map(Column::config_name).collect();
        assert_eq!(Column::parse_list(&words.join(",")).unwrap(), cols);
        assert!(
            Column::parse_list("id,owner")
                .unwrap_err()
                .contains("no column")
        );
        assert!(Column::parse_list("id").unwrap_err().contains("name"));
    }

    #[test]
    fn o_cycles_every_key_then_starts_again() {
        let mut s = None;
        let mut seen = Vec::new();
        for _ in 0..SORT_KEYS.len() + 1 {
            let next = Sort::cycle(s);
            seen.push(next.key);
            s = Some(next);
        }
        assert_eq!(seen[0], SortKey::Name);
        assert_eq!(seen[SORT_KEYS.len()], SortKey::Name);
        assert_eq!(seen[4], SortKey::Status);
    }

    /// `cargo test --release --lib tui::table_view -- --ignored --nocapture`: each order
    /// of a million rows, timed.
    #[test]
    #[ignore]
    fn bench_sort_1m() {
        let rows: Vec<Row> = (0..1_000_000usize)
            .map(|i| {
                let mut r = crate::tui::fixtures::record(i % 90, "x");
                r.name = format!("service-{:07}", (i * 7919) % 1_000_000);
                r.id = format!("I{i:07}");
                r.expires_at = (i % 3 == 0).then_some(NOW + (i as i64 % 1000) * 60_000);
                r.last_used_at = (i % 2 == 0).then_some(NOW - (i as i64 % 5000) * 1000);
                Row::from(r)
            })
            .collect();
        for (key, name) in SORT_KEYS {
            let mut v: Vec<u32> = (0..rows.len() as u32).collect();
            let t = std::time::Instant::now();
            sort_indices(&rows, &mut v, Sort::by(key), NOW);
            eprintln!(
                "sort 1M by {name}: {:.0} ms",
                t.elapsed().as_secs_f64() * 1e3
            );
        }
    }
}
