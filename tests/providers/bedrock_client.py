#!/usr/bin/env python3
"""bedrock_client.py ENDPOINT MODEL RID_PREFIX [CA_BUNDLE] - a real boto3
client (Debian's python3-boto3) calling the four Bedrock runtime operations
against ENDPOINT (an https one verified with CA_BUNDLE, boto3's verify), each with x-request-id RID_PREFIX-OPERATION so the access log
can be matched. Prints, as JSON, the usage the SDK itself parsed, and the
text it reassembled from the stream events. A mistral.* MODEL makes one
InvokeModel call with Mistral's body (usage only in the answer's headers).""" 
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bedrock_model  # noqa: E402

data = tempfile.mkdtemp(prefix="bedrock-model-")
bedrock_model.install(data)
os.environ["AWS_DATA_PATH"] = data
import boto3  # noqa: E402

endpoint, model, prefix = sys.argv[1:4]
ca = sys.argv[4] if len(sys.argv) > 4 else None
client = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=endpoint,
                      aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
                      verify=ca)
current = {"rid": None}


def add_request_id(request, **_):
    request.headers["x-request-id"] = current["rid"]


client.meta.events.register("before-sign.bedrock-runtime.*", add_request_id)
if model.startswith("mistral."):
    # InvokeModel with Mistral's body: its answer's usage is only in headers
    current["rid"] = prefix + "-invoke"
    r = client.invoke_model(modelId=model, body=json.dumps({
        "prompt": "<s>[INST] Nenne drei Farben bitte. [/INST]", "max_tokens": 64}),
        contentType="application/json", accept="application/json")
    h = r["ResponseMetadata"]["HTTPHeaders"]
    print(json.dumps({"invoke": {"text": json.loads(r["body"].read())["outputs"][0]["text"].strip(),
                                 "usage": [int(h["x-amzn-bedrock-input-token-count"]),
                                           int(h["x-amzn-bedrock-output-token-count"])]}}))
    sys.exit(0)
messages = [{"role": "user", "content": [{"text": "Nenne drei Farben bitte."}]}]
anthropic_body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64,
                             "messages": [{"role": "user", "content": "Nenne drei Farben bitte."}]})
out = {}

current["rid"] = prefix + "-converse"
r = client.converse(modelId=model, messages=messages, inferenceConfig={"maxTokens": 64})
out["converse"] = {"usage": r["usage"], "text": r["output"]["message"]["content"][0]["text"]}

current["rid"] = prefix + "-converse-stream"
r = client.converse_stream(modelId=model, messages=messages)
text, usage = "", None
for ev in r["stream"]:
    if "contentBlockDelta" in ev:
        text += ev["contentBlockDelta"]["delta"]["text"]
    if "metadata" in ev:
        usage = ev["metadata"]["usage"]
out["converse-stream"] = {"usage": usage, "text": text}

current["rid"] = prefix + "-invoke"
r = client.invoke_model(modelId=model, body=anthropic_body, contentType="application/json",
                        accept="application/json")
b = json.loads(r["body"].read())
out["invoke"] = {"usage": b["usage"], "text": b["content"][0]["text"]}

current["rid"] = prefix + "-invoke-with-response-stream"
r = client.invoke_model_with_response_stream(modelId=model, body=anthropic_body,
                                             contentType="application/json")
text, metrics = "", None
for ev in r["body"]:
    e = json.loads(ev["chunk"]["bytes"])
    if e["type"] == "content_block_delta":
        text += e["delta"]["text"]
    metrics = e.get("amazon-bedrock-invocationMetrics", metrics)
out["invoke-with-response-stream"] = {"usage": metrics, "text": text}
print(json.dumps(out))
