//! Reading keys: one record, index pages, and the whole namespace in pipelined pages.
//! Records other programs damaged are reported as malformed, never a panic.
//!
//! [`parse`] turns replies into records (by field name or by position), [`batch`] keeps a
//! batch of listed replies as bytes for printing without owned records, [`list`] reads
//! records and whole namespaces, [`query`] sends one command per record in pipelines (one
//! per cluster master), [`page`] pages the index by score for long-running readers.

mod batch;
mod list;
mod page;
mod parse;
mod query;

#[cfg(test)]
pub(crate) use self::batch::TestHash;
pub use self::batch::{Listed, ListedBatch};
#[cfg(feature = "tui")]
pub(crate) use self::list::alongside;
pub use self::page::IndexPos;
pub use self::parse::*;
