//! A private X server (Xvfb) for clipboard tests, and reading the clipboard back with xclip.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// An Xvfb server on a free display number; killed on drop.
pub struct Xvfb {
    child: Child,
    display: String,
}

impl Xvfb {
    pub fn start() -> Xvfb {
        assert!(
            Command::new("sh")
                .args(["-c", "command -v Xvfb && command -v xclip"])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success()),
            "Xvfb or xclip not found: run script/bootstrap"
        );
        for attempt in 0..20 {
            let n = 100 + (std::process::id() as usize * 7 + attempt * 13) % 800;
            if std::path::Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                || std::path::Path::new(&format!("/tmp/.X{n}-lock")).exists()
            {
                continue;
            }
            let display = format!(":{n}");
            let child = Command::new("Xvfb")
                .args([
                    display.as_str(),
                    "-nolisten",
                    "tcp",
                    "-screen",
                    "0",
                    "640x480x24",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start Xvfb");
            let mut x = Xvfb { child, display };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = x.child.try_wait() {
                    break; // display taken: try another
                }
                if std::path::Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                    return x;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = x.child.kill();
        }
        panic!("could not start Xvfb");
    }

    pub fn display(&self) -> &str {
        &self.display
    }

    /// The CLIPBOARD selection as text, or `None` when it is empty or not owned.
    pub fn clipboard(&self) -> Option<String> {
        let o = Command::new("xclip")
            .args(["-o", "-selection", "clipboard"])
            .env("DISPLAY", &self.display)
            .output()
            .ok()?;
        if o.status.success() {
            Some(String::from_utf8_lossy(&o.stdout).into_owned())
        } else {
            None
        }
    }

    /// Sets the CLIPBOARD selection from another program (xclip serves it).
    pub fn set_clipboard(&self, text: &str) {
        use std::io::Write;
        let mut c = Command::new("xclip")
            .args(["-i", "-selection", "clipboard"])
            .env("DISPLAY", &self.display)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("xclip");
        c.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        c.wait().unwrap();
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
