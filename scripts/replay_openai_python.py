"""openai-python against `oai mock --replay`: a cassette recorded by the Rust client answers
the official Python client, streams included (run by scripts/replay_openai_python.sh in CI).

    python scripts/replay_openai_python.py http://127.0.0.1:PORT/v1 http://127.0.0.1:PORT2/v1

The first server replays tests/fixtures/cassettes/recorded_blocking.jsonl, the second
recorded_uploads.jsonl (the mock's answers, as the blocking client recorded them). Exits
non-zero with the reason on any difference.
"""

import sys

import openai

base_url = sys.argv[1]
client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0)

models = client.models.list()
assert [m.id for m in models.data] == ["mock-model"], models

reply = client.chat.completions.create(
    model="mock-model", messages=[{"role": "user", "content": "hello"}]
)
assert reply.choices[0].message.content == "Mock reply to: hello", reply

text = ""
chunks = 0
for chunk in client.chat.completions.create(
    model="mock-model", messages=[{"role": "user", "content": "stream me"}], stream=True
):
    chunks += 1
    if chunk.choices and chunk.choices[0].delta.content:
        text += chunk.choices[0].delta.content
assert text == "Mock reply to: stream me", text
assert chunks > 2, chunks

emb = client.embeddings.create(model="mock-model", input=["a", "b"])
assert len(emb.data) == 2 and len(emb.data[0].embedding) > 0, emb

try:
    client.chat.completions.create(
        model="mock-model", messages=[{"role": "user", "content": "for nope"}]
    )
except openai.NotFoundError as e:
    assert "does not exist" in str(e), e
else:
    raise AssertionError("the recorded 404 was not replayed")

# A request the cassette has no answer for: a 404 naming the closest recorded one.
try:
    client.chat.completions.create(
        model="mock-model", messages=[{"role": "user", "content": "never recorded"}]
    )
except openai.NotFoundError as e:
    assert "closest: line" in str(e) and "messages" in str(e), e
else:
    raise AssertionError("a miss was answered")

# Uploads (a second server, replaying recorded_uploads.jsonl): openai-python sends the parts
# in its own order and with its own content types; the fields, names and sizes match.
uploads = openai.OpenAI(base_url=sys.argv[2], api_key="unused", max_retries=0)
f = uploads.files.create(file=("batch.jsonl", b"x" * 64), purpose="batch")
assert (f.id, f.filename, f.bytes) == ("file-mock-1", "batch.jsonl", 64), f
heard = uploads.audio.transcriptions.create(
    model="mock-model",
    file=("hello.wav", bytes(32000)),
    language="en",
    response_format="verbose_json",
)
assert heard.text == "Mock transcription of hello.wav, 32000 bytes.", heard
assert heard.duration == 1.0, heard

# Another file size is another request: the 404 names the part that differs.
try:
    uploads.files.create(file=("batch.jsonl", b"x" * 65), purpose="batch")
except openai.NotFoundError as e:
    assert "part `file`" in str(e), e
else:
    raise AssertionError("an upload of another size was answered")

print("openai-python", openai.__version__, "got every recorded answer, uploads too")
