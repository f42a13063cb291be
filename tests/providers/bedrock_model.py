"""bedrock_model.py - the part of the Bedrock runtime API (2023-09-30) the
tests call, as a botocore service model: Debian 12's python3-boto3 (1.26)
predates bedrock-runtime, so the test hands botocore this model through
AWS_DATA_PATH, the way botocore loads any custom model. Only the shapes
the tests send and read are described; botocore then signs, frames and
parses exactly as for the real service (rest-json, event streams)."""
import json
import os

VERSION = "2023-09-30"


def _s(members, **kw):
    return dict({"type": "structure", "members": members}, **kw)


def _ref(shape, **kw):
    return dict({"shape": shape}, **kw)


SHAPES = {
    "String": {"type": "string"},
    "Integer": {"type": "integer"},
    "Long": {"type": "long"},
    "Float": {"type": "float"},
    "Blob": {"type": "blob"},
    "Body": {"type": "blob", "sensitive": True},
    "PartBody": {"type": "blob", "sensitive": True},
    "ModelId": {"type": "string"},
    "ContentBlock": _s({"text": _ref("String")}),
    "ContentBlocks": {"type": "list", "member": _ref("ContentBlock")},
    "Message": _s({"role": _ref("String"), "content": _ref("ContentBlocks")}),
    "Messages": {"type": "list", "member": _ref("Message")},
    "InferenceConfiguration": _s({"maxTokens": _ref("Integer"), "temperature": _ref("Float")}),
    "TokenUsage": _s({"inputTokens": _ref("Integer"), "outputTokens": _ref("Integer"),
                      "totalTokens": _ref("Integer")}),
    "Metrics": _s({"latencyMs": _ref("Long")}),
    "ConverseOutput": _s({"message": _ref("Message")}),
    "ConverseRequest": _s({
        "modelId": _ref("ModelId", location="uri", locationName="modelId"),
        "messages": _ref("Messages"),
        "inferenceConfig": _ref("InferenceConfiguration")}, required=["modelId"]),
    "ConverseResponse": _s({"output": _ref("ConverseOutput"), "stopReason": _ref("String"),
                            "usage": _ref("TokenUsage"), "metrics": _ref("Metrics")}),
    "Delta": _s({"text": _ref("String")}),
    "MessageStartEvent": _s({"role": _ref("String")}, event=True),
    "ContentBlockDeltaEvent": _s({"delta": _ref("Delta"), "contentBlockIndex": _ref("Integer")},
                                 event=True),
    "ContentBlockStopEvent": _s({"contentBlockIndex": _ref("Integer")}, event=True),
    "MessageStopEvent": _s({"stopReason": _ref("String")}, event=True),
    "MetadataEvent": _s({"usage": _ref("TokenUsage"), "metrics": _ref("Metrics")}, event=True),
    "ThrottlingException": _s({"message": _ref("String")}, exception=True,
                              error={"httpStatusCode": 429, "senderFault": True}),
    "ConverseStreamOutput": _s({
        "messageStart": _ref("MessageStartEvent"),
        "contentBlockDelta": _ref("ContentBlockDeltaEvent"),
        "contentBlockStop": _ref("ContentBlockStopEvent"),
        "messageStop": _ref("MessageStopEvent"),
        "metadata": _ref("MetadataEvent"),
        "throttlingException": _ref("ThrottlingException")}, eventstream=True),
    "ConverseStreamResponse": _s({"stream": _ref("ConverseStreamOutput")}, payload="stream"),
    "InvokeModelRequest": _s({
        "body": _ref("Body"),
        "contentType": _ref("String", location="header", locationName="Content-Type"),
        "accept": _ref("String", location="header", locationName="Accept"),
        "modelId": _ref("ModelId", location="uri", locationName="modelId")},
        required=["modelId", "body"], payload="body"),
    "InvokeModelResponse": _s({
        "body": _ref("Body"),
        "contentType": _ref("String", location="header", locationName="Content-Type")},
        payload="body"),
    "PayloadPart": _s({"bytes": _ref("PartBody")}, event=True),
    "ResponseStream": _s({"chunk": _ref("PayloadPart"),
                          "throttlingException": _ref("ThrottlingException")}, eventstream=True),
    "InvokeModelWithResponseStreamResponse": _s({
        "body": _ref("ResponseStream"),
        "contentType": _ref("String", location="header",
                            locationName="X-Amzn-Bedrock-Content-Type")}, payload="body"),
}


def _op(name, uri, inp, out):
    return {"name": name, "http": {"method": "POST", "requestUri": uri, "responseCode": 200},
            "input": _ref(inp), "output": _ref(out), "errors": [_ref("ThrottlingException")]}


MODEL = {
    "version": "2.0",
    "metadata": {"apiVersion": VERSION, "endpointPrefix": "bedrock-runtime",
                 "jsonVersion": "1.1", "protocol": "rest-json",
                 "serviceFullName": "Amazon Bedrock Runtime", "serviceId": "Bedrock Runtime",
                 "signatureVersion": "v4", "signingName": "bedrock",
                 "uid": "bedrock-runtime-" + VERSION},
    "operations": {
        "Converse": _op("Converse", "/model/{modelId}/converse", "ConverseRequest",
                        "ConverseResponse"),
        "ConverseStream": _op("ConverseStream", "/model/{modelId}/converse-stream",
                              "ConverseRequest", "ConverseStreamResponse"),
        "InvokeModel": _op("InvokeModel", "/model/{modelId}/invoke", "InvokeModelRequest",
                           "InvokeModelResponse"),
        "InvokeModelWithResponseStream": _op(
            "InvokeModelWithResponseStream", "/model/{modelId}/invoke-with-response-stream",
            "InvokeModelRequest", "InvokeModelWithResponseStreamResponse"),
    },
    "shapes": SHAPES,
}


def install(data_path):
    """Write the model where botocore looks when AWS_DATA_PATH=data_path."""
    d = os.path.join(data_path, "bedrock-runtime", VERSION)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "service-2.json"), "w") as f:
        json.dump(MODEL, f)
