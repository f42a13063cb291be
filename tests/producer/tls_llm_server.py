#!/usr/bin/python3
"""tls_llm_server.py - demo/llm_server.py served over HTTPS (test side).

Usage: tls_llm_server.py --cert FILE --key FILE [llm_server.py options]

The demo server unchanged, its accepted sockets wrapped with Python's ssl
module (OpenSSL): the TLS handshake runs in the handler thread, on the
first read, so one slow client never holds up accept. Prints
"listening on PORT" like the demo server.
"""
import os
import signal
import ssl
import sys

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "demo"))
import llm_server  # noqa: E402


def main():
    argv = sys.argv[1:]
    cert = argv[argv.index("--cert") + 1]
    key = argv[argv.index("--key") + 1]
    for opt in ("--cert", "--key"):
        i = argv.index(opt)
        del argv[i:i + 2]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)

    class TLSServer(llm_server.Server):
        def get_request(self):
            sock, addr = self.socket.accept()
            return ctx.wrap_socket(sock, server_side=True,
                                   do_handshake_on_connect=False), addr

    llm_server.Server = TLSServer  # main() builds the server by this name
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    llm_server.main(argv)


if __name__ == "__main__":
    main()
