//! `keytui create --copy` under a real X server: the clipboard holds the secret, the secret
//! verifies, and it is cleared after the timeout unless someone else replaced it.

use std::time::{Duration, Instant};

use crate::common;
use crate::common::spawn::keytui;

fn create_copy(
    x: &common::xvfb::Xvfb,
    url: &str,
    ns: &str,
    clear_after: &str,
) -> serde_json::Value {
    let o = keytui(url, ns)
        .env("DISPLAY", x.display())
        .args([
            "create",
            "--name",
            "copied",
            "--copy",
            "--clear-after",
            clear_after,
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("copied to the clipboard"));
    serde_json::from_str(String::from_utf8_lossy(&o.stdout).trim()).unwrap()
}

fn wait_until(deadline: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn copied_secret_verifies_and_is_cleared() {
    let x = common::xvfb::Xvfb::start();
    let url = common::shared_server().url();
    let ns = common::unique_namespace("clip");
    let c = create_copy(&x, &url, &ns, "2s");
    assert!(
        c["secret"].is_null() && c["token"].is_null(),
        "--copy printed the secret: {c}"
    );
    assert_eq!(c["copied_to_clipboard"], true);
    let on_clipboard = x.clipboard().expect("clipboard empty right after --copy");
    assert_eq!(on_clipboard.len(), 43, "a 256-bit base62 secret");
    // the clipboard's secret verifies
    let o = keytui(&url, &ns)
        .args(["verify", c["id"].as_str().unwrap()])
        .write_stdin(on_clipboard)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(
        wait_until(Duration::from_secs(8), || x
            .clipboard()
            .is_none_or(|t| t.is_empty())),
        "the secret is still on the clipboard"
    );
}

#[test]
fn clipboard_replaced_by_someone_else_is_left_alone() {
    let x = common::xvfb::Xvfb::start();
    let url = common::shared_server().url();
    let ns = common::unique_namespace("clip2");
    let c = create_copy(&x, &url, &ns, "2s");
    let secret = x.clipboard().expect("clipboard empty right after --copy");
    let o = keytui(&url, &ns)
        .args(["verify", c["id"].as_str().unwrap()])
        .write_stdin(secret)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    x.set_clipboard("something the user copied later");
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        x.clipboard().as_deref(),
        Some("something the user copied later")
    );
}

#[test]
fn without_a_display_the_secret_is_printed_with_a_warning() {
    let url = common::shared_server().url();
    let ns = common::unique_namespace("clip3");
    let o = keytui(&url, &ns)
        .args(["create", "--name", "n", "--copy"])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not copied"));
    assert!(String::from_utf8_lossy(&o.stdout).contains("secret:"));
}
