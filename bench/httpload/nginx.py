"""nginx configurations for the HTTP benchmark: an LLM-shaped upstream
(a fixed chat completion with usage, or padded bodies of a chosen size) and
a reverse-proxy hop with a JSON access log, as a sidecar user pays for."""

CHAT_BODY = ('{"id":"chatcmpl-bench","object":"chat.completion","model":"bench-model",'
             '"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},'
             '"finish_reason":"stop"}],'
             '"usage":{"prompt_tokens":12,"completion_tokens":1,"total_tokens":13}}')

_HEAD = """worker_processes 1;
master_process off;
daemon off;
error_log {dir}/{name}.err warn;
pid {dir}/{name}.pid;
events {{ worker_connections 4096; }}
http {{
  client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fcgi; uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
  keepalive_requests 10000000;
"""


def sized_body(size):
    """A chat completion JSON of exactly `size` bytes (content padded)."""
    head = '{"id":"chatcmpl-bench","object":"chat.completion","model":"bench-model","choices":[{"index":0,"message":{"role":"assistant","content":"'
    tail = '"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":%d,"total_tokens":%d}}' % (size // 4, 12 + size // 4)
    pad = size - len(head) - len(tail)
    if pad < 0:
        raise ValueError("size too small")
    return head + ("word " * (pad // 5 + 1))[:pad] + tail


def sized_sse(size):
    """An SSE chat completion stream of about `size` bytes: ~280-byte chunk
    events, a usage event, then [DONE] (served with Content-Length: nginx
    sends files whole, so this measures parsing, not network pacing)."""
    out, n = [], 0
    i = 0
    while n < max(size - 400, 0):
        ev = ('data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1,'
              '"model":"bench-model","system_fingerprint":"fp","choices":[{"index":0,'
              '"delta":{"content":" tok%d"},"logprobs":null,"finish_reason":null}]}\n\n' % i)
        out.append(ev)
        n += len(ev)
        i += 1
    out.append('data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","model":'
               '"bench-model","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":%d,'
               '"total_tokens":%d}}\n\ndata: [DONE]\n\n' % (i, 12 + i))
    return "".join(out)


def upstream(dir, port, static_dir):
    """Answers any POST with CHAT_BODY; /size/N.json serves a padded file."""
    return _HEAD.format(dir=dir, name="upstream") + """  access_log off;
  server {{
    listen 127.0.0.1:{port} reuseport;
    location /size/ {{
      root {static};
      default_type application/json;
      error_page 405 =200 $uri;
    }}
    location /sse/ {{
      root {static};
      default_type text/event-stream;
      error_page 405 =200 $uri;
    }}
    location / {{
      default_type application/json;
      return 200 '{body}';
    }}
  }}
}}
""".format(port=port, static=static_dir, body=CHAT_BODY)


def proxy(dir, port, upstream_port):
    """One reverse-proxy hop with a JSON access log, keep-alive upstream."""
    return _HEAD.format(dir=dir, name="proxy") + """  log_format mesh escape=json '{{"start_time":"$time_iso8601","method":"$request_method",'
    '"path":"$request_uri","response_code":"$status","bytes_received":"$request_length",'
    '"bytes_sent":"$bytes_sent","duration":"$request_time","upstream_host":"$upstream_addr",'
    '"request_id":"$request_id","user_agent":"$http_user_agent"}}';
  access_log {dir}/proxy-access.log mesh;
  upstream llm {{ server 127.0.0.1:{up}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port} reuseport;
    location / {{
      proxy_pass http://llm;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
}}
""".format(dir=dir, port=port, up=upstream_port)
