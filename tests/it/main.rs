//! The integration tests, linked into one binary (`cargo test --test it`): one link
//! instead of one per file. Each module is one area; the harness is [`common`].
//!
//! Filter by module path: `cargo test --test it store::` or `cargo test --test it
//! cluster::rotate`.

#[macro_use]
mod common;

mod bulk;
mod cli;
mod clipboard;
mod edit;
mod guard_cli;
mod guard_store;
mod harness;
mod import_tastypie;
mod layout2;
mod list_select;
mod modes;
mod namespaces;
mod order_history;
mod robust;
mod scan;
mod store;
mod tui_bulk;
mod tui_daily;
mod tui_e2e;
mod tui_guard;
mod tui_leak;
mod tui_sync;
mod verify_lib;
