//! What docs/redis-layout.md tells other programs to do, taken from the document itself, so
//! that tests acting as such a program follow the contract as written (and fail when the
//! document and keytui drift apart).

/// The `keytui_verify_field` Lua function of "The verify field", as the document prints it.
pub fn verify_field_lua() -> String {
    let doc = include_str!("../../../docs/redis-layout.md");
    let start = doc
        .find("```lua\nlocal function keytui_verify_field(key)")
        .expect("docs/redis-layout.md shows keytui_verify_field in a ```lua block");
    let body = &doc[start + "```lua\n".len()..];
    let end = body.find("```").expect("the ```lua block ends");
    body[..end].to_owned()
}

/// An `EVAL` of `HSET` and then the document's function on `key`, in one script; the
/// field/value pairs are to be added as arguments.
fn documented_write(key: &str) -> redis::Cmd {
    let script = format!(
        "{}\nredis.call('HSET', KEYS[1], unpack(ARGV))\nkeytui_verify_field(KEYS[1])\nreturn 1",
        verify_field_lua()
    );
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(script).arg(1).arg(key);
    cmd
}

/// Sets record fields as a program following the layout would: `HSET`, then the
/// document's function, in one script.
pub fn hset_as_documented(con: &mut redis::Connection, key: &str, pairs: &[(&str, &[u8])]) {
    let mut cmd = documented_write(key);
    for (f, v) in pairs {
        cmd.arg(*f).arg(*v);
    }
    let _: i64 = cmd.query(con).expect("the documented write runs");
}

/// [`hset_as_documented`] over an async connection, with byte field names and values.
pub async fn hset_as_documented_async(
    con: &mut impl redis::aio::ConnectionLike,
    key: &str,
    pairs: &[(String, Vec<u8>)],
) {
    let mut cmd = documented_write(key);
    for (f, v) in pairs {
        cmd.arg(f.as_bytes()).arg(v.as_slice());
    }
    let _: i64 = cmd
        .query_async(con)
        .await
        .expect("the documented write runs");
}

/// Runs the document's function on `key` (after a change made by hand), as a program
/// following the layout would at the end of its script.
pub async fn rewrite_as_documented(con: &mut impl redis::aio::ConnectionLike, key: &str) {
    let script = format!(
        "{}\nkeytui_verify_field(KEYS[1])\nreturn 1",
        verify_field_lua()
    );
    let _: i64 = redis::cmd("EVAL")
        .arg(script)
        .arg(1)
        .arg(key)
        .query_async(con)
        .await
        .expect("the document's function runs");
}
