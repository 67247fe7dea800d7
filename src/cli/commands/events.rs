//! `events`: the audit log, once or followed.

use std::io::Write;
use std::time::Duration;

use crate::cli::args::*;
use crate::cli::output::*;

use crate::conn::{self, ConnectOptions};
use crate::error::Result;

use crate::store::Store;

/// The most past events `events --count` prints.
pub const MAX_EVENTS_COUNT: usize = 1_000_000;

pub(crate) async fn events(store: Store, opts: &ConnectOptions, a: EventsArgs) -> Result<u8> {
    let mut out = std::io::stdout();
    if a.count > MAX_EVENTS_COUNT {
        return Err(crate::error::Error::Input(format!(
            "--count is at most {MAX_EVENTS_COUNT}"
        )));
    }
    let past = store.recent_events(a.count).await?;
    let mut cursor = store.last_event_cursor().await?;
    for e in &past {
        print_event(&mut out, e, a.json)?;
    }
    out.flush().map_err(io)?;
    if a.follow {
        let block = Duration::from_secs(5);
        let mut blocking = conn::connect_blocking(opts, block).await?;
        loop {
            let events =
                Store::wait_events(&mut blocking, store.namespace(), &cursor, block, 500).await?;
            for e in &events {
                print_event(&mut out, e, a.json)?;
                cursor = e.cursor.clone();
            }
            out.flush().map_err(io)?;
        }
    }
    Ok(0)
}
