"""Writing key records the way docs/redis-layout.md asks any writer to, for the Python tests
(test_verify.py, test_integrations.py): a change of a field `verify` is made of happens in
one script that ends with the layout's Lua function, so `verify` never goes stale. (A plain
HSET would leave it stale; the tests do that on purpose to tell the two reads apart.)

Not a test itself: script/test runs tests/python/test_*.py only."""

# The layout's function that rewrites a record's `verify` field from its fields
# (docs/redis-layout.md, "The verify field"), word for word: test_verify.py checks it.
VERIFY_LUA = r"""local function keytui_verify_field(key)
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
"""

# ARGV: the number n of fields to delete, those n names, then field/value pairs to set.
WRITE_FIELDS = VERIFY_LUA + """\
local n = tonumber(ARGV[1])
for i = 2, n + 1 do redis.call('HDEL', KEYS[1], ARGV[i]) end
for i = n + 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
keytui_verify_field(KEYS[1])
return 1
"""


def write_fields_args(mapping=None, delete=()):
    """The ARGV of WRITE_FIELDS for these changes."""
    args = [len(delete), *delete]
    for f, v in (mapping or {}).items():
        args += [f, v]
    return args


def write_record_fields(client, key, mapping=None, delete=()):
    """Sets the fields of ``mapping`` and deletes those of ``delete`` on the record ``key``
    (its full Redis key), then rewrites its `verify` field, in one script."""
    client.eval(WRITE_FIELDS, 1, key, *write_fields_args(mapping, delete))
