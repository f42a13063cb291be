#!/usr/bin/python3
"""tc_tls_server.py - a TLS LLM server that counts the bytes on the wire.

    tc_tls_server.py CERT KEY N

Prints "listening on PORT", then serves N connections one after another:
TLS handshake (Python's ssl over memory BIOs, so every byte on the socket
goes through this code and is counted), one chat request, a JSON answer with
"Connection: close", then reads until the client closes. Sends nothing
after the answer, so the client has read every byte sent once it has the
answer. One JSON line per connection: the SNI the client sent and the raw
bytes each way, what an opaque-connection record must say.
"""
import json
import socket
import ssl
import sys

RESP = ('{"id":"t%d","object":"chat.completion","model":"tls-model","choices":[{"index":0,'
        '"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],'
        '"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}')


def serve_one(conn, ctx, i):
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    sni = []
    ctx.sni_callback = lambda obj, name, c: sni.append(name)
    tls = ctx.wrap_bio(incoming, outgoing, server_side=True)
    raw = {"in": 0, "out": 0}

    def flush():
        data = outgoing.read()
        if data:
            conn.sendall(data)
            raw["out"] += len(data)

    def fill():
        data = conn.recv(65536)
        raw["in"] += len(data)
        if data:
            incoming.write(data)
        else:
            incoming.write_eof()
        return bool(data)

    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            flush()
            if not fill():
                return None
    flush()
    req = b""
    while b"\r\n\r\n" not in req or len(req) < req.index(b"\r\n\r\n") + 4 + clen(req):
        try:
            req += tls.read(65536)
        except ssl.SSLWantReadError:
            flush()
            if not fill():
                return None
    body = (RESP % i).encode()
    tls.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
              b"Connection: close\r\n\r\n%s" % (len(body), body))
    flush()
    while fill():  # until the client closes (its close_notify counted)
        try:
            tls.read(65536)
        except (ssl.SSLWantReadError, ssl.SSLZeroReturnError, ssl.SSLError):
            pass
    return {"sni": sni[0] if sni and sni[0] else "", "raw_in": raw["in"], "raw_out": raw["out"]}


def clen(req):
    for line in req.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 0


def main():
    cert, key, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    print("listening on %d" % ls.getsockname()[1], flush=True)
    for i in range(n):
        conn, _ = ls.accept()
        with conn:
            print(json.dumps(serve_one(conn, ctx, i)), flush=True)


if __name__ == "__main__":
    main()
