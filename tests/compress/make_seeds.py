#!/usr/bin/python3
"""make_seeds.py DIR - seeds for fuzz_body: scripts (fuzz_body.c) that send
real compressed bodies (each coding, JSON and SSE) as in-order entries and
then their record, one torn and reordered variant, and an orphan."""
import gzip
import os
import struct
import sys
import zlib

import brotli
import zstandard

CODINGS = {1: lambda b: gzip.compress(b), 2: lambda b: zlib.compress(b),
           3: brotli.compress, 4: lambda b: zstandard.ZstdCompressor().compress(b)}
JSON = (b'{"model":"gpt-4o","choices":[{"message":{"content":"hi"}}],'
        b'"usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9}}')
SSE = (b'data: {"model":"m","choices":[{"delta":{"content":"a"}}]}\n\n'
       b'data: {"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}\n\n')


def entries(xid, coding, body, sse, piece=40):
    out = b""
    for i in range(0, len(body), piece):
        chunk = body[i:i + piece]
        last = i + piece >= len(body)
        flags = (1 if last else 0) | (2 if sse else 0)
        out += bytes([0, xid, 1, coding, flags, 0]) + struct.pack("<H", len(chunk)) + chunk
    return out


def record(xid, coding):
    return bytes([1, xid, coding << 4, 0x02, 1, 2])


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    for c, f in CODINGS.items():
        for name, body, sse in (("json", JSON, False), ("sse", SSE, True)):
            s = entries(1, c, f(body), sse) + record(1, c)
            with open(os.path.join(d, "seed_%d_%s" % (c, name)), "wb") as fh:
                fh.write(s)
    e = entries(2, 1, gzip.compress(JSON), False, piece=20)
    parts = [e[i:i + 28] for i in range(0, len(e), 28)]
    with open(os.path.join(d, "seed_reordered"), "wb") as fh:
        fh.write(b"".join(parts[1:2] + parts[:1] + parts[2:]) + record(2, 1))
    with open(os.path.join(d, "seed_orphan_expire"), "wb") as fh:
        fh.write(entries(3, 4, CODINGS[4](SSE), True)[:30] + bytes([2]))


if __name__ == "__main__":
    main()
