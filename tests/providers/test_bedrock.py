"""Bedrock runtime through a real boto3 client under the shim, against a
local fake runtime that frames real event-stream messages: Converse,
ConverseStream, InvokeModel and InvokeModelWithResponseStream each come out
as one record with the model from the path (unescaped), provider
aws.bedrock, the tokens the server sent and, for the streams, their content
events; what boto3 itself parsed agrees with the server. InvokeModel with
Mistral's body (no usage in it) takes its tokens from Bedrock's
X-Amzn-Bedrock-*-Token-Count headers."""
import json
import os

import providers
import tokenring_test as tt

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
MISTRAL = "mistral.mistral-7b-instruct-v0:2"
OPS = ("converse", "converse-stream", "invoke", "invoke-with-response-stream")


class BedrockChecks:
    """The four operations through boto3 against cls.server, plain or over
    TLS (cls.ca, when set, is the CA bundle boto3 verifies with)."""

    def check_four_operations(self, w):
        prefix = self.rid("b")
        out = json.loads(self.run_client(
            [providers.PY, os.path.join(providers.HERE, "bedrock_client.py"), self.server.url,
             MODEL, prefix] + ([self.ca] if self.ca else []), w))
        rids = [prefix + "-" + op for op in OPS]
        answers = self.server.answers(rids)
        lines = self.access.lines_for(rids, reporters=("source",))
        for op, rid in zip(OPS, rids):
            a, line = answers[rid], lines[(rid, "source")]
            stream = op.endswith("stream")
            self.assertRecord(line, a, provider="aws.bedrock", request_model=MODEL,
                              operation="chat", streaming="true" if stream else "false",
                              path="/model/anthropic.claude-3-haiku-20240307-v1%3A0/" + op,
                              source_workload=w)
            if stream:
                self.assertEqual(line["chunks"], str(a["chunks"]), line)
            self.assertEqual(out[op]["text"], "Rot, Grün und Blau.", op)
        self.assertEqual(out["converse-stream"]["usage"]["inputTokens"],
                         answers[prefix + "-converse-stream"]["input"])
        self.assertEqual(lines[(prefix + "-invoke", "source")]["response_model"],
                         "claude-3-haiku-20240307")
        m = self.metrics()
        self.assertEqual(m.sum("tokenring_requests_total", provider="aws.bedrock",
                               source_workload=w, model=MODEL), 4)
        self.assertEqual(m.sum("tokenring_prompt_tokens_total", provider="aws.bedrock",
                               source_workload=w), sum(a["input"] for a in answers.values()))
        self.assertEqual(m.sum("gen_ai_client_token_usage_count", gen_ai_provider_name="aws.bedrock",
                               gen_ai_request_model=MODEL), 8)


    def check_mistral_usage_from_headers(self, w):
        """InvokeModel with Mistral's body, which has no usage: the record's
        tokens are those of the X-Amzn-Bedrock-*-Token-Count headers."""
        prefix = self.rid("m")
        out = json.loads(self.run_client(
            [providers.PY, os.path.join(providers.HERE, "bedrock_client.py"), self.server.url,
             MISTRAL, prefix] + ([self.ca] if self.ca else []), w))
        rid = prefix + "-invoke"
        a = self.server.answers([rid])[rid]
        line = self.access.lines_for([rid], reporters=("source",))[(rid, "source")]
        self.assertRecord(line, a, provider="aws.bedrock", request_model=MISTRAL,
                          operation="text_completion", streaming="false", source_workload=w,
                          path="/model/mistral.mistral-7b-instruct-v0%3A2/invoke")
        self.assertEqual(out["invoke"], {"text": "Rot, Grün und Blau.", "usage": [a["input"], 4]})
        self.wait_metric("tokenring_completion_tokens_total", 4, provider="aws.bedrock",
                         source_workload=w, model=MISTRAL)


class Bedrock(BedrockChecks, providers.ProviderCase):

    def test_four_operations_through_boto3(self):
        self.check_four_operations("bedrock-client")

    def test_mistral_usage_from_headers(self):
        self.check_mistral_usage_from_headers("bedrock-mistral")


if __name__ == "__main__":
    tt.main()
