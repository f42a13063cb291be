"""A compressed exchange over HTTPS through the OpenSSL hooks: gz_server.py
over TLS (Python's ssl, so OpenSSL) under the shim, Python requests over TLS
under the shim; gzip JSON and a br SSE stream, both reporters exact."""
import json
import os
import subprocess
import tempfile

from harness import tt, CHAT, MESSAGES, CompressCase, base_env

CERT_DIR = tempfile.mkdtemp(prefix="tokenring-compress-tls-")
CERT, KEY = os.path.join(CERT_DIR, "cert.pem"), os.path.join(CERT_DIR, "key.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", KEY,
                "-out", CERT, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, env=base_env())

CALL = r"""
import json, sys, requests
url, cert, rid, coding, body = sys.argv[1:6]
r = requests.post(url, data=body, verify=cert, stream=True, headers={
    "x-request-id": rid, "x-test-encoding": coding, "Content-Type": "application/json"})
r.raise_for_status()
n = sum(1 for line in r.iter_lines() if line)
print(n)
"""


class TLS(CompressCase):
    tls = (CERT, KEY)

    def test_gzip_json_and_br_stream_over_https(self):
        body = json.dumps({"model": "gpt-4o", "messages": MESSAGES})
        stream = json.dumps({"model": "gpt-4o", "stream": True, "messages": MESSAGES,
                             "stream_options": {"include_usage": True}})
        self.s.py(CALL, self.s.url + CHAT, CERT, "tls-json", "gzip", body)
        self.s.py(CALL, self.s.url + CHAT, CERT, "tls-sse", "br", stream)
        self.assert_exact(["tls-json"], "gzip")
        self.assert_exact(["tls-sse"], "br")

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        for p in (CERT, KEY):
            os.unlink(p)
        os.rmdir(CERT_DIR)


if __name__ == "__main__":
    tt.main()
