"""Hostile and broken compressed bodies end to end: a decompression bomb, a
corrupt gzip stream, a stream cut mid-body, and a full ring while body
entries are written. Each gives its counted status (usage undecodable or
interrupted, tokenring_body_decode_errors_total{coding,reason}, ring drops)
and loses nothing else: the next exchange is exact."""
import json
import signal
import subprocess

from harness import tt, CHAT, MESSAGES, CompressCase, wait_for

BODY = json.dumps({"model": "gpt-4o", "messages": MESSAGES})
STREAM = json.dumps({"model": "gpt-4o", "stream": True, "messages": MESSAGES,
                     "stream_options": {"include_usage": True}})


class Faults(CompressCase):

    def curl(self, rid, *args, ok=True):
        argv = ["curl", "-sS", "-o", "/dev/null", "-H", "x-request-id: " + rid,
                "-H", "Accept-Encoding: gzip, br, zstd"] + list(args)
        p = subprocess.run(argv, env=self.s.env("curl"), stderr=subprocess.PIPE, timeout=60)
        if ok:
            self.assertEqual(p.returncode, 0, p.stderr)
        return p.returncode

    def errors(self):
        return {tuple(sorted(k)): v for k, v in
                self.s.metric("tokenring_body_decode_errors_total").items()}

    def assert_next_exchange_exact(self, rid):
        self.curl(rid, "-H", "x-test-encoding: gzip", "-d", BODY, self.s.url + CHAT)
        self.assert_exact([rid], "gzip")

    def test_bomb(self):
        self.curl("bomb", "-H", "x-test-fault: bomb", "-H", "x-test-encoding: gzip",
                  "-d", BODY, self.s.url + CHAT)
        lines = self.s.lines_for(["bomb"])
        for rep in ("source", "destination"):
            e = lines[("bomb", rep)]
            self.assertEqual((e["usage_status"], e["request_prompt_tokens"],
                              e["content_encoding"]), ("undecodable", "-", "gzip"), rep)
            self.assertEqual(e["request_model"], "gpt-4o", "the request was plain")
        wait_for(lambda: self.errors().get((("coding", "gzip"), ("reason", "bomb"))) == 2,
                 "two bomb errors (both reporters)")
        self.assert_next_exchange_exact("after-bomb")

    def test_corrupt(self):
        self.curl("corrupt", "-H", "x-test-fault: corrupt", "-H", "x-test-encoding: gzip",
                  "-d", BODY, self.s.url + CHAT)
        lines = self.s.lines_for(["corrupt"])
        for rep in ("source", "destination"):
            self.assertEqual(lines[("corrupt", rep)]["usage_status"], "undecodable", rep)
        wait_for(lambda: self.errors().get((("coding", "gzip"), ("reason", "corrupt"))) == 2,
                 "two corrupt errors")
        self.assert_next_exchange_exact("after-corrupt")

    def test_stream_cut_mid_body(self):
        rc = self.curl("cut", "-H", "x-test-fault: cut", "-H", "x-test-encoding: br",
                       "-d", STREAM, self.s.url + CHAT, ok=False)
        self.assertEqual(rc, 18, "curl: transfer closed with outstanding read data")
        lines = self.s.lines_for(["cut"])
        srv = self.s.server_lines(["cut"])["cut"]
        self.assertGreater(srv["content_chunks"], 0)
        for rep in ("source", "destination"):
            e = lines[("cut", rep)]
            self.assertEqual((e["usage_status"], e["response_model"], e["chunks"],
                              e["content_encoding"]),
                             ("interrupted", srv["response_model"],
                              str(srv["content_chunks"]), "br"), rep)
        self.assertEqual(self.errors(), {k: v for k, v in self.errors().items()
                                         if ("reason", "truncated") not in k},
                         "a cut connection is not a decoding error")
        self.assert_next_exchange_exact("after-cut")


class FullRing(CompressCase):
    """A 64-slot ring and a stopped daemon: streams of body entries fill it."""
    daemon_args = ("--ring-capacity", "64")
    N = 30

    def test_full_ring_while_body_entries_are_written(self):
        s = self.s
        s.daemon.signal(signal.SIGSTOP)
        try:
            for i in range(self.N):
                subprocess.run(["curl", "-sS", "-o", "/dev/null", "-H", "x-request-id: full-%d" % i,
                                "-H", "x-test-encoding: gzip", "-d", STREAM, s.url + CHAT],
                               env=s.env("curl"), check=True, timeout=60)
        finally:
            s.daemon.signal(signal.SIGCONT)
        fill = lambda: s.metric("tokenring_ring_fill") == {frozenset(): 0.0}  # noqa: E731
        wait_for(fill, "the ring to drain")
        # Every slot the daemon took is a record or a body entry; a record
        # waiting for body entries reaches the access log once they are in
        # or given up as lost, so wait for the log to hold them all.
        consumed = s.metric("tokenring_ring_consumed_total")[frozenset()]
        entries = s.metric("tokenring_body_entries_total")[frozenset()]
        wait_for(lambda: len(s.access()) >= consumed - entries, "every record logged")
        records = len(s.access())
        self.assertEqual(consumed, records + entries)
        dropped = s.metric("tokenring_ring_dropped_total")
        self.assertGreater(dropped[frozenset({("reason", "full")})], 0)
        lines = [e for e in s.access() if e["request_id"].startswith("full-")]
        sent = s.server_lines([e["request_id"] for e in lines])
        undecodable = 0
        for e in lines:
            srv = sent[e["request_id"]]
            if e["usage_status"] == "undecodable":
                undecodable += 1
                self.assertEqual(e["request_prompt_tokens"], "-", "never guessed")
                continue
            self.assertEqual((e["usage_status"], e["request_completion_tokens"], e["chunks"]),
                             ("available", str(srv["usage"]["completion"]),
                              str(srv["content_chunks"])), e["request_id"])
        lost = sum(v for k, v in s.metric("tokenring_body_decode_errors_total").items()
                   if ("reason", "lost") in k)
        self.assertEqual(undecodable, lost, "each record missing body entries says so")
        self.assertLess(records, 2 * self.N, "records were dropped too")
        self.assert_exact_after()

    def assert_exact_after(self):
        subprocess.run(["curl", "-sS", "-o", "/dev/null", "-H", "x-request-id: after-full",
                        "-H", "x-test-encoding: gzip", "-d", STREAM, self.s.url + CHAT],
                       env=self.s.env("curl"), check=True, timeout=60)
        self.assert_exact(["after-full"], "gzip")


if __name__ == "__main__":
    tt.main()
