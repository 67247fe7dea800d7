"""Writing key records the way docs/redis-layout.md asks any writer to, for the Python tests
(test_verify.py, test_integrations.py): a change of a field `verify` is made of happens in
one script that ends with the layout's Lua function, so `verify` never goes stale. (A plain
HSET would leave it stale; the tests do that on purpose to tell the two reads apart.)

Not a test itself: script/test runs tests/python/test_*.py only."""

from pathlib import Path

_DOC = Path(__file__).resolve().parents[2] / "docs" / "redis-layout.md"


def _documented_function() -> str:
    """The layout's function that rewrites a record's `verify` field from its fields
    (docs/redis-layout.md, "The verify field"), taken from the document itself, so that the
    tests write records exactly as the contract tells other programs to."""
    doc = _DOC.read_text(encoding="utf-8")
    start = doc.index("```lua\nlocal function keytui_verify_field(key)") + len("```lua\n")
    return doc[start : doc.index("```", start)]


VERIFY_LUA = _documented_function()

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
