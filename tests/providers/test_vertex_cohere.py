"""Anthropic on Vertex AI and Cohere v2 through curl under the shim,
against local servers speaking their wire formats: rawPredict and
streamRawPredict (model from the URL, Anthropic's body and events), Cohere
chat plain and streamed (billed_units, not the templated usage.tokens) and
embed (meta.billed_units). Each record carries the tokens the server sent,
the provider and operation, and for streams their content events."""
import providers
import tokenring_test as tt

VPATH = "/v1/projects/acme/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:"
MSG = [{"role": "user", "content": "Grüß dich, wie geht es dir heute?"}]


class VertexCohere(providers.ProviderCase):

    def test_anthropic_on_vertex(self):
        w = "vertex-client"
        rids = [self.rid("raw"), self.rid("stream")]
        body = {"anthropic_version": "vertex-2023-10-16", "max_tokens": 64, "messages": MSG}
        self.curl(w, VPATH + "rawPredict", body, rids[0])
        sse = self.curl(w, VPATH + "streamRawPredict", dict(body, stream=True), rids[1])
        self.assertIn("event: message_stop", sse)
        answers = self.server.answers(rids)
        lines = self.access.lines_for(rids, reporters=("source",))
        for rid, method, stream in ((rids[0], "rawPredict", False), (rids[1], "streamRawPredict", True)):
            line = lines[(rid, "source")]
            self.assertRecord(line, answers[rid], provider="gcp.vertex_ai", operation="chat",
                              request_model="claude-sonnet-4@20250514",
                              response_model="claude-sonnet-4-20250514",
                              streaming="true" if stream else "false", path=VPATH + method)
        self.assertEqual(lines[(rids[1], "source")]["chunks"], str(answers[rids[1]]["chunks"]))
        m = self.metrics()
        self.assertEqual(m.sum("tokenring_requests_total", provider="gcp.vertex_ai",
                               source_workload=w, model="claude-sonnet-4@20250514"), 2)

    def test_cohere_chat_and_embed(self):
        w = "cohere-client"
        rids = [self.rid("chat"), self.rid("stream"), self.rid("embed")]
        self.curl(w, "/v2/chat", {"model": "command-a-03-2025", "messages": MSG}, rids[0])
        self.curl(w, "/v2/chat", {"model": "command-a-03-2025", "messages": MSG, "stream": True},
                  rids[1])
        self.curl(w, "/v2/embed", {"model": "embed-v4.0", "texts": ["hello world", "guten Tag"],
                                   "input_type": "classification", "embedding_types": ["float"]},
                  rids[2])
        answers = self.server.answers(rids)
        lines = self.access.lines_for(rids, reporters=("source",))
        for rid, stream in ((rids[0], False), (rids[1], True)):
            self.assertRecord(lines[(rid, "source")], answers[rid], provider="cohere",
                              operation="chat", request_model="command-a-03-2025",
                              streaming="true" if stream else "false")
        self.assertEqual(lines[(rids[1], "source")]["chunks"], str(answers[rids[1]]["chunks"]))
        self.assertRecord(lines[(rids[2], "source")], answers[rids[2]], provider="cohere",
                          operation="embeddings", request_model="embed-v4.0")
        m = self.metrics()
        self.assertEqual(m.sum("tokenring_prompt_tokens_total", provider="cohere",
                               source_workload=w), sum(a["input"] for a in answers.values()))
        self.assertEqual(m.sum("tokenring_completion_tokens_total", provider="cohere",
                               source_workload=w), answers[rids[0]]["output"] * 2)


if __name__ == "__main__":
    tt.main()
