#!/usr/bin/env python3
"""Create a tiny, randomly initialised Whisper model (WhisperForConditionalGeneration)
with its tokenizer and feature extractor, entirely offline, for the live audio tests
against vLLM (served as `tiny-whisper` by `scripts/servers.sh start whisper`).

Usage: <venv>/bin/python scripts/make-tiny-whisper.py OUT_DIR [--force]
       (run by `scripts/servers.sh install whisper`, which writes to a temporary
       directory and renames it, so a half-written model is never used)
Needs: torch, transformers, tokenizers (all present in the vLLM venv); no hub access.
Idempotent: does nothing if OUT_DIR/model.safetensors already exists (--force rebuilds).
Deterministic for a given machine image (fixed seed, sorted inputs), like
make-tiny-model.py: the BPE is trained on /usr/share/common-licenses and the stdlib.

What vLLM needs from a Whisper checkpoint, and what this writes:
  * config.json            WhisperConfig: 80 mel bins, d_model 64, 1 head of 64
                           (head_dim 64, which the CPU attention backend supports),
                           2 encoder + 2 decoder layers, 1500 source positions (30 s
                           of audio at 16 kHz / hop 160 / conv stride 2: fixed by
                           the feature extractor), 448 target positions.
  * model.safetensors      random weights, < 1 M parameters.
  * vocab.json, merges.txt, tokenizer.json, tokenizer_config.json
                           byte-level BPE (1024 entries incl. <|endoftext|>), then
                           Whisper's special tokens in Whisper's order:
                           <|startoftranscript|>, the 100 language tokens <|en|> ...
                           <|yue|>, <|translate|>, <|transcribe|>, <|startoflm|>,
                           <|startofprev|>, <|nospeech|>, <|notimestamps|>, and last
                           the 1501 timestamp tokens <|0.00|> ... <|30.00|> (vLLM's
                           verbose_json segmenter treats every id >= <|0.00|> as a
                           timestamp, so they must be the highest ids, in order).
  * preprocessor_config.json  WhisperFeatureExtractor: 80 mel bins, 16 kHz, 30 s chunks.
  * generation_config.json    decoder_start/eos ids, and max_new_tokens 16, which vLLM
                           takes as the default max_tokens of a transcription (a cap,
                           should the wiring below ever not end with <|endoftext|>).
The weights are random, except that the decoder is wired (see step 4) to answer every
request with the same text, " The quick brown fox.", then <|1.00|> and <|endoftext|>: so
json/text say that, verbose_json has one segment (0.00-1.00 s), streams end with
finish_reason "stop", and language detection says "en". A `prompt` shifts the decoder
positions, so the answer with one is a shorter or empty text (the tests do not use it).
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
if not args:
    sys.exit("usage: make-tiny-whisper.py OUT_DIR [--force]")
out = args[0]

if os.path.exists(os.path.join(out, "model.safetensors")) and not force:
    print(f"model already present: {out}")
    sys.exit(0)

import torch  # noqa: E402
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers  # noqa: E402
from transformers import (  # noqa: E402
    AddedToken,
    WhisperConfig,
    WhisperFeatureExtractor,
    WhisperForConditionalGeneration,
    WhisperProcessor,
    WhisperTokenizer,
)
from transformers.models.whisper.tokenization_whisper import LANGUAGES  # noqa: E402

BPE_VOCAB = 1024
EOT = "<|endoftext|>"

# ---- 1. training text: only files that are on every machine of this kind ----
files = sorted(glob.glob("/usr/share/common-licenses/*"))
stdlib = sysconfig.get_paths()["stdlib"]
files += sorted(glob.glob(os.path.join(stdlib, "*.py")))[:150]
files = [f for f in files if os.path.isfile(f)]


def lines():
    for f in files:
        with open(f, encoding="utf-8", errors="ignore") as fh:
            yield from fh


# ---- 2. byte-level BPE (GPT-2 style, as Whisper's), <|endoftext|> inside it ----
bpe = Tokenizer(models.BPE(unk_token=None))
bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
bpe.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(
    vocab_size=BPE_VOCAB,
    min_frequency=2,
    special_tokens=[EOT],
    initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    show_progress=False,
)
bpe.train_from_iterator(lines(), trainer=trainer)
# Whisper has <|endoftext|> as the LAST entry of vocab.json; move it there.
model_json = json.loads(bpe.to_str())["model"]
vocab = {t: i for t, i in model_json["vocab"].items() if t != EOT}
order = sorted(vocab, key=vocab.get)
vocab = {t: i for i, t in enumerate(order)}
vocab[EOT] = len(vocab)
merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model_json["merges"]]

tok = WhisperTokenizer(vocab=vocab, merges=merges, model_max_length=448)
langs = list(LANGUAGES)  # 100 codes, Whisper's order (en, zh, de, ... yue)
specials = (["<|startoftranscript|>"] + [f"<|{c}|>" for c in langs] +
            ["<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>",
             "<|nospeech|>", "<|notimestamps|>"])
timestamps = [f"<|{i * 0.02:.2f}|>" for i in range(1501)]
tok.add_special_tokens({"additional_special_tokens": specials + timestamps},
                       replace_extra_special_tokens=False)
ids = tok.convert_tokens_to_ids(specials + timestamps)
assert ids == list(range(len(vocab), len(vocab) + len(ids))), "special tokens not contiguous"

# ---- 3. feature extractor: Whisper's (80 mel bins, 16 kHz, hop 160, 30 s) ----
fe = WhisperFeatureExtractor(feature_size=80, sampling_rate=16000, hop_length=160,
                             chunk_length=30, n_fft=400, padding_value=0.0)

# ---- 4. tiny random Whisper ----
sot = tok.convert_tokens_to_ids("<|startoftranscript|>")
eot = tok.convert_tokens_to_ids(EOT)
n_vocab = len(tok)
torch.manual_seed(0)
cfg = WhisperConfig(
    vocab_size=n_vocab,
    num_mel_bins=80,
    d_model=64,
    encoder_layers=2,
    encoder_attention_heads=1,   # head_dim 64
    decoder_layers=2,
    decoder_attention_heads=1,
    encoder_ffn_dim=128,
    decoder_ffn_dim=128,
    max_source_positions=1500,
    max_target_positions=448,
    decoder_start_token_id=sot,
    bos_token_id=eot,
    eos_token_id=eot,
    pad_token_id=eot,
    begin_suppress_tokens=None,
    suppress_tokens=None,
    tie_word_embeddings=True,
    dtype="float32",
)
model = WhisperForConditionalGeneration(cfg)

# The decoder is wired to say one fixed sentence whatever the audio, so the tests have
# something to compare: every layer's output projections (self-attention, cross-attention,
# MLP) are zero, so the final hidden state is LayerNorm(token embedding + position
# embedding), and the logits are that times the (tied) token embeddings. Position p's
# embedding is a large multiple of the embedding of the token wanted after position p, so
# that token wins, whatever the current token is. Positions 0-2 continue Whisper's prompt
# (<|startoftranscript|> -> <|en|> -> <|transcribe|> -> <|notimestamps|>; 0 makes vLLM's
# language detection say "en"); from position 3 on (the first generated token with vLLM's
# 4-token prompt) it says SENTENCE, then the timestamp <|1.00|> (so verbose_json has one
# segment, 0.00-1.00 s), then <|endoftext|> (finish_reason "stop"). Encoder, cross-attention
# inputs and everything else stay random; the audio is still decoded and encoded.
SENTENCE = " The quick brown fox."
said = tok.encode(SENTENCE, add_special_tokens=False)
plan = (tok.convert_tokens_to_ids(["<|en|>", "<|transcribe|>", "<|notimestamps|>"]) + said +
        tok.convert_tokens_to_ids(["<|1.00|>"]) + [eot])
with torch.no_grad():
    emb = model.model.decoder.embed_tokens.weight    # proj_out is tied to it
    emb.normal_(0.0, 1.0)
    emb -= emb.mean(dim=1, keepdim=True)              # zero-mean rows: LayerNorm keeps their direction
    pos = model.model.decoder.embed_positions.weight
    pos.zero_()
    for p in range(pos.shape[0]):
        pos[p] = 10.0 * emb[plan[p] if p < len(plan) else eot]
    for layer in model.model.decoder.layers:
        for lin in (layer.self_attn.out_proj, layer.encoder_attn.out_proj, layer.fc2):
            lin.weight.zero_()
            if lin.bias is not None:
                lin.bias.zero_()
model.eval()

os.makedirs(out, exist_ok=True)
model.save_pretrained(out, safe_serialization=True)
WhisperProcessor(feature_extractor=fe, tokenizer=tok).save_pretrained(out)
# transformers 5 writes processor_config.json and tokenizer.json only; older readers (and
# vLLM's fallbacks) look for the classic files too: preprocessor_config.json, vocab.json,
# merges.txt.
fe.save_pretrained(out)
with open(os.path.join(out, "vocab.json"), "w", encoding="utf-8") as fh:
    json.dump(vocab, fh, ensure_ascii=False)
with open(os.path.join(out, "merges.txt"), "w", encoding="utf-8") as fh:
    fh.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))

gc_path = os.path.join(out, "generation_config.json")
gc = {}
if os.path.exists(gc_path):
    with open(gc_path) as fh:
        gc = json.load(fh)
gc.update({
    "decoder_start_token_id": sot, "bos_token_id": eot, "eos_token_id": eot, "pad_token_id": eot,
    "max_new_tokens": 16, "max_length": 448, "no_timestamps_token_id": tok.convert_tokens_to_ids("<|notimestamps|>"),
    "is_multilingual": True,
    "lang_to_id": {f"<|{c}|>": tok.convert_tokens_to_ids(f"<|{c}|>") for c in langs},
    "task_to_id": {"transcribe": tok.convert_tokens_to_ids("<|transcribe|>"),
                   "translate": tok.convert_tokens_to_ids("<|translate|>")},
})
gc.pop("begin_suppress_tokens", None)
gc.pop("suppress_tokens", None)
with open(gc_path, "w") as fh:
    json.dump(gc, fh, indent=2, sort_keys=True)

n = sum(p.numel() for p in model.parameters())
print(f"wrote {out}: vocab={n_vocab} (bpe {len(vocab)}) params={n} files={sorted(os.listdir(out))}")
