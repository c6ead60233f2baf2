"""openai-python against `oai mock --replay`: a cassette recorded by the Rust client answers
the official Python client, streams included (run by scripts/replay_openai_python.sh in CI).

    python scripts/replay_openai_python.py http://127.0.0.1:PORT/v1

The cassette is tests/fixtures/cassettes/recorded_blocking.jsonl (the mock's answers, as the
blocking client recorded them). Exits non-zero with the reason on any difference.
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

print("openai-python", openai.__version__, "got every recorded answer")
