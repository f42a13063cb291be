#!/usr/bin/env python3
"""Adds seeds made from tests/producer/corpus to the committed corpora of
fuzz_http, fuzz_llm, fuzz_conn and fuzz_evstream (tests/fuzz/corpus/NAME; re-run after
tests/producer/corpus changes). Each target has its own input format."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "producer", "corpus")

def body(resp):
    return resp.split(b"\r\n\r\n", 1)[1]

def script(req, resp):
    """fuzz_conn: header byte (bit 7 = in, low 7 bits = (len-1)/4), then bytes."""
    out = bytearray([0])
    for data, inbound in ((req, False), (resp, True)):
        at = 0
        while at < len(data):
            n = min(len(data) - at, 0x7f * 4 + 1)
            n -= (n - 1) % 4
            out.append((0x80 if inbound else 0) | ((n - 1) // 4))
            out += data[at:at + n]
            at += n
    return bytes(out)

def dechunk(b):
    out = b""
    while True:
        size, b = b.split(b"\r\n", 1)
        n = int(size, 16)
        if n == 0:
            return out
        out, b = out + b[:n], b[n + 2:]

def seed(target, name):
    return os.path.join(HERE, "corpus", "fuzz_" + target, name)

for t in ("http", "llm", "conn", "evstream"):
    os.makedirs(os.path.dirname(seed(t, "x")), exist_ok=True)
names = sorted(f[:-7] for f in os.listdir(CORPUS) if f.endswith(".expect"))
for name in names:
    req = open(os.path.join(CORPUS, name + ".req"), "rb").read()
    resp = open(os.path.join(CORPUS, name + ".resp"), "rb").read()
    if len(resp) > 4000:
        continue  # seeds stay small; the long embedding body is in the unit tests
    open(seed("http", name), "wb").write(b"\x03" + req + resp)
    sse = b"text/event-stream" in resp.split(b"\r\n\r\n", 1)[0]
    open(seed("llm", name), "wb").write(
        (b"\x83" if sse else b"\x03") + body(resp))
    open(seed("llm", name + "_req"), "wb").write(b"\x01" + body(req))
    open(seed("conn", name), "wb").write(script(req, resp))
    head = resp.split(b"\r\n\r\n", 1)[0]
    if b"vnd.amazon.eventstream" in head:  # the decoder's input is the dechunked body
        b = body(resp)
        b = dechunk(b) if b"Transfer-Encoding: chunked" in head else b
        open(seed("evstream", name), "wb").write(b"\x04" + b)
        open(seed("llm", name), "wb").write(b"\x04" + b)
print(len(names), "cases")
