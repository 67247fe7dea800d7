#!/usr/bin/env python3
"""Listing a namespace the way the layout document describes it, with redis-py: the index
newest first in pages (ZREVRANGE), the records of each page with one pipelined HGETALL per
key, and the whole list printed as a JSON array like `keytui list --json`.

    list_keys.py redis://127.0.0.1:6379 NAMESPACE > /dev/null
"""

import json
import sys

import redis

PAGE = 1000


def main() -> None:
    url, ns = sys.argv[1], sys.argv[2]
    r = redis.Redis.from_url(url, decode_responses=True)
    index = f"{{{ns}}}:index"
    records = []
    offset = 0
    while True:
        ids = r.zrevrange(index, offset, offset + PAGE - 1)
        if not ids:
            break
        offset += len(ids)
        pipe = r.pipeline(transaction=False)
        for key_id in ids:
            pipe.hgetall(f"{ns}:key:{{{key_id}}}")
        for fields in pipe.execute():
            if not fields:
                continue  # a dangling index entry
            fields.pop("secret", None)
            if "meta" in fields:
                fields["meta"] = json.loads(fields["meta"])
            records.append(fields)
    json.dump(records, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
