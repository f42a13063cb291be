#!/usr/bin/env python3
"""Writes the parser corpus: one exchange per file pair, byte-exact HTTP/1.1
as the providers send it (header order, chunked framing, SSE spacing), and
NAME.expect with the record fields the tracker must produce. Re-run after
editing; the output is committed so tests need no Python."""
import json, os

HERE = os.path.dirname(os.path.abspath(__file__))

def req(method, path, host, body=None, headers=()):
    h = [f"{method} {path} HTTP/1.1", f"Host: {host}", "User-Agent: OpenAI/Python 1.54.3",
         "Accept: application/json"] + list(headers)
    b = b""
    if body is not None:
        b = json.dumps(body, separators=(", ", ": ")).encode()
        h += ["Content-Type: application/json", f"Content-Length: {len(b)}"]
    return ("\r\n".join(h) + "\r\n\r\n").encode() + b

def chunked(parts):
    out = b""
    for p in parts:
        out += b"%x\r\n" % len(p) + p + b"\r\n"
    return out + b"0\r\n\r\n"

def resp(status, ctype, body, chunks=None, extra=(), reason="OK"):
    h = [f"HTTP/1.1 {status} {reason}", "Date: Tue, 24 Nov 2026 00:12:03 GMT",
         f"Content-Type: {ctype}"] + list(extra)
    if chunks is not None:
        h.append("Transfer-Encoding: chunked")
        payload = chunked(chunks)
    else:
        h.append(f"Content-Length: {len(body)}")
        payload = body
    h.append("Connection: keep-alive")
    return ("\r\n".join(h) + "\r\n\r\n").encode() + payload

def j(o):
    return json.dumps(o, separators=(",", ":")).encode()

def sse(events, space=True, event_names=None):
    out = []
    for i, e in enumerate(events):
        s = b""
        if event_names:
            s += b"event: " + event_names[i].encode() + b"\n"
        data = e if isinstance(e, bytes) else j(e)
        s += (b"data: " if space else b"data:") + data + b"\n\n"
        out.append(s)
    return out

CASES = {}

def case(name, request, response, expect):
    CASES[name] = (request, response, expect)

# --- OpenAI chat, plain
u = {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29,
     "prompt_tokens_details": {"cached_tokens": 3, "audio_tokens": 0},
     "completion_tokens_details": {"reasoning_tokens": 2, "audio_tokens": 0,
                                   "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}
case("openai_chat",
     req("POST", "/v1/chat/completions", "api.openai.com",
         {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "You are terse."},
                                               {"role": "user", "content": "Say \"hi\" {twice}"}],
          "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object",
                    "properties": {"model": {"type": "string"}, "usage": {"type": "integer"}}}}}]},
         ["x-request-id: req-7f3a", "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"]),
     resp(200, "application/json", json.dumps({
         "id": "chatcmpl-AbC123", "object": "chat.completion", "created": 1732406400,
         "model": "gpt-4o-mini-2024-07-18",
         "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi hi \"usage\": {\"prompt_tokens\": 999}", "refusal": None},
                      "logprobs": None, "finish_reason": "stop"}],
         "usage": u, "system_fingerprint": "fp_0ba0d124f1"}, indent=2).encode(),
          extra=["openai-processing-ms: 312", "x-request-id: req_abc"]),
     dict(method="POST", path="/v1/chat/completions", authority="api.openai.com", status=200,
          request_model="gpt-4o-mini", response_model="gpt-4o-mini-2024-07-18",
          provider="openai", operation="chat", usage="available", prompt=19, completion=10,
          total=29, cached=3, reasoning=2, request_id="req-7f3a",
          trace="4bf92f3577b34da6a3ce929d0e0e4736", user_agent="OpenAI/Python 1.54.3",
          flags="LLM,HAS_TRACE"))

# --- OpenAI chat stream with include_usage (SSE, chunked)
def chat_chunk(delta, finish=None, usage=None, choices=True):
    o = {"id": "chatcmpl-S1", "object": "chat.completion.chunk", "created": 1732406401,
         "model": "gpt-4o-2024-08-06", "system_fingerprint": "fp_45c6de4934",
         "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}] if choices else []}
    o["usage"] = usage
    return o
ev = [chat_chunk({"role": "assistant", "content": "", "refusal": None}),
      chat_chunk({"content": "Hello"}), chat_chunk({"content": " there"}),
      chat_chunk({"content": "!"}), chat_chunk({}, "stop"),
      chat_chunk(None, usage={"prompt_tokens": 8, "completion_tokens": 3, "total_tokens": 11,
                              "prompt_tokens_details": {"cached_tokens": 0},
                              "completion_tokens_details": {"reasoning_tokens": 0}}, choices=False)]
ev[-1].pop("choices"); ev[-1]["choices"] = []
parts = sse(ev) + [b"data: [DONE]\n\n"]
case("openai_chat_stream_usage",
     req("POST", "/v1/chat/completions", "api.openai.com",
         {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}], "stream": True,
          "stream_options": {"include_usage": True}}),
     resp(200, "text/event-stream; charset=utf-8", None, chunks=[parts[0] + parts[1][:17], parts[1][17:]] + parts[2:]),
     dict(method="POST", path="/v1/chat/completions", authority="api.openai.com", status=200,
          request_model="gpt-4o", response_model="gpt-4o-2024-08-06", provider="openai",
          operation="chat", usage="available", prompt=8, completion=3, total=11, chunks=3,
          flags="LLM,STREAM,REQUEST_ID_GENERATED"))

# --- OpenAI stream without include_usage: not_requested
ev2 = [chat_chunk({"role": "assistant", "content": ""}), chat_chunk({"content": "Hi"}),
       chat_chunk({"content": "."}), chat_chunk({}, "stop")]
for e in ev2:
    e.pop("usage")
    e["model"] = "Qwen/Qwen2.5-7B-Instruct"
case("openai_chat_stream_nousage",
     req("POST", "/v1/chat/completions", "localhost:8000",
         {"model": "Qwen/Qwen2.5-7B-Instruct", "messages": [{"role": "user", "content": "Hi"}], "stream": True}),
     resp(200, "text/event-stream", None, chunks=sse(ev2) + [b"data: [DONE]\n\n"]),
     dict(method="POST", path="/v1/chat/completions", authority="localhost:8000", status=200,
          request_model="Qwen/Qwen2.5-7B-Instruct", response_model="Qwen/Qwen2.5-7B-Instruct",
          provider="openai", operation="chat", usage="not_requested", chunks=2,
          flags="LLM,STREAM,REQUEST_ID_GENERATED"))

# --- OpenAI completions
case("openai_completions",
     req("POST", "/v1/completions", "api.openai.com",
         {"model": "gpt-3.5-turbo-instruct", "prompt": "Say this is a test", "max_tokens": 7}),
     resp(200, "application/json", j({"id": "cmpl-uqkvl", "object": "text_completion",
          "created": 1589478378, "model": "gpt-3.5-turbo-instruct",
          "choices": [{"text": "\n\nThis is indeed a test", "index": 0, "logprobs": None, "finish_reason": "length"}],
          "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}})),
     dict(method="POST", path="/v1/completions", authority="api.openai.com", status=200,
          request_model="gpt-3.5-turbo-instruct", response_model="gpt-3.5-turbo-instruct",
          provider="openai", operation="text_completion", usage="available", prompt=5,
          completion=7, total=12, flags="LLM,REQUEST_ID_GENERATED"))

# --- OpenAI embeddings (a long vector, chunked)
vec = [round(((i * 7919) % 2000 - 1000) / 1000003.0, 9) for i in range(1536)]
emb = j({"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": vec}],
         "model": "text-embedding-3-small", "usage": {"prompt_tokens": 8, "total_tokens": 8}})
case("openai_embeddings",
     req("POST", "/v1/embeddings", "api.openai.com",
         {"input": "The food was delicious and the waiter...", "model": "text-embedding-3-small",
          "encoding_format": "float"}),
     resp(200, "application/json", None, chunks=[emb[i:i + 4096] for i in range(0, len(emb), 4096)]),
     dict(method="POST", path="/v1/embeddings", authority="api.openai.com", status=200,
          request_model="text-embedding-3-small", response_model="text-embedding-3-small",
          provider="openai", operation="embeddings", usage="available", prompt=8, total=8,
          flags="LLM,REQUEST_ID_GENERATED"))

# --- OpenAI responses API, plain
rusage = {"input_tokens": 36, "input_tokens_details": {"cached_tokens": 4}, "output_tokens": 87,
          "output_tokens_details": {"reasoning_tokens": 64}, "total_tokens": 123}
rbody = {"id": "resp_67ccd2bed1ec", "object": "response", "created_at": 1741476542,
         "status": "completed", "model": "o4-mini-2025-04-16",
         "output": [{"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
                     "content": [{"type": "output_text", "text": "In a peaceful grove...", "annotations": []}]}],
         "usage": rusage}
case("openai_responses",
     req("POST", "/v1/responses", "api.openai.com",
         {"model": "o4-mini", "input": "Tell me a three sentence bedtime story about a unicorn."}),
     resp(200, "application/json", json.dumps(rbody, indent=2).encode()),
     dict(method="POST", path="/v1/responses", authority="api.openai.com", status=200,
          request_model="o4-mini", response_model="o4-mini-2025-04-16", provider="openai",
          operation="responses", usage="available", prompt=36, completion=87, total=123,
          cached=4, reasoning=64, flags="LLM,REQUEST_ID_GENERATED"))

# --- OpenAI responses API, streamed
inprog = dict(rbody, status="in_progress", output=[], usage=None)
done_item = rbody["output"][0]
rev = [{"type": "response.created", "sequence_number": 0, "response": inprog},
       {"type": "response.in_progress", "sequence_number": 1, "response": inprog},
       {"type": "response.output_item.added", "sequence_number": 2, "output_index": 0,
        "item": {"id": "msg_1", "type": "message", "status": "in_progress", "content": [], "role": "assistant"}},
       {"type": "response.output_text.delta", "sequence_number": 3, "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": "In"},
       {"type": "response.output_text.delta", "sequence_number": 4, "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": " a peaceful"},
       {"type": "response.output_text.done", "sequence_number": 5, "item_id": "msg_1", "output_index": 0, "content_index": 0, "text": "In a peaceful grove..."},
       {"type": "response.output_item.done", "sequence_number": 6, "output_index": 0, "item": done_item},
       {"type": "response.completed", "sequence_number": 7, "response": rbody}]
case("openai_responses_stream",
     req("POST", "/v1/responses", "api.openai.com",
         {"model": "o4-mini", "input": "Tell me a story.", "stream": True}),
     resp(200, "text/event-stream; charset=utf-8", None,
          chunks=sse(rev, event_names=[e["type"] for e in rev])),
     dict(method="POST", path="/v1/responses", authority="api.openai.com", status=200,
          request_model="o4-mini", response_model="o4-mini-2025-04-16", provider="openai",
          operation="responses", usage="available", prompt=36, completion=87, total=123,
          cached=4, reasoning=64, chunks=2, flags="LLM,STREAM,REQUEST_ID_GENERATED"))

# --- DashScope compatible mode (seed 000's path and numbers)
case("dashscope_compat",
     req("POST", "/compatible-mode/v1/chat/completions", "dashscope.aliyuncs.com",
         {"model": "qwen-turbo", "messages": [{"role": "user", "content": "Please introduce yourself."}]}),
     resp(200, "application/json", j({"choices": [{"message": {"role": "assistant", "content": "我是通义千问，由阿里云开发的大规模语言模型。"},
          "finish_reason": "stop", "index": 0, "logprobs": None}], "object": "chat.completion",
          "usage": {"prompt_tokens": 11, "completion_tokens": 90, "total_tokens": 101,
                    "prompt_tokens_details": {"cached_tokens": 0}},
          "created": 1720754430, "system_fingerprint": None, "model": "qwen-turbo",
          "id": "chatcmpl-d0e17f66-f300-411a-8c32"}), extra=["x-dashscope-call-gateway: true"]),
     dict(method="POST", path="/compatible-mode/v1/chat/completions", authority="dashscope.aliyuncs.com",
          status=200, request_model="qwen-turbo", response_model="qwen-turbo", provider="dashscope",
          operation="chat", usage="available", prompt=11, completion=90, total=101,
          flags="LLM,REQUEST_ID_GENERATED"))

# --- DashScope native, SSE without the space after "data:"
def ds(text, finish, inp, out):
    return {"output": {"choices": [{"message": {"content": text, "role": "assistant"}, "finish_reason": finish}]},
            "usage": {"total_tokens": inp + out, "output_tokens": out, "input_tokens": inp},
            "request_id": "d89faada-6af3-4ac3-b4fd"}
dsp = []
for i, (t, f, o) in enumerate([("我是", "null", 1), ("通义千问", "null", 3), ("", "stop", 3)]):
    dsp.append(b"id:%d\nevent:result\n:HTTP_STATUS/200\ndata:" % (i + 1) + j(ds(t, f, 12, o)) + b"\n\n")
case("dashscope_native_stream",
     req("POST", "/api/v1/services/aigc/text-generation/generation", "dashscope.aliyuncs.com",
         {"model": "qwen-plus", "input": {"messages": [{"role": "user", "content": "你是谁？"}]},
          "parameters": {"result_format": "message", "incremental_output": True}},
         ["X-DashScope-SSE: enable"]),
     resp(200, "text/event-stream;charset=UTF-8", None, chunks=dsp),
     dict(method="POST", path="/api/v1/services/aigc/text-generation/generation",
          authority="dashscope.aliyuncs.com", status=200, request_model="qwen-plus",
          provider="dashscope", operation="chat", usage="available", prompt=12, completion=3,
          total=15, chunks=2, flags="LLM,STREAM,REQUEST_ID_GENERATED"))

# --- Anthropic, plain, with prompt caching
case("anthropic_messages",
     req("POST", "/v1/messages", "api.anthropic.com",
         {"model": "claude-sonnet-4-20250514", "max_tokens": 1024,
          "messages": [{"role": "user", "content": "Hello, Claude"}]},
         ["anthropic-version: 2023-06-01", "x-team: search"]),
     resp(200, "application/json", j({"id": "msg_013Zva2CMHLNnXjNJJKqJ2EF", "type": "message",
          "role": "assistant", "model": "claude-sonnet-4-20250514",
          "content": [{"type": "text", "text": "Hi! My name is Claude."}], "stop_reason": "end_turn",
          "stop_sequence": None, "usage": {"input_tokens": 2095, "cache_creation_input_tokens": 2051,
          "cache_read_input_tokens": 1800, "output_tokens": 503, "service_tier": "standard"}}),
          extra=["request-id: req_018EeWyXxfu5pfWkrYcMdjWG"]),
     dict(method="POST", path="/v1/messages", authority="api.anthropic.com", status=200,
          request_model="claude-sonnet-4-20250514", response_model="claude-sonnet-4-20250514",
          provider="anthropic", operation="chat", usage="available", prompt=2095,
          completion=503, cached=1800, cache_creation=2051, label0="search",
          flags="LLM,REQUEST_ID_GENERATED"))

# --- Anthropic, streamed
aev = [("message_start", {"type": "message_start", "message": {"id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY",
        "type": "message", "role": "assistant", "content": [], "model": "claude-3-5-haiku-20241022",
        "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 25, "cache_read_input_tokens": 7, "output_tokens": 1}}}),
       ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
       ("ping", {"type": "ping"}),
       ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}}),
       ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "!"}}),
       ("content_block_stop", {"type": "content_block_stop", "index": 0}),
       ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 15}}),
       ("message_stop", {"type": "message_stop"})]
case("anthropic_stream",
     req("POST", "/v1/messages", "api.anthropic.com",
         {"model": "claude-3-5-haiku-latest", "max_tokens": 256, "stream": True,
          "messages": [{"role": "user", "content": "Hello"}]}, ["anthropic-version: 2023-06-01"]),
     resp(200, "text/event-stream; charset=utf-8", None,
          chunks=sse([e for _, e in aev], event_names=[n for n, _ in aev])),
     dict(method="POST", path="/v1/messages", authority="api.anthropic.com", status=200,
          request_model="claude-3-5-haiku-latest", response_model="claude-3-5-haiku-20241022",
          provider="anthropic", operation="chat", usage="available", prompt=25, completion=15,
          cached=7, chunks=2, flags="LLM,STREAM,REQUEST_ID_GENERATED"))

# --- Ollama chat, NDJSON stream
oll = [{"model": "llama3.2", "created_at": "2026-11-24T00:12:03.1Z", "message": {"role": "assistant", "content": "The"}, "done": False},
       {"model": "llama3.2", "created_at": "2026-11-24T00:12:03.2Z", "message": {"role": "assistant", "content": " sky"}, "done": False},
       {"model": "llama3.2", "created_at": "2026-11-24T00:12:03.3Z", "message": {"role": "assistant", "content": " is blue."}, "done": False},
       {"model": "llama3.2", "created_at": "2026-11-24T00:12:03.4Z", "message": {"role": "assistant", "content": ""},
        "done_reason": "stop", "done": True, "total_duration": 4883583458, "load_duration": 1334875,
        "prompt_eval_count": 26, "prompt_eval_duration": 342546000, "eval_count": 282, "eval_duration": 4535599000}]
case("ollama_chat_stream",
     req("POST", "/api/chat", "localhost:11434",
         {"model": "llama3.2", "messages": [{"role": "user", "content": "why is the sky blue?"}]}),
     resp(200, "application/x-ndjson", None, chunks=[j(o) + b"\n" for o in oll]),
     dict(method="POST", path="/api/chat", authority="localhost:11434", status=200,
          request_model="llama3.2", response_model="llama3.2", provider="ollama",
          operation="chat", usage="available", prompt=26, completion=282, chunks=3,
          flags="LLM,STREAM,REQUEST_ID_GENERATED"))

# --- Ollama generate, not streamed
case("ollama_generate",
     req("POST", "/api/generate", "127.0.0.1:11434",
         {"model": "llama3.2", "prompt": "Why is the sky blue?", "stream": False}),
     resp(200, "application/json; charset=utf-8", j({"model": "llama3.2", "created_at": "2026-11-24T00:12:05Z",
          "response": "The sky is blue because of Rayleigh scattering.", "done": True, "done_reason": "stop",
          "context": [1, 2, 3, 4, 5, 6, 7, 8], "total_duration": 5043500667, "load_duration": 5025959,
          "prompt_eval_count": 26, "prompt_eval_duration": 325953000, "eval_count": 290,
          "eval_duration": 4709213000})),
     dict(method="POST", path="/api/generate", authority="127.0.0.1:11434", status=200,
          request_model="llama3.2", response_model="llama3.2", provider="ollama",
          operation="text_completion", usage="available", prompt=26, completion=290,
          flags="LLM,REQUEST_ID_GENERATED"))

# --- Gemini generateContent
gbody = {"candidates": [{"content": {"parts": [{"text": "AI learns patterns from data."}], "role": "model"},
                         "finishReason": "STOP", "avgLogprobs": -0.21}],
         "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 7, "totalTokenCount": 40,
                           "cachedContentTokenCount": 2, "thoughtsTokenCount": 25,
                           "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 8}]},
         "modelVersion": "gemini-2.5-flash", "responseId": "kj5DaNXwLoWl1dkP"}
case("gemini_generate",
     req("POST", "/v1beta/models/gemini-2.5-flash:generateContent", "generativelanguage.googleapis.com",
         {"contents": [{"parts": [{"text": "Explain how AI works in a few words"}]}]},
         ["x-goog-api-key: test"]),
     resp(200, "application/json; charset=UTF-8", json.dumps(gbody, indent=2).encode(), chunks=None,
          extra=["Vary: Origin", "Server: scaffolding on HTTPServer2"]),
     dict(method="POST", path="/v1beta/models/gemini-2.5-flash:generateContent",
          authority="generativelanguage.googleapis.com", status=200,
          request_model="gemini-2.5-flash", response_model="gemini-2.5-flash", provider="gemini", operation="generate_content",
          usage="available", prompt=8, completion=7, total=40, cached=2, reasoning=25,
          flags="LLM,REQUEST_ID_GENERATED"))

# --- Gemini streamGenerateContent over SSE (cumulative usageMetadata)
def gchunk(text, cand, total, finish=None):
    c = {"content": {"parts": [{"text": text}], "role": "model"}}
    if finish: c["finishReason"] = finish
    return {"candidates": [c], "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": cand,
            "totalTokenCount": total}, "modelVersion": "gemini-2.0-flash", "responseId": "Xy7"}
case("gemini_stream_sse",
     req("POST", "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", "generativelanguage.googleapis.com",
         {"contents": [{"role": "user", "parts": [{"text": "Write a story"}]}]}),
     # Google ends SSE lines with CRLF.
     resp(200, "text/event-stream", None,
          chunks=[s.replace(b"\n\n", b"\r\n\r\n") for s in
                  sse([gchunk("Once", 1, 10), gchunk(" upon a time", 4, 13), gchunk(" the end.", 7, 16, "STOP")])]),
     dict(method="POST", path="/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
          authority="generativelanguage.googleapis.com", status=200,
          request_model="gemini-2.0-flash", response_model="gemini-2.0-flash", provider="gemini", operation="generate_content",
          usage="available", prompt=9, completion=7, total=16, chunks=3,
          flags="LLM,STREAM,REQUEST_ID_GENERATED"))

# --- Gemini streamGenerateContent as a JSON array (no alt=sse)
arr = b"[" + b"\n,\r\n".join(json.dumps(gchunk(t, c, 9 + c), indent=2).encode() for t, c in [("Hi", 1), (" there", 2)]) + b"]"
case("gemini_stream_array",
     req("POST", "/v1beta/models/gemini-2.0-flash:streamGenerateContent", "generativelanguage.googleapis.com",
         {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}),
     resp(200, "application/json; charset=UTF-8", None, chunks=[arr[:100], arr[100:]]),
     dict(method="POST", path="/v1beta/models/gemini-2.0-flash:streamGenerateContent",
          authority="generativelanguage.googleapis.com", status=200,
          request_model="gemini-2.0-flash", response_model="gemini-2.0-flash", provider="gemini", operation="generate_content",
          usage="available", prompt=9, completion=2, total=11, chunks=2,
          flags="LLM,STREAM,REQUEST_ID_GENERATED"))

# --- A gateway route: POST / with no model in the body (seed 000)
case("gateway_root",
     req("POST", "/", "dashscope.aliyuncs.com",
         {"messages": [{"role": "user", "content": "Please introduce yourself."}]}),
     resp(200, "application/json", j({"choices": [{"message": {"role": "assistant", "content": "I am Qwen."},
          "finish_reason": "stop", "index": 0}], "object": "chat.completion",
          "usage": {"prompt_tokens": 3, "completion_tokens": 55, "total_tokens": 58},
          "created": 1720754403, "model": "qwen1.5-72b-chat", "id": "chatcmpl-d0e17f66"})),
     dict(method="POST", path="/", authority="dashscope.aliyuncs.com", status=200,
          response_model="qwen1.5-72b-chat", provider="dashscope", operation="chat",
          usage="available", prompt=3, completion=55, total=58, flags="LLM,REQUEST_ID_GENERATED"))

# --- kgateway route /openai (seed 004), OpenAI response with usage, Azure-less
case("gateway_openai_path",
     req("POST", "/openai", "localhost:8080",
         {"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": "Hi"}]}),
     resp(500, "application/json", j({"error": {"message": "upstream failed", "type": "server_error"}}), reason="Internal Server Error"),
     dict(method="POST", path="/openai", authority="localhost:8080", status=500,
          request_model="gpt-3.5-turbo", provider="openai", operation="chat", usage="missing",
          flags="LLM,REQUEST_ID_GENERATED"))

# --- OpenAI completions, streamed with usage
def cmpl(text, finish=None, usage=None, choices=True):
    o = {"id": "cmpl-7iA7iJjj8V2zOkCGvWF2hAkDWBQZe", "object": "text_completion", "created": 1690759702,
         "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish}] if choices else [],
         "model": "gpt-3.5-turbo-instruct", "usage": usage}
    return o
case("openai_completions_stream",
     req("POST", "/v1/completions", "api.openai.com",
         {"model": "gpt-3.5-turbo-instruct", "prompt": "Say this is a test", "max_tokens": 7, "stream": True,
          "stream_options": {"include_usage": True}}),
     resp(200, "text/event-stream", None, chunks=sse([cmpl("This"), cmpl(" is"), cmpl(" a test", "stop"),
          cmpl("", usage={"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}, choices=False)]) + [b"data: [DONE]\n\n"]),
     dict(method="POST", path="/v1/completions", authority="api.openai.com", status=200,
          request_model="gpt-3.5-turbo-instruct", response_model="gpt-3.5-turbo-instruct",
          provider="openai", operation="text_completion", usage="available", prompt=5,
          completion=4, total=9, chunks=3, flags="LLM,STREAM,REQUEST_ID_GENERATED"))

# --- DashScope compatible mode, streamed, with thinking (reasoning_content) and usage
def qchunk(delta, usage=None, choices=True):
    return {"choices": [{"delta": delta, "finish_reason": None, "index": 0, "logprobs": None}] if choices else [],
            "object": "chat.completion.chunk", "usage": usage, "created": 1745485391,
            "system_fingerprint": None, "model": "qwen-plus", "id": "chatcmpl-e30f5ae7-3063-93c4-90fe"}
case("dashscope_compat_stream",
     req("POST", "/compatible-mode/v1/chat/completions", "dashscope.aliyuncs.com",
         {"model": "qwen-plus", "messages": [{"role": "user", "content": "你是谁"}], "stream": True,
          "enable_thinking": True, "stream_options": {"include_usage": True}}),
     resp(200, "text/event-stream;charset=UTF-8", None, chunks=sse([
          qchunk({"content": None, "role": "assistant", "reasoning_content": ""}),
          qchunk({"content": None, "reasoning_content": "用户问我是谁"}),
          qchunk({"content": "我是通义千问", "reasoning_content": None}),
          qchunk({"content": "。"}),
          qchunk(None, usage={"prompt_tokens": 10, "completion_tokens": 361, "total_tokens": 371,
                              "completion_tokens_details": {"reasoning_tokens": 350}}, choices=False)]) + [b"data: [DONE]\n\n"]),
     dict(method="POST", path="/compatible-mode/v1/chat/completions", authority="dashscope.aliyuncs.com",
          status=200, request_model="qwen-plus", response_model="qwen-plus", provider="dashscope",
          operation="chat", usage="available", prompt=10, completion=361, total=371, reasoning=350,
          chunks=3, flags="LLM,STREAM,REQUEST_ID_GENERATED"))

# --- DashScope native, not streamed
case("dashscope_native",
     req("POST", "/api/v1/services/aigc/text-generation/generation", "dashscope.aliyuncs.com",
         {"model": "qwen-turbo", "input": {"prompt": "介绍一下杭州"}, "parameters": {}}),
     resp(200, "application/json", j({"output": {"finish_reason": "stop", "text": "杭州是浙江省的省会。"},
          "usage": {"total_tokens": 39, "output_tokens": 33, "input_tokens": 6,
                    "prompt_tokens_details": {"cached_tokens": 0}},
          "request_id": "b2d5a8c1-0e3c-9d1a-8a8b"})),
     dict(method="POST", path="/api/v1/services/aigc/text-generation/generation",
          authority="dashscope.aliyuncs.com", status=200, request_model="qwen-turbo",
          provider="dashscope", operation="chat", usage="available", prompt=6, completion=33,
          total=39, flags="LLM,REQUEST_ID_GENERATED"))

# --- Ollama chat, not streamed
case("ollama_chat",
     req("POST", "/api/chat", "localhost:11434",
         {"model": "qwen3:0.6b", "messages": [{"role": "user", "content": "hi"}], "stream": False, "think": True}),
     resp(200, "application/json; charset=utf-8", j({"model": "qwen3:0.6b", "created_at": "2026-11-24T00:12:06Z",
          "message": {"role": "assistant", "content": "Hello!", "thinking": "The user greets me."},
          "done_reason": "stop", "done": True, "total_duration": 812345678, "load_duration": 1234567,
          "prompt_eval_count": 11, "prompt_eval_duration": 23456789, "eval_count": 42, "eval_duration": 745678901})),
     dict(method="POST", path="/api/chat", authority="localhost:11434", status=200,
          request_model="qwen3:0.6b", response_model="qwen3:0.6b", provider="ollama", operation="chat",
          usage="available", prompt=11, completion=42, flags="LLM,REQUEST_ID_GENERATED"))

# --- Ollama generate, streamed, lines split across chunks
gl = b"".join(j(o) + b"\n" for o in [
    {"model": "llama3.2", "created_at": "2026-11-24T00:12:07.1Z", "response": "The", "done": False},
    {"model": "llama3.2", "created_at": "2026-11-24T00:12:07.2Z", "response": " sky", "done": False},
    {"model": "llama3.2", "created_at": "2026-11-24T00:12:07.3Z", "response": "", "done": True,
     "done_reason": "stop", "context": [128006, 882, 128007], "total_duration": 10706818083,
     "prompt_eval_count": 26, "eval_count": 2}])
case("ollama_generate_stream",
     req("POST", "/api/generate", "localhost:11434", {"model": "llama3.2", "prompt": "Why is the sky blue?"}),
     resp(200, "application/x-ndjson", None, chunks=[gl[:50], gl[50:170], gl[170:]]),
     dict(method="POST", path="/api/generate", authority="localhost:11434", status=200,
          request_model="llama3.2", response_model="llama3.2", provider="ollama",
          operation="text_completion", usage="available", prompt=26, completion=2, chunks=2,
          flags="LLM,STREAM,REQUEST_ID_GENERATED"))

# --- A chunked request body (Node's http client without Content-Length)
cb = json.dumps({"model": "gpt-4.1-nano", "messages": [{"role": "user", "content": "ping"}]}).encode()
creq = ("POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nUser-Agent: OpenAI/JS 4.77.0\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n").encode() + chunked([cb[:12], cb[12:]])
case("openai_chat_chunked_request", creq,
     resp(200, "application/json", j({"id": "chatcmpl-C1", "object": "chat.completion", "created": 1,
          "model": "gpt-4.1-nano-2025-04-14", "choices": [{"index": 0, "message": {"role": "assistant", "content": "pong"},
          "finish_reason": "stop"}], "usage": {"prompt_tokens": 8, "completion_tokens": 2, "total_tokens": 10}})),
     dict(method="POST", path="/v1/chat/completions", authority="api.openai.com", status=200,
          request_model="gpt-4.1-nano", response_model="gpt-4.1-nano-2025-04-14", provider="openai",
          operation="chat", usage="available", prompt=8, completion=2, total=10,
          user_agent="OpenAI/JS 4.77.0", flags="LLM,REQUEST_ID_GENERATED"))

# --- Not LLM: a health check (emitted only with TOKENRING_HTTP=all)
case("plain_get",
     b"GET /healthz HTTP/1.1\r\nHost: svc.default:8080\r\nUser-Agent: kube-probe/1.31\r\nAccept: */*\r\n\r\n",
     b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
     dict(method="GET", path="/healthz", authority="svc.default:8080", status=200,
          user_agent="kube-probe/1.31", usage="none", http_all=1, flags="REQUEST_ID_GENERATED"))

# --- An OpenAI-compatible gateway serving its SSE stream as application/json
gw = [chat_chunk({"role": "assistant", "content": ""}), chat_chunk({"content": "Bonjour"}),
      chat_chunk({"content": " à vous"}), chat_chunk({}, "stop")]
for e in gw:
    e.pop("usage"); e["model"] = "qwen2.5-72b-instruct"
gw.append({"id": "chatcmpl-S1", "object": "chat.completion.chunk", "created": 1732406401,
           "model": "qwen2.5-72b-instruct", "choices": [],
           "usage": {"prompt_tokens": 14, "completion_tokens": 4, "total_tokens": 18}})
case("gateway_sse_as_json",
     req("POST", "/v1/chat/completions", "one-api.internal:3000",
         {"model": "qwen2.5-72b-instruct", "messages": [{"role": "user", "content": "Salut"}],
          "stream": True, "stream_options": {"include_usage": True}}),
     resp(200, "application/json", None, chunks=sse(gw, space=False) + [b"data: [DONE]\n\n"]),
     dict(method="POST", path="/v1/chat/completions", authority="one-api.internal:3000", status=200,
          request_model="qwen2.5-72b-instruct", response_model="qwen2.5-72b-instruct",
          provider="openai", operation="chat", usage="available", prompt=14, completion=4,
          total=18, chunks=2, flags="LLM,STREAM,REQUEST_ID_GENERATED"))

# --- Anthropic's events through a proxy that labels them application/json
gev = [("message_start", {"type": "message_start", "message": {"id": "msg_01G", "type": "message",
        "role": "assistant", "model": "claude-sonnet-4-20250514", "content": [], "stop_reason": None,
        "usage": {"input_tokens": 12, "output_tokens": 1}}}),
       ("ping", {"type": "ping"}),
       ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
       ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hé"}}),
       ("content_block_stop", {"type": "content_block_stop", "index": 0}),
       ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 3}}),
       ("message_stop", {"type": "message_stop"})]
gbody = b"".join(sse([e for _, e in gev], event_names=[n for n, _ in gev]))
case("gateway_event_stream_as_json",
     req("POST", "/anthropic/v1/messages", "gateway.local",
         {"model": "claude-sonnet-4-20250514", "max_tokens": 64, "stream": True,
          "messages": [{"role": "user", "content": "Hé"}]}, ["anthropic-version: 2023-06-01"]),
     resp(200, "application/json; charset=utf-8", gbody),
     dict(method="POST", path="/anthropic/v1/messages", authority="gateway.local", status=200,
          request_model="claude-sonnet-4-20250514", response_model="claude-sonnet-4-20250514",
          provider="anthropic", operation="chat", usage="available", prompt=12, completion=3,
          chunks=1, flags="LLM,STREAM,REQUEST_ID_GENERATED"))

# --- Embeddings and rerank: what each provider bills, as it reports it
def raw_req(method, path, host, body, headers=(), ua="OpenAI/Python 1.54.3"):
    """A request whose body is sent as given (raw UTF-8, the client's spacing)."""
    h = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"User-Agent: {ua}",
         "Accept: application/json"] + list(headers) + [
         "Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(h) + "\r\n\r\n").encode() + body

def ju(o, **kw):
    return json.dumps(o, ensure_ascii=False, **kw).encode()

vec = [0.0123, -0.0456, 0.0789, -0.0031]
case("dashscope_native_embedding",
     req("POST", "/api/v1/services/embeddings/text-embedding/text-embedding", "dashscope.aliyuncs.com",
         {"model": "text-embedding-v3", "input": {"texts": ["风急天高猿啸哀", "渚清沙白鸟飞回"]},
          "parameters": {"dimension": 4, "text_type": "document"}}),
     resp(200, "application/json", ju({"output": {"embeddings": [{"embedding": vec, "text_index": 0},
          {"embedding": vec[::-1], "text_index": 1}]}, "usage": {"total_tokens": 16},
          "request_id": "b7a2c0e9-5e5f-9c8e-a1d3-6f0c1e8b7a52"}, separators=(",", ":"))),
     dict(method="POST", path="/api/v1/services/embeddings/text-embedding/text-embedding",
          authority="dashscope.aliyuncs.com", status=200, request_model="text-embedding-v3",
          provider="dashscope", operation="embeddings", usage="available", prompt=16, total=16,
          flags="LLM,REQUEST_ID_GENERATED"))

case("voyage_embeddings",
     req("POST", "/v1/embeddings", "api.voyageai.com",
         {"input": ["Sample text 1", "Beispieltext 2 — mit Gedankenstrich"], "model": "voyage-3.5",
          "input_type": "document"}),
     resp(200, "application/json", ju({"object": "list", "data": [
          {"object": "embedding", "embedding": vec, "index": 0},
          {"object": "embedding", "embedding": vec, "index": 1}],
          "model": "voyage-3.5", "usage": {"total_tokens": 10}})),
     dict(method="POST", path="/v1/embeddings", authority="api.voyageai.com", status=200,
          request_model="voyage-3.5", response_model="voyage-3.5", provider="voyage",
          operation="embeddings", usage="available", prompt=10, total=10,
          flags="LLM,REQUEST_ID_GENERATED"))

case("voyage_rerank",
     req("POST", "/v1/rerank", "api.voyageai.com",
         {"query": "When is Apple's conference call scheduled?", "documents": [
          "The Mediterranean diet emphasizes fish, olive oil, and vegetables.",
          "Apple's conference call to discuss fourth fiscal quarter results is scheduled for Thursday."],
          "model": "rerank-2.5", "top_k": 2}),
     resp(200, "application/json", ju({"object": "list", "data": [
          {"relevance_score": 0.4375, "index": 1}, {"relevance_score": 0.421875, "index": 0}],
          "model": "rerank-2.5", "usage": {"total_tokens": 26}})),
     dict(method="POST", path="/v1/rerank", authority="api.voyageai.com", status=200,
          request_model="rerank-2.5", response_model="rerank-2.5", provider="voyage",
          operation="rerank", usage="available", prompt=26, total=26,
          flags="LLM,REQUEST_ID_GENERATED"))

case("jina_embeddings",
     raw_req("POST", "/v1/embeddings", "api.jina.ai",
             '{\n  "model": "jina-embeddings-v3",\n  "task": "text-matching",\n  "input": ["Organic skincare for sensitive skin", "Bio-Hautpflege für empfindliche Haut"]\n}'.encode(),
             ua="curl/8.5.0"),
     resp(200, "application/json", ju({"model": "jina-embeddings-v3", "object": "list",
          "usage": {"total_tokens": 19, "prompt_tokens": 19},
          "data": [{"object": "embedding", "index": 0, "embedding": vec},
                   {"object": "embedding", "index": 1, "embedding": vec}]})),
     dict(method="POST", path="/v1/embeddings", authority="api.jina.ai", status=200,
          request_model="jina-embeddings-v3", response_model="jina-embeddings-v3", provider="jina",
          operation="embeddings", usage="available", prompt=19, total=19, user_agent="curl/8.5.0",
          flags="LLM,REQUEST_ID_GENERATED"))

# usage before results: the shape that makes total the input comes after it
case("jina_rerank",
     raw_req("POST", "/v1/rerank", "api.jina.ai",
             ju({"model": "jina-reranker-v2-base-multilingual", "query": "Organic skincare products",
                 "top_n": 1, "documents": ["Organic skincare for sensitive skin with aloe vera",
                                           "Bio-Hautpflege für empfindliche Haut"]}), ua="curl/8.5.0"),
     resp(200, "application/json", ju({"model": "jina-reranker-v2-base-multilingual",
          "usage": {"total_tokens": 815},
          "results": [{"index": 0, "document": {"text": "Organic skincare for sensitive skin with aloe vera"},
                       "relevance_score": 0.8783142566680908}]})),
     dict(method="POST", path="/v1/rerank", authority="api.jina.ai", status=200,
          request_model="jina-reranker-v2-base-multilingual",
          response_model="jina-reranker-v2-base-multilingual", provider="jina", operation="rerank",
          usage="available", prompt=815, total=815, user_agent="curl/8.5.0",
          flags="LLM,REQUEST_ID_GENERATED"))

cua = "cohere-python/5.15.0"
case("cohere_embed",
     raw_req("POST", "/v2/embed", "api.cohere.com",
             json.dumps({"model": "embed-v4.0", "texts": ["hello", "goodbye"], "input_type": "classification",
                         "embedding_types": ["float"]}).encode(), ua=cua),
     resp(200, "application/json", ju({"id": "da6e531f-54c6-4a73-bf92-f60566d8d753",
          "embeddings": {"float": [vec, vec[::-1]]}, "texts": ["hello", "goodbye"],
          "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": 2}},
          "response_type": "embeddings_by_type"})),
     dict(method="POST", path="/v2/embed", authority="api.cohere.com", status=200,
          request_model="embed-v4.0", provider="cohere", operation="embeddings", usage="available",
          prompt=2, user_agent=cua, flags="LLM,REQUEST_ID_GENERATED"))

# Rerank is billed in search units: no token count, so usage is missing, not 0
case("cohere_rerank",
     raw_req("POST", "/v2/rerank", "api.cohere.com",
             json.dumps({"model": "rerank-v3.5", "query": "What is the capital of the United States?",
                         "documents": ["Carson City is the capital city of the American state of Nevada.",
                                       "Washington, D.C. is the capital of the United States."],
                         "top_n": 2}).encode(), ua=cua),
     resp(200, "application/json", ju({"results": [{"index": 1, "relevance_score": 0.999071},
          {"index": 0, "relevance_score": 0.32713068}], "id": "07734bd2-2473-4f07-94e1-0d9f0e6843cf",
          "meta": {"api_version": {"version": "2", "is_experimental": False},
                   "billed_units": {"search_units": 1}}})),
     dict(method="POST", path="/v2/rerank", authority="api.cohere.com", status=200,
          request_model="rerank-v3.5", provider="cohere", operation="rerank", usage="missing",
          user_agent=cua, flags="LLM,REQUEST_ID_GENERATED"))

# --- Cohere v2 chat: tokens billed under usage.billed_units (usage.tokens, the
# templated count, is not what is billed and is not read)
cmsg = [{"role": "user", "content": "Écris un haïku sur la mer."}]
case("cohere_chat",
     raw_req("POST", "/v2/chat", "api.cohere.com",
             json.dumps({"model": "command-a-03-2025", "messages": cmsg}).encode(), ua=cua),
     resp(200, "application/json", ju({"id": "c14c80c3-18eb-4519-9460-6c92edd8cfb4",
          "finish_reason": "COMPLETE", "message": {"role": "assistant", "content": [
              {"type": "text", "text": "Vague après vague —\nle sel garde la mémoire\ndes pas effacés."}]},
          "usage": {"billed_units": {"input_tokens": 11, "output_tokens": 19},
                    "tokens": {"input_tokens": 504, "output_tokens": 21}}})),
     dict(method="POST", path="/v2/chat", authority="api.cohere.com", status=200,
          request_model="command-a-03-2025", provider="cohere", operation="chat", usage="available",
          prompt=11, completion=19, user_agent=cua, flags="LLM,REQUEST_ID_GENERATED"))

cev = [("message-start", {"id": "29f14a5a-11de-4cae-9800-25e4747408ea", "type": "message-start",
         "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}}),
       ("content-start", {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}}),
       ("content-delta", {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "Vague"}}}}),
       ("content-delta", {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": " après vague"}}}}),
       ("content-end", {"type": "content-end", "index": 0}),
       ("message-end", {"type": "message-end", "delta": {"finish_reason": "COMPLETE",
         "usage": {"billed_units": {"input_tokens": 11, "output_tokens": 4}, "tokens": {"input_tokens": 504, "output_tokens": 6}}}})]
case("cohere_chat_stream",
     raw_req("POST", "/v2/chat", "api.cohere.com",
             json.dumps({"model": "command-a-03-2025", "messages": cmsg, "stream": True}).encode(), ua=cua),
     resp(200, "text/event-stream", None,
          chunks=[b"event: " + n.encode() + b"\ndata: " + ju(e, separators=(",", ":")) + b"\n\n" for n, e in cev]),
     dict(method="POST", path="/v2/chat", authority="api.cohere.com", status=200,
          request_model="command-a-03-2025", provider="cohere", operation="chat", usage="available",
          prompt=11, completion=4, chunks=2, user_agent=cua, flags="LLM,STREAM,REQUEST_ID_GENERATED"))

# --- Mistral: usage ahead of choices; streams end with usage unasked
mua = "mistral-client-python/1.9.1"
case("mistral_chat",
     raw_req("POST", "/v1/chat/completions", "api.mistral.ai",
             json.dumps({"model": "mistral-large-latest", "messages": [{"role": "user", "content": "Best French cheese?"}],
                         "safe_prompt": False}).encode(), ua=mua),
     resp(200, "application/json", ju({"id": "cf79f7daaee244b1a0ae5c7b1444424a", "object": "chat.completion",
          "model": "mistral-large-latest", "usage": {"prompt_tokens": 10, "completion_tokens": 24, "total_tokens": 34},
          "created": 1732406400, "choices": [{"index": 0, "message": {"content": "Le Comté, sans hésiter.",
          "tool_calls": None, "prefix": False, "role": "assistant"}, "finish_reason": "stop"}]})),
     dict(method="POST", path="/v1/chat/completions", authority="api.mistral.ai", status=200,
          request_model="mistral-large-latest", response_model="mistral-large-latest", provider="mistral",
          operation="chat", usage="available", prompt=10, completion=24, total=34, user_agent=mua,
          flags="LLM,REQUEST_ID_GENERATED"))

def mchunk(delta, finish=None, usage=None):
    o = {"id": "9d7c5e2a", "object": "chat.completion.chunk", "created": 1732406401,
         "model": "mistral-small-latest", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if usage:
        o["usage"] = usage
    return o
mev = [mchunk({"role": "assistant", "content": ""}), mchunk({"content": "Le Comté"}),
       mchunk({"content": "."}, "stop", {"prompt_tokens": 10, "total_tokens": 15, "completion_tokens": 5})]
case("mistral_chat_stream",
     raw_req("POST", "/v1/chat/completions", "api.mistral.ai",
             json.dumps({"model": "mistral-small-latest", "messages": [{"role": "user", "content": "Best French cheese?"}],
                         "stream": True}).encode(), ua=mua),
     resp(200, "text/event-stream; charset=utf-8", None,
          chunks=[b"data: " + ju(e, separators=(",", ":")) + b"\n\n" for e in mev] + [b"data: [DONE]\n\n"]),
     dict(method="POST", path="/v1/chat/completions", authority="api.mistral.ai", status=200,
          request_model="mistral-small-latest", response_model="mistral-small-latest", provider="mistral",
          operation="chat", usage="available", prompt=10, completion=5, total=15, chunks=2, user_agent=mua,
          flags="LLM,STREAM,REQUEST_ID_GENERATED"))

# --- DeepSeek: no /v1 prefix, prompt_cache_hit_tokens, reasoning_content
case("deepseek_chat",
     req("POST", "/chat/completions", "api.deepseek.com",
         {"model": "deepseek-reasoner", "messages": [{"role": "user", "content": "9.11 and 9.8, which is greater?"}]}),
     resp(200, "application/json", j({"id": "930c60df-bf64-41c9-a88e-3ec75f81e00e", "object": "chat.completion",
          "created": 1732406400, "model": "deepseek-reasoner", "choices": [{"index": 0, "message": {
          "role": "assistant", "content": "9.8 is greater.", "reasoning_content": "Compare 9.80 with 9.11..."},
          "logprobs": None, "finish_reason": "stop"}],
          "usage": {"prompt_tokens": 18, "completion_tokens": 312, "total_tokens": 330,
                    "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 298},
                    "prompt_cache_hit_tokens": 0, "prompt_cache_miss_tokens": 18},
          "system_fingerprint": "fp_5417b77867_prod0225"})),
     dict(method="POST", path="/chat/completions", authority="api.deepseek.com", status=200,
          request_model="deepseek-reasoner", response_model="deepseek-reasoner", provider="deepseek",
          operation="chat", usage="available", prompt=18, completion=312, total=330, reasoning=298,
          flags="LLM,REQUEST_ID_GENERATED"))

def dchunk(delta, finish=None, usage=None, choices=True):
    o = {"id": "b2a1", "object": "chat.completion.chunk", "created": 1732406401, "model": "deepseek-chat",
         "system_fingerprint": "fp_3a5770e1b4_prod0225",
         "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}] if choices else []}
    o["usage"] = usage
    return o
dev = [dchunk({"role": "assistant", "content": ""}), dchunk({"content": "你好"}), dchunk({"content": "！"}),
       dchunk({"content": ""}, "stop"),
       dchunk(None, usage={"prompt_tokens": 70, "completion_tokens": 3, "total_tokens": 73,
                           "prompt_cache_hit_tokens": 64, "prompt_cache_miss_tokens": 6}, choices=False)]
case("deepseek_chat_stream",
     req("POST", "/chat/completions", "api.deepseek.com",
         {"model": "deepseek-chat", "messages": [{"role": "user", "content": "你好"}], "stream": True,
          "stream_options": {"include_usage": True}}),
     resp(200, "text/event-stream; charset=utf-8", None,
          chunks=[b"data: " + ju(e, separators=(",", ":")) + b"\n\n" for e in dev] + [b": keep-alive\n\n", b"data: [DONE]\n\n"]),
     dict(method="POST", path="/chat/completions", authority="api.deepseek.com", status=200,
          request_model="deepseek-chat", response_model="deepseek-chat", provider="deepseek",
          operation="chat", usage="available", prompt=70, completion=3, total=73, cached=64, chunks=2,
          flags="LLM,STREAM,REQUEST_ID_GENERATED"))

# --- Anthropic on Vertex AI: the model is in the URL, the body is Anthropic's
vpath = "/v1/projects/acme-llm-prod/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:"
vua = "AnthropicVertex/Python 0.52.0"
vbody = lambda stream: json.dumps({"anthropic_version": "vertex-2023-10-16", "max_tokens": 128,
                                   "messages": [{"role": "user", "content": "Grüß dich! Wie geht's?"}],
                                   **({"stream": True} if stream else {})}).encode()
vauth = ["Authorization: Bearer ya29.a0AfB_byC-redacted", "x-goog-user-project: acme-llm-prod"]
case("vertex_anthropic",
     raw_req("POST", vpath + "rawPredict", "us-east5-aiplatform.googleapis.com", vbody(False), vauth, ua=vua),
     resp(200, "application/json; charset=UTF-8", ju({"id": "msg_vrtx_01WzYb5vQ6", "type": "message",
          "role": "assistant", "model": "claude-sonnet-4-20250514",
          "content": [{"type": "text", "text": "Grüß dich! Mir geht's gut, danke."}],
          "stop_reason": "end_turn", "stop_sequence": None,
          "usage": {"input_tokens": 16, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                    "output_tokens": 14}}), extra=["Vary: Origin", "Server: scaffolding on HTTPServer2"]),
     dict(method="POST", path=vpath + "rawPredict", authority="us-east5-aiplatform.googleapis.com",
          status=200, request_model="claude-sonnet-4@20250514", response_model="claude-sonnet-4-20250514",
          provider="gcp.vertex_ai", operation="chat", usage="available", prompt=16, completion=14,
          user_agent=vua, flags="LLM,REQUEST_ID_GENERATED"))

vev = [("message_start", {"type": "message_start", "message": {"id": "msg_vrtx_01X", "type": "message",
         "role": "assistant", "model": "claude-sonnet-4-20250514", "content": [], "stop_reason": None,
         "stop_sequence": None, "usage": {"input_tokens": 16, "cache_creation_input_tokens": 0,
         "cache_read_input_tokens": 8, "output_tokens": 2}}}),
       ("ping", {"type": "ping"}),
       ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
       ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Grüß"}}),
       ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " dich!"}}),
       ("content_block_stop", {"type": "content_block_stop", "index": 0}),
       ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                          "usage": {"output_tokens": 9}}),
       ("message_stop", {"type": "message_stop"})]
case("vertex_anthropic_stream",
     raw_req("POST", vpath + "streamRawPredict", "us-east5-aiplatform.googleapis.com", vbody(True), vauth, ua=vua),
     resp(200, "text/event-stream; charset=utf-8", None,
          chunks=[b"event: " + n.encode() + b"\ndata: " + ju(e, separators=(",", ":")) + b"\n\n" for n, e in vev]),
     dict(method="POST", path=vpath + "streamRawPredict", authority="us-east5-aiplatform.googleapis.com",
          status=200, request_model="claude-sonnet-4@20250514", response_model="claude-sonnet-4-20250514",
          provider="gcp.vertex_ai", operation="chat", usage="available", prompt=16, completion=9, cached=8,
          chunks=2, user_agent=vua, flags="LLM,STREAM,REQUEST_ID_GENERATED"))

# --- AWS Bedrock runtime: model id in the path (boto3 escapes its ':'),
# Converse JSON, and the binary event stream of the streaming APIs
import base64, struct, zlib

def evs_msg(headers, payload):
    """One event-stream message: prelude, string headers, payload, CRCs."""
    h = b""
    for k, v in headers:
        h += bytes([len(k)]) + k.encode() + b"\x07" + struct.pack(">H", len(v)) + v.encode()
    pre = struct.pack(">II", len(h) + len(payload) + 16, len(h))
    pre += struct.pack(">I", zlib.crc32(pre))
    msg = pre + h + payload
    return msg + struct.pack(">I", zlib.crc32(msg))

def evs_event(etype, payload):
    return evs_msg([(":event-type", etype), (":content-type", "application/json"),
                    (":message-type", "event")], payload)

def evs_chunk(event):
    """InvokeModelWithResponseStream: the model's event, base64, in {"bytes"}."""
    b64 = base64.b64encode(j(event)).decode()
    return evs_event("chunk", j({"bytes": b64, "p": "abcdefghijklmnopqrstuvwxyzABCDEF"[:len(b64) % 29]}))

bua = "Boto3/1.34.46 Botocore/1.34.46"
def bedrock_req(model_path, body):
    h = [f"POST {model_path} HTTP/1.1", "Host: bedrock-runtime.us-east-1.amazonaws.com",
         "Accept-Encoding: identity", "Content-Type: application/json", f"User-Agent: {bua}",
         "X-Amz-Date: 20261124T001203Z",
         "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261124/us-east-1/bedrock/aws4_request, "
         "SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
         "amz-sdk-invocation-id: 4f3b5c0e-4a5b-4c36-9b6c-0f7b1b1f2d3e", "amz-sdk-request: attempt=1; max=3",
         f"Content-Length: {len(body)}"]
    return ("\r\n".join(h) + "\r\n\r\n").encode() + body

def bedrock_resp(ctype, body=None, chunks=None):
    extra = ["x-amzn-RequestId: 0a3c8f7e-95a5-4d5b-a6a0-1d2e3f4a5b6c"]
    return resp(200, ctype, body, chunks=chunks, extra=extra)

haiku = "anthropic.claude-3-haiku-20240307-v1:0"
haiku_path = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/"
conv_req = j({"messages": [{"role": "user", "content": [{"text": "Nenne drei Farben."}]}],
              "inferenceConfig": {"maxTokens": 100, "temperature": 0.5}})
bexp = dict(method="POST", authority="bedrock-runtime.us-east-1.amazonaws.com", status=200,
            request_model=haiku, provider="aws.bedrock", usage="available", user_agent=bua)
case("bedrock_converse",
     bedrock_req(haiku_path + "converse", conv_req),
     bedrock_resp("application/json", ju({"metrics": {"latencyMs": 436},
          "output": {"message": {"content": [{"text": "Rot, Grün und Blau."}], "role": "assistant"}},
          "stopReason": "end_turn", "usage": {"inputTokens": 14, "outputTokens": 9, "totalTokens": 23,
          "cacheReadInputTokens": 0, "cacheWriteInputTokens": 0}}, separators=(",", ":"))),
     dict(bexp, path=haiku_path + "converse", operation="chat", prompt=14, completion=9, total=23,
          flags="LLM,REQUEST_ID_GENERATED"))

cs = [evs_event("messageStart", j({"p": "abcdefghijklmn", "role": "assistant"})),
      evs_event("contentBlockDelta", ju({"contentBlockIndex": 0, "delta": {"text": "Rot, Grün"}, "p": "abcd"}, separators=(",", ":"))),
      evs_event("contentBlockDelta", ju({"contentBlockIndex": 0, "delta": {"text": " und Blau."}, "p": "abcdefgh"}, separators=(",", ":"))),
      evs_event("contentBlockStop", j({"contentBlockIndex": 0, "p": "abcdefghijklmnopq"})),
      evs_event("messageStop", j({"p": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLM", "stopReason": "end_turn"})),
      evs_event("metadata", j({"metrics": {"latencyMs": 512}, "p": "abc",
                               "usage": {"inputTokens": 14, "outputTokens": 9, "totalTokens": 23}}))]
case("bedrock_converse_stream",
     bedrock_req(haiku_path + "converse-stream", conv_req),
     bedrock_resp("application/vnd.amazon.eventstream", chunks=[cs[0] + cs[1][:7], cs[1][7:] + cs[2]] + cs[3:]),
     dict(bexp, path=haiku_path + "converse-stream", operation="chat", prompt=14, completion=9, total=23,
          chunks=2, flags="LLM,STREAM,REQUEST_ID_GENERATED"))

inv_claude = j({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100,
                "messages": [{"role": "user", "content": "Nenne drei Farben."}]})
ic = [{"type": "message_start", "message": {"id": "msg_bdrk_01", "type": "message", "role": "assistant",
       "model": "claude-3-haiku-20240307", "content": [], "stop_reason": None, "stop_sequence": None,
       "usage": {"input_tokens": 14, "output_tokens": 1}}},
      {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
      {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Rot"}},
      {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": ", Grün und Blau."}},
      {"type": "content_block_stop", "index": 0},
      {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 9}},
      {"type": "message_stop", "amazon-bedrock-invocationMetrics": {"inputTokenCount": 14, "outputTokenCount": 9,
       "invocationLatency": 601, "firstByteLatency": 288}}]
case("bedrock_invoke_claude_stream",
     bedrock_req(haiku_path + "invoke-with-response-stream", inv_claude),
     bedrock_resp("application/vnd.amazon.eventstream", chunks=[evs_chunk(e) for e in ic]),
     dict(bexp, path=haiku_path + "invoke-with-response-stream", operation="chat",
          response_model="claude-3-haiku-20240307", prompt=14, completion=9, chunks=2,
          flags="LLM,STREAM,REQUEST_ID_GENERATED"))

titan = "/model/amazon.titan-text-express-v1/invoke"
case("bedrock_invoke_titan",
     bedrock_req(titan, j({"inputText": "Nenne drei Farben.", "textGenerationConfig": {"maxTokenCount": 100}})),
     bedrock_resp("application/json", ju({"inputTextTokenCount": 6, "results": [{"tokenCount": 8,
          "outputText": "\nRot, Grün, Blau.", "completionReason": "FINISH"}]}, separators=(",", ":"))),
     dict(bexp, path=titan, request_model="amazon.titan-text-express-v1", operation="text_completion",
          prompt=6, completion=8, flags="LLM,REQUEST_ID_GENERATED"))

tembed = "/model/amazon.titan-embed-text-v2%3A0/invoke"
case("bedrock_invoke_titan_embed",
     bedrock_req(tembed, j({"inputText": "Rot, Grün, Blau.", "dimensions": 256, "normalize": True})),
     bedrock_resp("application/json", j({"embedding": vec, "embeddingsByType": {"float": vec},
                                          "inputTextTokenCount": 7})),
     dict(bexp, path=tembed, request_model="amazon.titan-embed-text-v2:0", operation="embeddings",
          prompt=7, flags="LLM,REQUEST_ID_GENERATED"))

llama = "/model/meta.llama3-8b-instruct-v1%3A0/invoke"
case("bedrock_invoke_llama",
     bedrock_req(llama, j({"prompt": "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\nNenne drei Farben.<|eot_id|>",
                           "max_gen_len": 100, "temperature": 0.5})),
     bedrock_resp("application/json", ju({"generation": "Rot, Grün und Blau.", "prompt_token_count": 19,
          "generation_token_count": 8, "stop_reason": "stop"}, separators=(",", ":"))),
     dict(bexp, path=llama, request_model="meta.llama3-8b-instruct-v1:0", operation="text_completion",
          prompt=19, completion=8, flags="LLM,REQUEST_ID_GENERATED"))

mistral = "/model/mistral.mistral-7b-instruct-v0%3A2/invoke-with-response-stream"
mc = [{"outputs": [{"text": " Rot,", "stop_reason": None}]},
      {"outputs": [{"text": " Grün, Blau.", "stop_reason": None}]},
      {"outputs": [{"text": "", "stop_reason": "stop"}], "amazon-bedrock-invocationMetrics": {
       "inputTokenCount": 16, "outputTokenCount": 7, "invocationLatency": 402, "firstByteLatency": 180}}]
case("bedrock_invoke_mistral_stream",
     bedrock_req(mistral, j({"prompt": "<s>[INST] Nenne drei Farben. [/INST]", "max_tokens": 100})),
     bedrock_resp("application/vnd.amazon.eventstream", chunks=[b"".join(evs_chunk(e) for e in mc)]),
     dict(bexp, path=mistral, request_model="mistral.mistral-7b-instruct-v0:2", operation="text_completion",
          prompt=16, completion=7, chunks=2, flags="LLM,STREAM,REQUEST_ID_GENERATED"))

# InvokeModel with Mistral's plain body: no usage in it; Bedrock's headers
# carry the counts, and are the usage
mplain = "/model/mistral.mistral-7b-instruct-v0%3A2/invoke"
case("bedrock_invoke_mistral_headers",
     bedrock_req(mplain, j({"prompt": "<s>[INST] Nenne drei Farben. [/INST]", "max_tokens": 100})),
     resp(200, "application/json", ju({"outputs": [{"text": " Rot, Grün, Blau.", "stop_reason": "stop"}]},
          separators=(",", ":")), extra=["x-amzn-RequestId: 0a3c8f7e-95a5-4d5b-a6a0-1d2e3f4a5b6c",
          "X-Amzn-Bedrock-Invocation-Latency: 402", "X-Amzn-Bedrock-Output-Token-Count: 7",
          "X-Amzn-Bedrock-Input-Token-Count: 16"]),
     dict(bexp, path=mplain, request_model="mistral.mistral-7b-instruct-v0:2", operation="text_completion",
          prompt=16, completion=7, flags="LLM,REQUEST_ID_GENERATED"))

# The body's usage wins over the headers' (they agree on the wire; here
# they differ so the rule shows)
case("bedrock_invoke_claude_body_usage_wins",
     bedrock_req(haiku_path + "invoke", j({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64,
          "messages": [{"role": "user", "content": "Nenne drei Farben."}]})),
     resp(200, "application/json", ju({"id": "msg_bdrk_01", "type": "message", "role": "assistant",
          "model": "claude-3-haiku-20240307", "content": [{"type": "text", "text": "Rot, Grün und Blau."}],
          "stop_reason": "end_turn", "stop_sequence": None, "usage": {"input_tokens": 14, "output_tokens": 9}},
          separators=(",", ":")), extra=["X-Amzn-Bedrock-Input-Token-Count: 140",
          "X-Amzn-Bedrock-Output-Token-Count: 90"]),
     dict(bexp, path=haiku_path + "invoke", operation="chat", response_model="claude-3-haiku-20240307",
          prompt=14, completion=9, flags="LLM,REQUEST_ID_GENERATED"))

# A request without a body (its answer an error): the model the path names
# is in the record decoded all the same
case("bedrock_invoke_no_body",
     bedrock_req(haiku_path + "invoke", b""),
     resp(400, "application/json", j({"message": "Malformed input request: expected a JSON body"}),
          extra=["x-amzn-RequestId: 0a3c8f7e-95a5-4d5b-a6a0-1d2e3f4a5b6c",
                 "x-amzn-ErrorType: ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"],
          reason="Bad Request"),
     dict(bexp, path=haiku_path + "invoke", status=400, usage="missing",
          flags="LLM,REQUEST_ID_GENERATED"))

# A stream cut by an exception message: what came before stands, no usage
case("bedrock_converse_stream_throttled",
     bedrock_req(haiku_path + "converse-stream", conv_req),
     bedrock_resp("application/vnd.amazon.eventstream", chunks=cs[:2] + [evs_msg(
          [(":exception-type", "throttlingException"), (":content-type", "application/json"),
           (":message-type", "exception")], j({"message": "Too many requests, please wait before trying again."}))]),
     dict(bexp, path=haiku_path + "converse-stream", operation="chat", usage="missing", chunks=1,
          flags="LLM,STREAM,REQUEST_ID_GENERATED"))

# --- MCP over HTTP (record_mcp.h): JSON-RPC in the body, the method in
# response_model, the tool in request_model, the outcome in flags
mua2 = "node"
def mcp_req(body, path="/mcp", session=None):
    h = ["POST %s HTTP/1.1" % path, "Host: localhost:3000", "Connection: keep-alive",
         "content-type: application/json", "accept: application/json, text/event-stream",
         "accept-language: *", "sec-fetch-mode: cors", "user-agent: node",
         "accept-encoding: identity"]
    if session:
        h += ["mcp-session-id: " + session, "mcp-protocol-version: 2025-06-18"]
    h.append("content-length: %d" % len(body))
    return ("\r\n".join(h) + "\r\n\r\n").encode() + body

def mcp_sse_resp(obj, extra=()):
    """The TypeScript SDK's server: one SSE event per answer, chunked."""
    ev = b"event: message\ndata: " + ju(obj, separators=(",", ":")) + b"\n\n"
    h = ["HTTP/1.1 200 OK", "Content-Type: text/event-stream", "Cache-Control: no-cache",
         "Connection: keep-alive"] + list(extra) + ["Date: Tue, 24 Nov 2026 00:12:03 GMT",
         "Transfer-Encoding: chunked"]
    return ("\r\n".join(h) + "\r\n\r\n").encode() + chunked([ev])

sid = "mcp-session-id: 3f2a1c4e-9b7d-4e21-8c5a-0d6e7f8a9b1c"
# mcp_id: the JSON-RPC id as its JSON text (record_mcp.h keeps its hash)
mexp = dict(method="POST", path="/mcp", authority="localhost:3000", status=200, provider="mcp",
            operation="mcp", usage="none", user_agent="node")
case("mcp_initialize",
     mcp_req(j({"method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "tokenring-test", "version": "1.0.0"}}, "jsonrpc": "2.0", "id": 0})),
     mcp_sse_resp({"result": {"protocolVersion": "2025-06-18", "capabilities": {"tools": {"listChanged": True}},
                   "serverInfo": {"name": "calc", "version": "1.0.0"}}, "jsonrpc": "2.0", "id": 0}, [sid]),
     dict(mexp, response_model="initialize", mcp_id=0, flags="LLM,STREAM,REQUEST_ID_GENERATED"))

case("mcp_tools_call",
     mcp_req(j({"method": "tools/call", "params": {"name": "add", "arguments": {"a": 2, "b": 3}},
                "jsonrpc": "2.0", "id": 2}), session=sid.split(": ")[1]),
     mcp_sse_resp({"result": {"content": [{"type": "text", "text": "5"}]}, "jsonrpc": "2.0", "id": 2}),
     dict(mexp, request_model="add", response_model="tools/call", chunks=1, mcp_id=2,
          flags="LLM,STREAM,REQUEST_ID_GENERATED"))

# The Python SDK's order (jsonrpc first), a JSON answer, a tool that failed
case("mcp_tools_call_is_error",
     mcp_req(j({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                "params": {"name": "divide", "arguments": {"a": 1, "b": 0}}})),
     resp(200, "application/json", ju({"jsonrpc": "2.0", "id": 7, "result": {"content": [
          {"type": "text", "text": "Division durch null — nicht erlaubt"}], "isError": True}})),
     dict(mexp, request_model="divide", response_model="tools/call", user_agent="node", mcp_id=7,
          flags="LLM,REQUEST_ID_GENERATED,MCP_TOOL_ERROR"))

case("mcp_tools_call_rpc_error",
     mcp_req(j({"method": "tools/call", "params": {"name": "nope", "arguments": {}}, "jsonrpc": "2.0", "id": 3})),
     mcp_sse_resp({"jsonrpc": "2.0", "id": 3, "error": {"code": -32602,
                   "message": "MCP error -32602: Tool nope not found"}}),
     dict(mexp, request_model="nope", response_model="tools/call", mcp_id=3,
          flags="LLM,STREAM,REQUEST_ID_GENERATED,MCP_RPC_ERROR"))

case("mcp_notification",
     mcp_req(j({"method": "notifications/initialized", "jsonrpc": "2.0"})),
     b"HTTP/1.1 202 Accepted\r\nDate: Tue, 24 Nov 2026 00:12:03 GMT\r\nConnection: keep-alive\r\n"
     b"Keep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
     dict(mexp, status=202, response_model="notifications/initialized", flags="LLM,REQUEST_ID_GENERATED"))

# The older SSE transport: the POST is only accepted, the answer goes out
# on the GET /sse stream
case("mcp_sse_transport_post",
     mcp_req(j({"method": "tools/call", "params": {"name": "add", "arguments": {"a": 1, "b": 1}},
                "jsonrpc": "2.0", "id": 4}), path="/messages?sessionId=5c1d2e3f"),
     b"HTTP/1.1 202 Accepted\r\nDate: Tue, 24 Nov 2026 00:12:03 GMT\r\nConnection: keep-alive\r\n"
     b"Content-Length: 8\r\n\r\nAccepted",
     dict(mexp, status=202, path="/messages?sessionId=5c1d2e3f", request_model="add",
          response_model="tools/call", mcp_id=4, flags="LLM,REQUEST_ID_GENERATED"))

# JSON-RPC that is not MCP (an Ethereum node): not recorded as MCP
case("jsonrpc_not_mcp",
     mcp_req(j({"jsonrpc": "2.0", "method": "eth_blockNumber", "params": [], "id": 83})),
     resp(200, "application/json", j({"jsonrpc": "2.0", "id": 83, "result": "0x4b7"})),
     dict(method="POST", path="/mcp", authority="localhost:3000", status=200, user_agent="node",
          usage="none", http_all=1, flags="REQUEST_ID_GENERATED"))

for name, (rq, rs, ex) in CASES.items():
    with open(os.path.join(HERE, name + ".req"), "wb") as f: f.write(rq)
    with open(os.path.join(HERE, name + ".resp"), "wb") as f: f.write(rs)
    with open(os.path.join(HERE, name + ".expect"), "w") as f:
        for k, v in ex.items(): f.write(f"{k}={v}\n")
print(len(CASES), "cases")
