//! Where each loaded key is among the rows: their row numbers in a hash table keyed by id.
//! Four bytes a row (a million keys take a table of 10 MB, a set of 64-bit fingerprints
//! took 19 MB), and exact: a lookup compares the ids themselves, which are in the rows.
//! Row numbers move when rows are inserted or removed before them: the callers say how
//! ([`IdIndex::remap`]).

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

use super::records::fingerprint;
use crate::tui::row::Row;

/// The row number of every loaded id; see the module doc.
#[derive(Debug, Default)]
pub struct IdIndex(HashTable<u32>);

impl IdIndex {
    /// The index of `rows`, with room for `capacity` rows (no regrowth before then).
    pub fn of(rows: &[Row], capacity: usize) -> IdIndex {
        let mut index = IdIndex(HashTable::with_capacity(capacity));
        for i in 0..rows.len() {
            index.insert(rows, i);
        }
        index
    }

    /// The row number of the row with this id.
    pub fn find(&self, rows: &[Row], id: &str) -> Option<usize> {
        self.0
            .find(fingerprint(id), |&i| {
                at(rows, i).is_some_and(|r| r.id() == id)
            })
            .map(|&i| i as usize)
    }

    /// Whether a loaded id has this fingerprint (a mark's, say).
    pub fn has_fingerprint(&self, rows: &[Row], f: u64) -> bool {
        self.0
            .find(f, |&i| {
                at(rows, i).is_some_and(|r| fingerprint(r.id()) == f)
            })
            .is_some()
    }

    /// Adds row `i` of `rows` (every row number in the index must be one of `rows`); a
    /// second row with an id already in keeps the first one's number.
    pub fn insert(&mut self, rows: &[Row], i: usize) {
        let Some(id) = rows.get(i).map(Row::id) else {
            return;
        };
        let entry = self.0.entry(
            fingerprint(id),
            |&j| at(rows, j).is_some_and(|r| r.id() == id),
            |&j| at(rows, j).map_or(0, |r| fingerprint(r.id())),
        );
        if let Entry::Vacant(slot) = entry {
            slot.insert(i as u32);
        }
    }

    /// Drops row `i` of `rows` (before it leaves `rows`).
    pub fn remove(&mut self, rows: &[Row], i: usize) {
        let Some(r) = rows.get(i) else { return };
        if let Ok(entry) = self.0.find_entry(fingerprint(r.id()), |&j| j as usize == i) {
            entry.remove();
        }
    }

    /// Moves every row number as `to` says (`None`: the row is gone).
    pub fn remap(&mut self, mut to: impl FnMut(u32) -> Option<u32>) {
        self.0.retain(|i| match to(*i) {
            Some(n) => {
                *i = n;
                true
            }
            None => false,
        });
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Panics unless every row is found at its own number (tests: the callers' remapping).
    #[cfg(test)]
    pub fn assert_matches(&self, rows: &[Row]) {
        assert_eq!(self.len(), rows.len(), "rows in the id index");
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(self.find(rows, r.id()), Some(i), "row {i} ({})", r.id());
        }
    }
}

fn at(rows: &[Row], i: u32) -> Option<&Row> {
    rows.get(i as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixtures::records;

    fn rows() -> Vec<Row> {
        records().into_iter().map(Row::from).collect()
    }

    #[test]
    fn finds_every_row_and_nothing_else() {
        let rows = rows();
        let index = IdIndex::of(&rows, 0);
        assert_eq!(index.len(), rows.len());
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(index.find(&rows, r.id()), Some(i));
        }
        assert_eq!(index.find(&rows, "no-such-id"), None);
    }

    #[test]
    fn follows_rows_inserted_and_removed() {
        let mut rows = rows();
        let mut index = IdIndex::of(&rows, 0);
        // A row in front: every number moves up by one.
        let mut fresh = records().remove(0);
        fresh.id = "Fresh1".into();
        index.remap(|i| Some(i + 1));
        rows.insert(0, Row::from(fresh));
        index.insert(&rows, 0);
        // The third row goes: the later ones move down.
        index.remove(&rows, 2);
        rows.remove(2);
        index.remap(|i| Some(if i > 2 { i - 1 } else { i }));
        assert_eq!(index.len(), rows.len());
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(index.find(&rows, r.id()), Some(i), "{}", r.id());
        }
        // A second row with a loaded id keeps the first one's number.
        rows.push(rows[1].clone());
        index.insert(&rows, rows.len() - 1);
        assert_eq!(index.find(&rows, rows[1].id()), Some(1));
        assert_eq!(index.len(), rows.len() - 1);
    }
}
