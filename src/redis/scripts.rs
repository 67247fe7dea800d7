//! Every Lua script keytui sends to Redis, in one place, with the hash-cached form
//! ([`Lua`]) the store loads them through. Scripts touch one record key (and, for the
//! batch forms, keys of one hash slot); docs/redis-layout.md "Write paths" says why.

use std::sync::LazyLock;

/// Creates a hash only if its key does not exist yet; ARGV holds field/value pairs. For
/// the namespace's meta hash; a key record is created by [`CREATE_RECORD`], which also
/// writes its `verify` field.
pub(crate) const CREATE_HASH: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1";

/// The Lua function that (re)writes a record's `verify` field from its other fields:
/// docs/redis-layout.md, "The verify field", word for word. Every script that writes a
/// field `verify` is made of (`status`, `secret_alg`, `secret`, `expires_at`,
/// `token_checksum`, `name`) calls it after the write, so the two never disagree.
/// [`crate::record::verify_field`] is its Rust twin, for checking (doctor, tests).
pub(crate) const VERIFY_FIELD: &str = r"
local function keytui_verify_field(key)
  local f = redis.call('HMGET', key, 'status', 'secret_alg', 'secret', 'expires_at',
    'token_checksum', 'name')
  if not (f[1] or f[2] or f[3]) then
    redis.call('HDEL', key, 'verify')
    return
  end
  local v = 'malformed'
  if f[1] and f[2] and f[3] then
    local parts = {'revoked', f[2], f[4] or '', f[5] or '0', f[3]}
    if f[1] == 'active' then parts[1] = 'active' end
    local clean = true
    for i = 2, 5 do
      if string.find(parts[i], '\t', 1, true) then clean = false end
    end
    if clean then v = table.concat(parts, '\t') .. '\t' .. (f[6] or '') end
  end
  redis.call('HSET', key, 'verify', v)
end
";

/// `script` after the [`VERIFY_FIELD`] function it calls.
fn with_verify_field(script: &str) -> String {
    format!("{VERIFY_FIELD}{script}")
}

/// Creates a key record only if its key does not exist yet; ARGV holds field/value pairs.
/// Writes the record's `verify` field too.
pub(crate) static CREATE_RECORD: LazyLock<String> = LazyLock::new(|| {
    with_verify_field(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
keytui_verify_field(KEYS[1])
return 1",
    )
});

/// Sets fields of an existing record (ARGV: field/value pairs) and rewrites its `verify`
/// field; a missing record stays missing. Returns 1 written, 0 no record.
pub(crate) static SET_FIELDS: LazyLock<String> = LazyLock::new(|| {
    with_verify_field(
        r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
keytui_verify_field(KEYS[1])
return 1",
    )
});

/// Rewrites the `verify` field of the record (`keytui upgrade`, `doctor --repair`). Returns
/// 1 done, 2 done but the value is `malformed` although the record is active and holds
/// `secret_alg` and `secret` (a tab in one of the parts: apps reading `verify` never
/// accept it), 0 the key is missing or not a hash (left alone).
pub(crate) static REWRITE_VERIFY: LazyLock<String> = LazyLock::new(|| {
    with_verify_field(
        r"
if redis.call('TYPE', KEYS[1])['ok'] ~= 'hash' then return 0 end
keytui_verify_field(KEYS[1])
if redis.call('HGET', KEYS[1], 'verify') == 'malformed'
  and redis.call('HGET', KEYS[1], 'status') == 'active'
  and redis.call('HEXISTS', KEYS[1], 'secret_alg') == 1
  and redis.call('HEXISTS', KEYS[1], 'secret') == 1 then
  return 2
end
return 1",
    )
});

/// Moves a namespace's layout version from ARGV[1] to ARGV[2]. KEYS: the meta hash.
/// Returns 1 moved, 0 the layout was not ARGV[1] (nothing changed). Compared as numbers,
/// as the layout gate reads them (`01` is 1).
pub(crate) const SET_LAYOUT: &str = r"
if tonumber(redis.call('HGET', KEYS[1], 'layout') or '') ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'layout', ARGV[2])
return 1";

/// A script sent with `EVALSHA` in pipelines (see [`load_script`]); the hash is computed
/// once.
pub(crate) struct Lua {
    pub(crate) text: &'static LazyLock<String>,
    pub(crate) script: LazyLock<redis::Script>,
}

pub(crate) static CREATE_RECORD_LUA: Lua = Lua {
    text: &CREATE_RECORD,
    script: LazyLock::new(|| redis::Script::new(&CREATE_RECORD)),
};

pub(crate) static REVOKE_LUA: Lua = Lua {
    text: &REVOKE,
    script: LazyLock::new(|| redis::Script::new(&REVOKE)),
};

pub(crate) static RESTORE_LUA: Lua = Lua {
    text: &RESTORE,
    script: LazyLock::new(|| redis::Script::new(&RESTORE)),
};

pub(crate) static EXTEND_LUA: Lua = Lua {
    text: &EXTEND,
    script: LazyLock::new(|| redis::Script::new(&EXTEND)),
};

pub(crate) static REWRITE_VERIFY_LUA: Lua = Lua {
    text: &REWRITE_VERIFY,
    script: LazyLock::new(|| redis::Script::new(&REWRITE_VERIFY)),
};

/// Moves a key's expiry later. ARGV: now, ms to add, the latest expiry allowed. The new
/// expiry is the old one (or now, when it is past) plus the ms, at most the latest allowed;
/// `lifetime_ms` becomes the time from now to it, as an edit of the expiry sets it. Returns
/// `{1, old, new}` extended, `{0, '', ''}` the key never expires or is at the latest expiry
/// allowed already (left unchanged), `{-1, '', ''}` unknown, `{-2, '', ''}` an `expires_at` that is
/// not a number, `{-3, '', ''}` a record key that is not a hash.
pub(crate) static EXTEND: LazyLock<String> = LazyLock::new(|| {
    with_verify_field(
        r"
local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'none' then return {-1, '', ''} end
if t ~= 'hash' then return {-3, '', ''} end
if redis.call('HEXISTS', KEYS[1], 'status') == 0 then return {-1, '', ''} end
local old = redis.call('HGET', KEYS[1], 'expires_at')
if (not old) or old == '' then return {0, '', ''} end
local e = tonumber(old)
if not e then return {-2, '', ''} end
local now = tonumber(ARGV[1])
local max = tonumber(ARGV[3])
if e >= max then return {0, '', ''} end
local from = e
if from < now then from = now end
local at = from + tonumber(ARGV[2])
if at > max then at = max end
local new = string.format('%d', at)
redis.call('HSET', KEYS[1], 'expires_at', new, 'lifetime_ms', string.format('%d', at - now))
keytui_verify_field(KEYS[1])
return {1, old, new}",
    )
});

/// The index score of a key created at unix ms `created` (a string): `created` itself, or,
/// when keys created in the same millisecond are indexed already, just above the highest of
/// them, so that the index keeps creation order within a millisecond. The integer part of
/// a score is always `created` (see docs/redis-layout.md, "Browsing").
pub(crate) const INDEX_SCORE: &str = r"
local function index_score(index, created)
  local c = tonumber(created)
  local top = redis.call('ZREVRANGEBYSCORE', index, '(' .. string.format('%d', c + 1), created,
    'WITHSCORES', 'LIMIT', 0, 1)
  if #top == 0 then return created end
  local base = tonumber(top[2])
  local step = 1 / 4096
  while base + step == base do step = step * 2 end
  local s = base + step
  if s >= c + 1 then return top[2] end
  return string.format('%.17g', s)
end
";

/// Creates a batch of keys on a standalone server, atomically. KEYS: index, events, then
/// one record key per new key, then one history key per new key. ARGV: events maxlen,
/// actor, now, history maxlen, then per key: id, created_at, name, the number N of
/// field/value arguments, and those N arguments. For each key: unless its record exists or
/// its id is already indexed, `ZADD NX` the index (scored by [`INDEX_SCORE`]), `HSET` the
/// record and `XADD` a `create` event to the events and to the key's history. Returns one
/// 1 (created) or 0 (collision) per key.
pub(crate) static CREATE_BATCH: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{VERIFY_FIELD}{INDEX_SCORE}{}",
        r"
local out = {}
local a = 5
local n = (#KEYS - 2) / 2
for i = 3, 2 + n do
  local id, created, name, m = ARGV[a], ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  a = a + 4
  local ok = 0
  if redis.call('EXISTS', KEYS[i]) == 0
    and redis.call('ZADD', KEYS[1], 'NX', index_score(KEYS[1], created), id) == 1 then
    redis.call('HSET', KEYS[i], unpack(ARGV, a, a + m - 1))
    keytui_verify_field(KEYS[i])
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'op', 'create', 'id', id,
      'actor', ARGV[2], 'at', ARGV[3], 'detail', name)
    redis.call('XADD', KEYS[i + n], 'MAXLEN', '~', ARGV[4], '*', 'op', 'create', 'id', id,
      'actor', ARGV[2], 'at', ARGV[3], 'detail', name)
    ok = 1
  end
  out[#out + 1] = ok
  a = a + m
end
return out"
    )
});

/// Indexes a batch of new keys (cluster create, step 1). KEYS: the index. ARGV: created_at
/// and id per key. `ZADD NX` each, scored by [`INDEX_SCORE`]; returns 1 (indexed) or 0
/// (already indexed) per key.
pub(crate) static INDEX_BATCH: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{INDEX_SCORE}{}",
        r"
local out = {}
for i = 1, #ARGV, 2 do
  out[#out + 1] = redis.call('ZADD', KEYS[1], 'NX', index_score(KEYS[1], ARGV[i]), ARGV[i + 1])
end
return out"
    )
});

pub(crate) static INDEX_BATCH_LUA: Lua = Lua {
    text: &INDEX_BATCH,
    script: LazyLock::new(|| redis::Script::new(&INDEX_BATCH)),
};

pub(crate) static CREATE_BATCH_LUA: Lua = Lua {
    text: &CREATE_BATCH,
    script: LazyLock::new(|| redis::Script::new(&CREATE_BATCH)),
};

/// ARGV: now, reason. Returns 1 revoked, 0 already revoked, -1 unknown, -2 malformed
/// status (missing, or neither active nor revoked), -3 a record key that is not a hash.
pub(crate) static REVOKE: LazyLock<String> = LazyLock::new(|| {
    with_verify_field(
        r"
local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'none' then return -1 end
if t ~= 'hash' then return -3 end
local s = redis.call('HGET', KEYS[1], 'status')
if not s then return -2 end
if s == 'revoked' then
  -- Revoked already (perhaps by a hand-made HSET): make sure verify says so too.
  keytui_verify_field(KEYS[1])
  return 0
end
if s ~= 'active' then return -2 end
redis.call('HSET', KEYS[1], 'status', 'revoked', 'revoked_at', ARGV[1])
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'revoked_reason', ARGV[2]) end
keytui_verify_field(KEYS[1])
return 1",
    )
});

/// Returns 1 restored, 0 already active, -1 unknown, -2 malformed status (missing, or
/// neither active nor revoked), -3 a record key that is not a hash.
pub(crate) static RESTORE: LazyLock<String> = LazyLock::new(|| {
    with_verify_field(
        r"
local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'none' then return -1 end
if t ~= 'hash' then return -3 end
local s = redis.call('HGET', KEYS[1], 'status')
if not s then return -2 end
if s == 'active' then
  keytui_verify_field(KEYS[1])
  return 0
end
if s ~= 'revoked' then return -2 end
redis.call('HSET', KEYS[1], 'status', 'active')
redis.call('HDEL', KEYS[1], 'revoked_at', 'revoked_reason')
keytui_verify_field(KEYS[1])
return 1",
    )
});

/// ARGV: expires_at, rotated_to, force (`1` or `0`). Shortens the expiry (never lengthens
/// it) and sets `rotated_to` unless it is set already (the first successor keeps its link).
/// Returns `{1, expires_at}` done, `{-1, ''}` unknown, `{-2, rotated_to}` already rotated
/// (without force: nothing changed).
pub(crate) static EXPIRE_FOR_ROTATION: LazyLock<String> = LazyLock::new(|| {
    with_verify_field(
        r"
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, ''} end
local prev = redis.call('HGET', KEYS[1], 'rotated_to')
if prev and prev ~= '' and ARGV[3] ~= '1' then return {-2, prev} end
local es = redis.call('HGET', KEYS[1], 'expires_at')
local e = tonumber(es or '')
if (not e) or e > tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'expires_at', ARGV[1])
  es = ARGV[1]
end
if (not prev) or prev == '' then redis.call('HSET', KEYS[1], 'rotated_to', ARGV[2]) end
keytui_verify_field(KEYS[1])
return {1, es}",
    )
});

/// Queues `SCRIPT LOAD` of `script` (its reply ignored) and returns the hash for the
/// `EVALSHA`s that follow in the same pipeline: the server executes a connection's commands
/// in order, so the script is cached whatever happened before (a restart, `SCRIPT FLUSH`).
/// Loading a cached script costs the server one hash lookup, once per pipeline instead of
/// sending the script text with every key.
pub(crate) fn load_script(pipe: &mut redis::Pipeline, lua: &'static Lua) -> &'static str {
    pipe.cmd("SCRIPT")
        .arg("LOAD")
        .arg(lua.text.as_str())
        .ignore();
    lua.script.get_hash()
}

/// Replaces a plaintext secret by its digest (and optionally a sealed copy), only if the
/// record still holds that plaintext. ARGV: plaintext, new alg, new secret, sealed or ''.
pub(crate) static CONVERT_PLAIN: LazyLock<String> = LazyLock::new(|| {
    with_verify_field(
        r"
if redis.call('HGET', KEYS[1], 'secret_alg') ~= 'plain' then return 0 end
if redis.call('HGET', KEYS[1], 'secret') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'secret_alg', ARGV[2], 'secret', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'secret_sealed', ARGV[4]) end
keytui_verify_field(KEYS[1])
return 1",
    )
});

/// Drops the sealed copy of a record (sealed -> hash).
pub(crate) const DROP_SEALED: &str = r"
if redis.call('HEXISTS', KEYS[1], 'secret_sealed') == 0 then return 0 end
if redis.call('HGET', KEYS[1], 'secret_alg') == 'plain' then return 0 end
redis.call('HDEL', KEYS[1], 'secret_sealed')
return 1";

/// Edits a record in place, merging the changes into its current values, so that
/// concurrent edits of different fields never lose one another. KEYS: the record. ARGV:
/// name given (`1`/`0`), name, expiry (`keep`, `set` or `clear`), expires_at, lifetime_ms,
/// the number N of metadata pairs to set, N key/value pairs, then the metadata keys to
/// remove. Returns `{1, field, old, new, ...}` (a value is `=` and the text, or empty when
/// absent), `{-1}` unknown, `{-2}` metadata that is not a JSON object of strings, `{-3}` a
/// record key that is not a hash.
pub(crate) static EDIT: LazyLock<String> = LazyLock::new(|| {
    with_verify_field(
        r"
local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'none' then return {-1} end
if t ~= 'hash' then return {-3} end
if redis.call('HEXISTS', KEYS[1], 'status') == 0 then return {-1} end
local out = {1}
local function changed(f, old, new)
  out[#out + 1] = f
  out[#out + 1] = old and ('=' .. old) or ''
  out[#out + 1] = new and ('=' .. new) or ''
end
-- The stored metadata is read and checked before anything is written, so that a refusal
-- leaves the record as it was.
local n = tonumber(ARGV[6])
local edit_meta = n > 0 or #ARGV > 6 + 2 * n
local meta = {}
if edit_meta then
  local raw = redis.call('HGET', KEYS[1], 'meta')
  if raw and raw ~= '' then
    local ok, m = pcall(cjson.decode, raw)
    if not ok or type(m) ~= 'table' then return {-2} end
    for k, v in pairs(m) do
      if type(k) ~= 'string' or type(v) ~= 'string' then return {-2} end
    end
    meta = m
  end
end
if ARGV[1] == '1' then
  local old = redis.call('HGET', KEYS[1], 'name')
  if old ~= ARGV[2] then
    redis.call('HSET', KEYS[1], 'name', ARGV[2])
    changed('name', old or nil, ARGV[2])
  end
end
if edit_meta then
  local any = false
  for i = 7, 6 + 2 * n, 2 do
    local k, v = ARGV[i], ARGV[i + 1]
    if meta[k] ~= v then
      changed('meta.' .. k, meta[k], v)
      meta[k] = v
      any = true
    end
  end
  for i = 7 + 2 * n, #ARGV do
    local k = ARGV[i]
    if meta[k] ~= nil then
      changed('meta.' .. k, meta[k], nil)
      meta[k] = nil
      any = true
    end
  end
  if any then
    if next(meta) == nil then
      redis.call('HDEL', KEYS[1], 'meta')
    else
      redis.call('HSET', KEYS[1], 'meta', cjson.encode(meta))
    end
  end
end
local old = redis.call('HGET', KEYS[1], 'expires_at')
if old == '' then old = false end
if ARGV[3] == 'set' and old ~= ARGV[4] then
  redis.call('HSET', KEYS[1], 'expires_at', ARGV[4], 'lifetime_ms', ARGV[5])
  changed('expires_at', old or nil, ARGV[4])
elseif ARGV[3] == 'clear' and old then
  redis.call('HDEL', KEYS[1], 'expires_at', 'lifetime_ms')
  changed('expires_at', old, nil)
end
keytui_verify_field(KEYS[1])
return out",
    )
});

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/redis-layout.md tells other writers to use this function word for word.
    #[test]
    fn the_layout_document_shows_the_verify_function_keytui_runs() {
        let doc = include_str!("../../docs/redis-layout.md");
        let function = VERIFY_FIELD.trim_start_matches('\n');
        assert!(
            doc.contains(&format!("```lua\n{function}```")),
            "docs/redis-layout.md must show VERIFY_FIELD as it is"
        );
    }

    /// Every script of this file that writes a hash calls the function, but for those
    /// named here with the reason: found by reading this file, so that a script added later
    /// is held to it without anyone remembering a list.
    #[test]
    fn scripts_that_write_a_record_rewrite_verify() {
        const EXEMPT: [(&str, &str); 3] = [
            ("CREATE_HASH", "creates the namespace's meta hash"),
            ("DROP_SEALED", "removes secret_sealed, not a part of verify"),
            ("SET_LAYOUT", "writes the meta hash"),
        ];
        let source = include_str!("scripts.rs");
        let source = &source[..source.find("#[cfg(test)]").unwrap()];
        let mut seen = 0;
        for chunk in source.split("pub(crate) ").skip(1) {
            let Some(name) = chunk
                .strip_prefix("const ")
                .or_else(|| chunk.strip_prefix("static "))
                .and_then(|rest| rest.split(':').next())
            else {
                continue;
            };
            let writes = chunk.contains("redis.call('HSET', KEYS[")
                || chunk.contains("redis.call('HDEL', KEYS[");
            if !writes || name == "VERIFY_FIELD" {
                continue;
            }
            seen += 1;
            let calls = chunk.contains("keytui_verify_field(KEYS[");
            let exempt = EXEMPT.iter().any(|(n, _)| *n == name);
            assert!(
                calls != exempt,
                "{name}: {}",
                if exempt {
                    "exempt but calls keytui_verify_field: drop it from EXEMPT"
                } else {
                    "writes a hash without calling keytui_verify_field"
                }
            );
        }
        assert!(
            seen >= 12,
            "only {seen} writing scripts found: the parsing is off"
        );
    }
}
