#!/usr/bin/python3
"""Safetensors round trips between RnnLm and PyTorch, checked on the logits of the same ids.

Run it with the system Python (python3-torch installs there; Debian has no safetensors package, so this script
reads and writes the format itself), from anywhere, after `dotnet build -c Release src/RnnLm.Cli`:

  from-rnnlm --model DIR [--model DIR ...]
      RnnLm -> PyTorch. `rnnlm export` writes each model folder as safetensors; PyTorch loads it with
      load_state_dict(strict=True), no renaming: the book's RecurrentLanguageModel from
      ../shared/bench/pytorch_reference.py for Elman, an nn.Embedding + nn.GRU/nn.LSTM ("rnn") + nn.Linear ("fc")
      model for the gated cells, sizes from the file's __metadata__. PyTorch computes the logits of random ids (in
      float64, from the float32 weights), writes them with the ids, and `rnnlm import --check` compares RnnLm's own
      logits for those ids with them (rtol 1e-4, atol 1e-5) and prints the largest differences.
  to-rnnlm --cell elman|gru|lstm [...]
      PyTorch -> RnnLm. A PyTorch model of that cell (randomly initialised, seeded; the book's initialisation for
      Elman, PyTorch's for GRU/LSTM) is written as its state_dict in safetensors with a vocab.json, and the logits
      PyTorch computed for random ids beside them; `rnnlm import --vocab --check` builds an RnnLm model folder from
      them and compares its logits. The vocabularies are not in RnnLm's id order (a book-style word list without
      <unk> for elman, a shuffled character list for gru, a word list with the padding token last for lstm), so the
      import's mapping of ids is checked too. --testdata DIR keeps the files (tiny sizes: the C# tests read them).

Each prints the rnnlm check line per model and a summary; it exits non-zero when a check fails.
"""
import argparse
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
CLI_DLL = os.path.join(ROOT, "src", "RnnLm.Cli", "bin", "Release", "net10.0", "RnnLm.Cli.dll")

try:
    import numpy as np
    import torch
    import torch.nn as nn
except ImportError as e:
    sys.exit(f"this script needs the system Python with PyTorch (apt-get install -y python3-torch): {e}")

sys.path.insert(0, os.path.join(SHARED, "bench"))
import pytorch_reference as ref  # noqa: E402  (the book's model; imported, not copied)

DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32}
NAMES = {np.dtype(v): k for k, v in DTYPES.items()}


def write_safetensors(path, tensors, metadata=None):
    """tensors: name -> torch tensor, written in that order; header padded with spaces to 8 bytes."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        a = t.detach().cpu().contiguous().numpy()
        a = a.astype(a.dtype.newbyteorder("<"))
        data = a.tobytes()
        header[name] = {"dtype": NAMES[np.dtype(a.dtype.type)], "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Returns (name -> torch tensor, metadata)."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    metadata = header.pop("__metadata__", {})
    body = raw[8 + n:]
    tensors = {}
    for name, e in header.items():
        a, b = e["data_offsets"]
        arr = np.frombuffer(body[a:b], dtype=np.dtype(DTYPES[e["dtype"]]).newbyteorder("<")).reshape(e["shape"])
        tensors[name] = torch.from_numpy(arr.astype(arr.dtype.newbyteorder("=")).copy())
    return tensors, metadata


class GatedLanguageModel(nn.Module):
    """nn.Embedding -> nn.GRU / nn.LSTM (batch_first) -> nn.Linear: the names of ../shared/fixtures/parity-cells."""

    def __init__(self, cell, vocab, emb, hidden, layers, pad):
        super().__init__()
        self.embedding = nn.Embedding(vocab, emb, padding_idx=pad)
        self.rnn = (nn.GRU if cell == "gru" else nn.LSTM)(emb, hidden, layers, batch_first=True)
        self.fc = nn.Linear(hidden, vocab)

    def forward(self, x):
        return self.fc(self.rnn(self.embedding(x))[0])


def build(cell, vocab, emb, hidden, layers, pad):
    if cell == "elman":
        return ref.RecurrentLanguageModel(vocab, emb, hidden, layers, pad, impl="book")
    return GatedLanguageModel(cell, vocab, emb, hidden, layers, pad)


def reference_logits(model, ids):
    """The logits in float64 from the model's float32 weights (as the parity fixtures are computed)."""
    m = model.double().eval()
    torch.set_default_dtype(torch.float64)  # the book's ElmanRNN makes its zero state in the default type
    try:
        with torch.no_grad():
            out = m(ids)
    finally:
        torch.set_default_dtype(torch.float32)
        model.float()
    return out


def run_check(rnnlm, args):
    r = subprocess.run(rnnlm + args, capture_output=True, text=True)
    line = next((l for l in r.stdout.splitlines() if l.startswith("check:")), "")
    if r.returncode != 0:
        print(r.stdout + r.stderr, file=sys.stderr)
    return r.returncode == 0, line


def from_rnnlm(a, rnnlm):
    ok_all = True
    for model_dir in a.model:
        with tempfile.TemporaryDirectory(prefix="rnnlm-interop-") as tmp:
            st = os.path.join(tmp, "model.safetensors")
            r = subprocess.run(rnnlm + ["export", "--model", model_dir, "--format", "safetensors", "--out", st], capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"rnnlm export failed:\n{r.stdout}{r.stderr}")
            tensors, meta = read_safetensors(st)
            c = json.loads(meta["rnnlm.config"])
            cell = c.get("Cell", "elman")
            if c.get("TieWeights") and c["HiddenDim"] != c["EmbDim"]:
                sys.exit(f"{model_dir}: a head tied through a projection has no counterpart in the book's model")
            model = build(cell, c["VocabSize"], c["EmbDim"], c["HiddenDim"], c["NumLayers"], c.get("PadIndex", 0))
            model.load_state_dict(tensors, strict=True)
            with open(os.path.join(tmp, "vocab.json"), encoding="utf-8") as f:
                vocab = json.load(f)
            assert len(vocab) == c["VocabSize"], "vocab.json does not list every id"
            g = torch.Generator().manual_seed(a.seed)
            ids = torch.randint(0, c["VocabSize"], (a.batch, a.steps), generator=g)
            check = os.path.join(tmp, "check.safetensors")
            write_safetensors(check, {"input_ids": ids, "logits": reference_logits(model, ids).float()})
            ok, line = run_check(rnnlm, ["import", "--safetensors", st, "--out", os.path.join(tmp, "imported"), "--check", check])
            print(f"{model_dir} ({cell}, {c['NumLayers']}x{c['HiddenDim']}, vocabulary {c['VocabSize']}): {line}")
            ok_all &= ok
    return ok_all


def to_rnnlm(a, rnnlm):
    ok_all = True
    for cell in a.cell:
        rng = random.Random(a.seed)
        torch.manual_seed(a.seed)
        if cell == "elman":      # the book's vocabulary: padding at 0, then the sorted words (here with <eos>, no <unk>)
            words = sorted({f"w{i}" for i in range(a.vocab - 2)} | {"<eos>"})
            vocab, pad = ["<pad>"] + words, 0
        elif cell == "gru":      # characters in an order of their own (say, by frequency), padding at 0
            chars = [chr(c) for c in range(ord("a"), ord("a") + a.vocab - 2)] + [" "]
            rng.shuffle(chars)
            vocab, pad = ["<pad>"] + chars, 0
        else:                    # words, <unk> and <eos>, and the padding token last (as parity-cells' pad_last case)
            vocab = [f"w{i}" for i in range(a.vocab - 3)] + ["<unk>", "<eos>", "<pad>"]
            pad = len(vocab) - 1
        V = len(vocab)
        model = build(cell, V, a.emb, a.hidden, a.layers, pad)
        if cell == "elman":
            ref.initialize_weights(model)
            with torch.no_grad():
                model.embedding.weight[pad].zero_()
        out = a.testdata or tempfile.mkdtemp(prefix="rnnlm-interop-")
        os.makedirs(out, exist_ok=True)
        st, vj, check = (os.path.join(out, f"{cell}.{s}") for s in ("safetensors", "vocab.json", "check.safetensors"))
        write_safetensors(st, dict(model.state_dict()), {"format": "pt"})
        with open(vj, "w", encoding="utf-8") as f:
            json.dump(vocab, f, ensure_ascii=False)
        g = torch.Generator().manual_seed(a.seed + 1)
        ids = torch.randint(0, V, (a.batch, a.steps), generator=g)
        write_safetensors(check, {"input_ids": ids, "logits": reference_logits(model, ids).float()})
        with tempfile.TemporaryDirectory(prefix="rnnlm-import-") as tmp:
            ok, line = run_check(rnnlm, ["import", "--safetensors", st, "--vocab", vj, "--out", os.path.join(tmp, "m"), "--check", check])
        print(f"{cell} ({a.layers}x{a.hidden}, embedding {a.emb}, vocabulary {V}): {line}")
        ok_all &= ok
    return ok_all


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("direction", choices=["from-rnnlm", "to-rnnlm"])
    ap.add_argument("--model", nargs="+", default=[], help="from-rnnlm: RnnLm model folders or checkpoints")
    ap.add_argument("--cell", nargs="+", default=["elman", "gru", "lstm"], help="to-rnnlm: the cells")
    ap.add_argument("--vocab", type=int, default=50, help="to-rnnlm: vocabulary size")
    ap.add_argument("--emb", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=48)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=3, help="sequences of ids to compare")
    ap.add_argument("--steps", type=int, default=20, help="ids per sequence")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--testdata", help="to-rnnlm: keep the files in this folder")
    ap.add_argument("--rnnlm", help=f"the rnnlm command (default: dotnet {os.path.relpath(CLI_DLL, ROOT)})")
    a = ap.parse_args()
    rnnlm = a.rnnlm.split() if a.rnnlm else ["dotnet", CLI_DLL]
    if a.direction == "from-rnnlm" and not a.model:
        ap.error("from-rnnlm needs --model DIR")
    ok = from_rnnlm(a, rnnlm) if a.direction == "from-rnnlm" else to_rnnlm(a, rnnlm)
    print("all checks passed" if ok else "a check FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
