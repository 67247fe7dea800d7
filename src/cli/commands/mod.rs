//! One file per command group; each function runs one command on an open store and
//! returns its exit code. Argument types come from [`super::args`], printing from
//! [`super::output`]; no file here calls another.

pub(crate) mod change;
pub(crate) mod edit;
pub(crate) mod events;
pub(crate) mod import;
pub(crate) mod keys;
pub(crate) mod namespace;
pub(crate) mod scan;
pub(crate) mod verify;
