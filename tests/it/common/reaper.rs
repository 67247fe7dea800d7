//! Child processes that die with the test process: every `redis-server` (and the
//! `redis-cli --cluster create` run) is spawned from one long-lived helper thread with
//! `prctl(PR_SET_PDEATHSIG, SIGKILL)`, so it dies even when the test process is killed (the
//! signal fires when the *spawning thread* exits, hence the dedicated thread). The shared
//! instances are also killed, and their directories removed, by an `atexit` handler.
//!
//! Owns only process spawning and exit cleanup; knows nothing about Redis.

use std::io;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::{Mutex, OnceLock, mpsc};
use std::thread;

pub type CommandFactory = Box<dyn FnOnce() -> Command + Send>;
type SpawnRequest = (CommandFactory, mpsc::Sender<io::Result<Child>>);

/// Spawns the command from a helper thread that lives as long as the process, with
/// `PR_SET_PDEATHSIG = SIGKILL`: the child is killed when the test process ends, however it
/// ends. (The death signal follows the *thread* that forked, so it must not be a test thread.)
pub fn spawn_tied_to_process(factory: CommandFactory) -> io::Result<Child> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        thread::Builder::new()
            .name("redis-spawner".into())
            .spawn(move || {
                for (factory, reply) in rx {
                    let mut cmd = factory();
                    let parent = std::process::id() as libc::pid_t;
                    // SAFETY: the closure only calls async-signal-safe functions
                    // (prctl, getppid) and does not allocate.
                    unsafe {
                        cmd.pre_exec(move || {
                            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                                return Err(io::Error::last_os_error());
                            }
                            if libc::getppid() != parent {
                                // The test process died before prctl took effect.
                                return Err(io::Error::from_raw_os_error(libc::ESRCH));
                            }
                            Ok(())
                        });
                    }
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("spawn the redis-spawner thread");
        Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    spawner
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send((factory, reply_tx))
        .expect("redis-spawner thread is alive");
    reply_rx.recv().expect("redis-spawner thread replies")
}

// --- cleanup of the shared instances at process exit -----------------------------------

static EXIT_CLEANUP: Mutex<Vec<(libc::pid_t, PathBuf)>> = Mutex::new(Vec::new());

pub fn register_exit_cleanup(pid: u32, dir: PathBuf) {
    static REGISTERED: OnceLock<()> = OnceLock::new();
    REGISTERED.get_or_init(|| {
        // SAFETY: registering a plain `extern "C"` function that never unwinds.
        unsafe {
            libc::atexit(cleanup_at_exit);
        }
    });
    EXIT_CLEANUP
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((pid as libc::pid_t, dir));
}

extern "C" fn cleanup_at_exit() {
    let _ = std::panic::catch_unwind(|| {
        let Ok(mut list) = EXIT_CLEANUP.try_lock() else {
            return;
        };
        for (pid, dir) in list.drain(..) {
            // SAFETY: `pid` is our own child, not yet reaped (its `Child` lives in a static).
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
            let _ = std::fs::remove_dir_all(dir);
        }
    });
}
