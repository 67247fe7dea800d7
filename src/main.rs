use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fix_mmap_threshold();
    let mut args = std::env::args();
    if args.nth(1).as_deref() == Some(keytui::clipboard_hold::HOLD_COMMAND) {
        return keytui::clipboard_hold::hold(&args.next().unwrap_or_default());
    }
    keytui::app::main(keytui::cli::Cli::parse())
}

/// glibc raises its mmap threshold each time a large block is freed, after which blocks of
/// a megabyte or two come from an arena instead of a mapping of their own. The TUI's loader
/// thread allocates such a block per page of records and the UI thread frees it; inside the
/// loader's arena they were not reused, and a million keys left about 250 MB of holes (RSS
/// 460-510 MB for 236 MB of live data, measured with `malloc_info` and heaptrack). A fixed
/// threshold keeps every block of 128 KiB and more in its own mapping, returned when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn fix_mmap_threshold() {
    // SAFETY: `mallopt` sets an allocator parameter and touches no memory of ours; it is
    // called first thing in `main`, before any other thread exists.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}
