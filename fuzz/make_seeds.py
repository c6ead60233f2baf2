#!/usr/bin/env python3
"""Writes the committed seed corpus: tests/fuzz/seeds/<target>/seed-*.

Run from anywhere: `python3 fuzz/make_seeds.py`. It overwrites the seed-* files only.
(The seeds live under tests/ so that the packaged crate's replay tests have them; fuzzing
runs write their own finds to fuzz/corpus/, which is git-ignored.)
Every seed is a real OpenAI or vLLM payload (or a realistic damaged one).
"""

import json
import pathlib

FUZZ = pathlib.Path(__file__).resolve().parent
FIXTURES = FUZZ.parent / "tests" / "fixtures"


def write(target, name, data):
    d = FUZZ.parent / "tests" / "fuzz" / "seeds" / target
    d.mkdir(parents=True, exist_ok=True)
    assert len(data) < 8192, (target, name, len(data))
    (d / f"seed-{name}").write_bytes(data)


def j(v):
    return json.dumps(v, separators=(",", ":"))


def fixture(name):
    return (FIXTURES / f"{name}.json").read_bytes()


# ---------------------------------------------------------------- sse
# First byte: pieces of (b % 17) + 1 bytes. 0 -> 1-byte pieces (every boundary),
# 16 -> 17-byte pieces, 1 -> 2 (splits CRLF), 6 -> 7, 12 -> 13.


def events(payloads, nl=b"\n"):
    out = b""
    for p in payloads:
        out += b"data: " + (p if isinstance(p, bytes) else j(p).encode()) + nl + nl
    return out


def compact(name):
    return j(json.loads(fixture(name))).encode()


VLLM_ID = "chatcmpl-8f2c6d0b2a1e4c3f9a7b5d4e3c2b1a09"


def vllm_chunk(delta, finish=None, **extra):
    c = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    c.update(extra)
    return {
        "id": VLLM_ID,
        "object": "chat.completion.chunk",
        "created": 1761234567,
        "model": "Qwen/Qwen3-8B",
        "choices": [c],
    }


vllm_stream = events(
    [compact("vllm_chunk_first")]
    + [vllm_chunk({"content": t}) for t in ["Hello", "!", " How", " can I", " help?"]]
    + [compact("vllm_chunk_finish"), compact("vllm_chunk_usage"), b"[DONE]"]
)
write("sse", "vllm-chat-stream", bytes([16]) + vllm_stream)
write("sse", "vllm-chat-stream-1byte", bytes([0]) + vllm_stream)

vllm_tools = events(
    [
        compact("vllm_chunk_first"),
        compact("vllm_chunk_tool_call"),
        vllm_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
        vllm_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
        vllm_chunk({"content": ""}, "tool_calls", stop_reason=None),
        compact("vllm_chunk_usage"),
        b"[DONE]",
    ]
)
write("sse", "vllm-tool-call-stream", bytes([6]) + vllm_tools)

vllm_reasoning = events(
    [
        compact("vllm_chunk_first"),
        compact("vllm_chunk_reasoning_content"),
        compact("vllm_chunk_reasoning"),
        vllm_chunk({"content": "42"}),
        compact("vllm_chunk_finish"),
        b"[DONE]",
    ]
)
# vLLM sends `: keep-alive` comments while the engine is busy.
keepalive = vllm_reasoning.replace(b"\n\ndata", b"\n\n: keep-alive\n\ndata", 2)
write("sse", "vllm-reasoning-keepalive", bytes([12]) + b": keep-alive\n\n" + keepalive)

openai_stream = events(
    [compact("openai_chat_chunk_first"), compact("openai_chat_chunk_content")]
    + [compact("openai_chat_chunk_content").replace(b'"Hello"', t) for t in [b'" world"', b'"\\u00e9\\n"']]
    + [compact("openai_chat_chunk_finish"), compact("openai_chat_chunk_usage"), b"[DONE]"]
)
write("sse", "openai-chat-stream", bytes([16]) + openai_stream)
write("sse", "openai-chat-stream-crlf", bytes([1]) + openai_stream.replace(b"\n", b"\r\n"))
write("sse", "openai-chat-stream-cr", bytes([4]) + openai_stream.replace(b"\n", b"\r"))
write("sse", "openai-chat-stream-bom", bytes([2]) + b"\xef\xbb\xbf" + openai_stream)

oa_tool = json.loads(fixture("openai_chat_chunk_tool_call"))
oa_args = []
for frag in ['{"', "location", '":"', "Paris", ", France", '"}']:
    c = json.loads(fixture("openai_chat_chunk_content"))
    c["choices"][0]["delta"] = {"tool_calls": [{"index": 0, "function": {"arguments": frag}}]}
    oa_args.append(c)
oa_fin = json.loads(fixture("openai_chat_chunk_finish"))
oa_fin["choices"][0]["finish_reason"] = "tool_calls"
write(
    "sse",
    "openai-tool-call-stream",
    bytes([9]) + events([oa_tool] + oa_args + [oa_fin, b"[DONE]"]),
)

# In-band errors: vLLM's nested error object (int code) mid-stream, OpenAI's
# `event: error` with a string code, and the flat pre-0.10.1 vLLM shape.
vllm_err = {
    "error": {
        "message": "The decoder prompt (length 9000) is longer than the maximum model length of 8192.",
        "type": "BadRequestError",
        "param": None,
        "code": 400,
    }
}
write(
    "sse",
    "vllm-in-band-error",
    bytes([16]) + events([compact("vllm_chunk_first"), vllm_err, b"[DONE]"]),
)
write(
    "sse",
    "openai-event-error",
    bytes([10])
    + events([compact("openai_chat_chunk_first")])
    + b"event: error\ndata: "
    + j(
        {
            "error": {
                "message": "The server had an error while processing your request. Sorry about that!",
                "type": "server_error",
                "param": None,
                "code": "internal_error",
            }
        }
    ).encode()
    + b"\n\n",
)
write(
    "sse",
    "vllm-flat-error",
    bytes([3])
    + events(
        [
            {
                "object": "error",
                "message": "Internal server error",
                "type": "InternalServerError",
                "param": None,
                "code": 500,
            },
            {"error": "Unauthorized"},
        ]
    ),
)

# A stream cut mid-event (connection dropped): no blank line, no [DONE].
cut = vllm_stream[: vllm_stream.index(b"How") + 3]
write("sse", "vllm-truncated", bytes([5]) + cut)

# The spec's other fields: event, id (persistent, NUL ignored), retry, multi-line data,
# a field with no colon, a field with no space after the colon.
write(
    "sse",
    "fields",
    bytes([7])
    + b"retry: 3000\nid: 1\nevent: message\ndata: first line\ndata:second\n\n"
    + b"id\ndata\n\nid: a\x00b\nretry: 12x\nevent:\ndata: {\"choices\":[]}\n\n"
    + b"unknown: field\n:comment only\n\ndata: [DONE]\n\n",
)
# Invalid UTF-8 in data and event names (decoded lossily).
write("sse", "invalid-utf8", bytes([2]) + b"event: \xff\xfe\ndata: {\"id\":\"\xc3\x28\"}\n\ndata: \xed\xa0\x80\n\n")
# A line just over the fuzz limit (4096): LineTooLong.
write("sse", "line-too-long", bytes([16]) + b"data: " + b"x" * 4100 + b"\n\n")
# Many data lines adding up past the limit: EventTooLarge.
write("sse", "event-too-large", bytes([16]) + (b"data: " + b"y" * 1000 + b"\n") * 5 + b"\n")

# ---------------------------------------------------------------- error_body
# First two bytes: status = 100 + (u16 LE % 500).


def err(name, status, body):
    write("error_body", name, (status - 100).to_bytes(2, "little") + body)


err(
    "openai-401",
    401,
    b'{\n    "error": {\n        "message": "Incorrect API key provided: sk-proj-****ABCD. You can find your API key at https://platform.openai.com/account/api-keys.",\n        "type": "invalid_request_error",\n        "param": null,\n        "code": "invalid_api_key"\n    }\n}\n',
)
err(
    "openai-429",
    429,
    j(
        {
            "error": {
                "message": "Rate limit reached for gpt-4o-mini in organization org-abc on tokens per min (TPM): Limit 200000, Used 199000, Requested 1500. Please try again in 150ms.",
                "type": "tokens",
                "param": None,
                "code": "rate_limit_exceeded",
            }
        }
    ).encode(),
)
err(
    "vllm-400-nested",
    400,
    j(
        {
            "error": {
                "message": "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens. Please reduce the length of the messages or completion.",
                "type": "BadRequestError",
                "param": None,
                "code": 400,
            }
        }
    ).encode(),
)
err(
    "vllm-404-nested",
    404,
    j({"error": {"message": "The model `gpt-4` does not exist.", "type": "NotFoundError", "param": "model", "code": 404}}).encode(),
)
err("vllm-401-unauthorized", 401, b'{"error":"Unauthorized"}')
err(
    "vllm-flat-legacy",
    400,
    j(
        {
            "object": "error",
            "message": "[{'type': 'missing', 'loc': ('body', 'messages'), 'msg': 'Field required'}]",
            "type": "BadRequestError",
            "param": None,
            "code": 400,
        }
    ).encode(),
)
err("fastapi-404", 404, b'{"detail":"Not Found"}')
err(
    "fastapi-422",
    422,
    j(
        {
            "detail": [
                {"type": "missing", "loc": ["body", "model"], "msg": "Field required", "input": {"messages": []}},
                {"type": "float_parsing", "loc": ["body", "temperature"], "msg": "Input should be a valid number", "input": "hot"},
            ]
        }
    ).encode(),
)
err(
    "prism-problem-json",
    422,
    j(
        {
            "type": "https://stoplight.io/prism/errors#UNPROCESSABLE_ENTITY",
            "title": "Invalid request",
            "status": 422,
            "detail": "Your request is not valid and no HTTP validation response was found in the spec, so Prism is generating this error for you.",
            "validation": [{"location": ["body"], "severity": "Error", "code": "required", "message": "must have required property 'model'"}],
        }
    ).encode(),
)
err("prism-title-only", 404, b'{"type":"https://stoplight.io/prism/errors#NO_PATH_MATCHED_ERROR","title":"Route not resolved, no path matched","status":404}')
err(
    "html-502",
    502,
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n",
)
err("empty-503", 503, b"")
err("plain-text-500", 500, b"Internal Server Error")
err("error-null", 200, b'{"id":"x","choices":[],"error":null}')
err("error-number", 599, b'{"error":42,"code":"x"}')
err("not-json", 500, b'{not json \xff\xfe "error": ')

# ---------------------------------------------------------------- response
# First byte: 0 chat, 1 chunk, 2 completion, 3 embeddings, 4 models.
RESPONSE = {
    0: [
        "openai_chat",
        "openai_chat_tool_call",
        "openai_chat_logprobs",
        "vllm_chat",
        "vllm_chat_tool_call",
        "vllm_chat_reasoning_content",
        "llamacpp_chat",
        "ollama_chat",
    ],
    1: [
        "openai_chat_chunk_first",
        "openai_chat_chunk_content",
        "openai_chat_chunk_tool_call",
        "openai_chat_chunk_finish",
        "openai_chat_chunk_usage",
        "vllm_chunk_first",
        "vllm_chunk_tool_call",
        "vllm_chunk_reasoning",
        "vllm_chunk_reasoning_content",
        "vllm_chunk_finish",
        "vllm_chunk_usage",
    ],
    2: ["openai_completion", "vllm_completion_logprobs"],
    3: ["openai_embeddings_float", "embeddings_base64"],
    4: ["openai_models", "vllm_models"],
}
for kind, names in RESPONSE.items():
    for name in names:
        write("response", f"{kind}-{name.replace('_', '-')}", bytes([kind]) + fixture(name))
# Base64 embeddings the decoder must reject without panicking: unpadded, bad length,
# bad alphabet, and null.
write(
    "response",
    "3-embeddings-base64-bad",
    bytes([3])
    + b'{"object":"list","data":[{"index":0,"embedding":"AACAPw"},{"index":1,"embedding":"AAAA"},'
    + b'{"index":2,"embedding":"@@@@"},{"index":3,"embedding":null}],"model":"m"}',
)
