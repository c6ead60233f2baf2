#!/usr/bin/env python3
"""Create a tiny, randomly initialised Llama model + byte-level BPE tokenizer
entirely offline, for the live tests against vLLM (served as `tiny-llama`).

Usage: <venv>/bin/python scripts/make-tiny-model.py OUT_DIR [--force]
       (run by `scripts/servers.sh install vllm`, which writes to a temporary
       directory and renames it, so a half-written model is never used)
Needs: torch, transformers, tokenizers (all present in the vLLM venv).
Idempotent: does nothing if OUT_DIR/model.safetensors already exists
(pass --force to rebuild). Output is deterministic for a given machine image
(fixed seed, sorted inputs): the tokenizer is trained on text every such
machine has (/usr/share/common-licenses, the Python stdlib), so another distro
or Python patch release gives a different, equally usable, random model.
~10 s on 2 cores; 9 MB on disk. The live tests do not depend on what it says.
"""
import glob
import json
import os
import sys
import sysconfig

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

args = [a for a in sys.argv[1:] if not a.startswith("--")]
force = "--force" in sys.argv
out = args[0] if args else "models/tiny-llama"

if os.path.exists(os.path.join(out, "model.safetensors")) and not force:
    print(f"model already present: {out}")
    sys.exit(0)

import torch  # noqa: E402
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast  # noqa: E402

VOCAB = 2048
SPECIALS = ["<unk>", "<s>", "</s>", "<pad>", "<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>"]

# ChatML/Hermes-style template. Renders tools (if given) as JSON in a system
# turn, assistant tool_calls as <tool_call>{json}</tool_call>, and accepts both
# string content and OpenAI content-part lists. Works with vLLM's `hermes`
# tool-call parser.
CHAT_TEMPLATE = (
    "{% if tools %}<|im_start|>system\nTools: {{ tools | tojson }}<|im_end|>\n{% endif %}"
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% elif message['content'] is not none %}"
    "{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}"
    "{% endif %}"
    "{% if message['tool_calls'] is defined and message['tool_calls'] %}"
    "{% for tc in message['tool_calls'] %}<tool_call>\n{{ tc['function'] | tojson }}\n</tool_call>{% endfor %}"
    "{% endif %}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# ---- 1. training text: only files that are on every machine of this kind ----
files = sorted(glob.glob("/usr/share/common-licenses/*"))
stdlib = sysconfig.get_paths()["stdlib"]
files += sorted(glob.glob(os.path.join(stdlib, "*.py")))[:150]
files += [p for p in [os.path.join(sys.base_prefix, "LICENSE.txt"),
                      os.path.join(stdlib, "LICENSE.txt")] if os.path.exists(p)]
files = [f for f in files if os.path.isfile(f)]


def lines():
    for f in files:
        with open(f, encoding="utf-8", errors="ignore") as fh:
            yield from fh


# ---- 2. byte-level BPE tokenizer ----
tok = Tokenizer(models.BPE(unk_token=None))
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(
    vocab_size=VOCAB,
    min_frequency=2,
    special_tokens=SPECIALS,
    initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    show_progress=False,
)
tok.train_from_iterator(lines(), trainer=trainer)
bos_id = tok.token_to_id("<s>")
tok.post_processor = processors.TemplateProcessing(
    single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", bos_id)]
)

hf_tok = PreTrainedTokenizerFast(
    tokenizer_object=tok,
    bos_token="<s>",
    eos_token="<|im_end|>",
    unk_token="<unk>",
    pad_token="<pad>",
    additional_special_tokens=["<|im_start|>", "</s>", "<tool_call>", "</tool_call>"],
    model_max_length=2048,
    clean_up_tokenization_spaces=False,
)
hf_tok.chat_template = CHAT_TEMPLATE
vocab_size = len(hf_tok)

# ---- 3. tiny random Llama ----
torch.manual_seed(0)
cfg = LlamaConfig(
    vocab_size=vocab_size,
    hidden_size=256,
    intermediate_size=512,
    num_hidden_layers=2,
    num_attention_heads=4,       # head_dim 64 (a size every attention backend supports)
    num_key_value_heads=2,       # GQA
    max_position_embeddings=2048,
    rms_norm_eps=1e-5,
    rope_theta=10000.0,
    tie_word_embeddings=False,
    bos_token_id=bos_id,
    eos_token_id=hf_tok.convert_tokens_to_ids("<|im_end|>"),
    pad_token_id=hf_tok.convert_tokens_to_ids("<pad>"),
    torch_dtype="float32",
)
model = LlamaForCausalLM(cfg)
# bigger init so logits are not flat (makes sampling/logprobs more interesting)
with torch.no_grad():
    model.lm_head.weight.normal_(0.0, 0.2)
model.eval()

os.makedirs(out, exist_ok=True)
model.save_pretrained(out, safe_serialization=True)
hf_tok.save_pretrained(out)

# Make sure tokenizer_config.json itself carries the chat template too
# (newer transformers write it to chat_template.jinja only).
tc_path = os.path.join(out, "tokenizer_config.json")
with open(tc_path) as fh:
    tc = json.load(fh)
tc["chat_template"] = CHAT_TEMPLATE
with open(tc_path, "w") as fh:
    json.dump(tc, fh, indent=2)

# generation_config: stop on <|im_end|>
gc_path = os.path.join(out, "generation_config.json")
gc = {}
if os.path.exists(gc_path):
    with open(gc_path) as fh:
        gc = json.load(fh)
gc.update({"bos_token_id": cfg.bos_token_id, "eos_token_id": cfg.eos_token_id,
           "pad_token_id": cfg.pad_token_id})
with open(gc_path, "w") as fh:
    json.dump(gc, fh, indent=2)

n = sum(p.numel() for p in model.parameters())
print(f"wrote {out}: vocab={vocab_size} params={n} files={sorted(os.listdir(out))}")
print("sample:", hf_tok.apply_chat_template(
    [{"role": "user", "content": "hi"},
     {"role": "assistant", "content": None, "tool_calls": [
         {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
     {"role": "tool", "tool_call_id": "c1", "content": "42"}],
    tokenize=False, add_generation_prompt=True))
