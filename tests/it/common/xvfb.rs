//! A private X server (Xvfb) for clipboard tests, and reading the clipboard back with xclip.

use std::process::{Child, Command, Stdio};

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
        // `-displayfd 1`: Xvfb picks a free display itself and writes its number to our
        // pipe once it accepts connections, so two tests starting at once can never pick
        // the same display (choosing a number here and checking for its socket could).
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-nolisten",
                "tcp",
                "-screen",
                "0",
                "640x480x24",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("Xvfb stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .expect("read the display number from Xvfb");
        let n: u32 = match line.trim().parse() {
            Ok(n) => n,
            Err(_) => {
                let _ = child.kill();
                panic!("Xvfb did not report a display number: {line:?}");
            }
        };
        Xvfb {
            child,
            display: format!(":{n}"),
        }
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
