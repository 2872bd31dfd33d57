#!/usr/bin/python3
"""RnnLm against the book's PyTorch model, side by side, on the same machine and thread count.

Run it with the system Python (python3-torch installs there), from anywhere:

    /usr/bin/python3 bench/compare.py [--config book ptb char] [--cells elman gru lstm] [--fused]
                                      [--repeats 3] [--steps 10 [char=5 ...]] [--threads 2] [--raw FILE]

What it does:
  1. builds the repository once (dotnet build -c Release);
  2. for each configuration and cell, runs `rnnlm bench --cell CELL` and the PyTorch reference's bench in separate
     processes, alternating (rnnlm, pytorch, rnnlm, pytorch, ...), --repeats times each, recording every run's JSON
     line and the peak RSS of its process (measured from outside, the same way for both). The reference is the
     book's loop for elman (and PyTorch's fused nn.RNN too with --fused), nn.GRU for gru, nn.LSTM for lstm;
  3. times generation (ptb sizes, 1 thread, batch 1) with `rnnlm bench --generate`;
  4. runs the SGEMM quick mode once at the output layer's shapes (lm-logits, lm-grad-input, lm-grad-weight);
  5. prints a markdown table (medians), the output layer's share of the GEMM bound for book, the memory target
     and the generation speed.
Standard library only. The PyTorch reference lives in ../shared/bench beside the repository root.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
REFERENCE = os.path.join(SHARED, "bench", "pytorch_reference.py")
PYTHON = "/usr/bin/python3"
CLI_DLL = os.path.join(ROOT, "src", "RnnLm.Cli", "bin", "Release", "net10.0", "RnnLm.Cli.dll")
BENCH_DLL = os.path.join(ROOT, "bench", "RnnLm.Benchmarks", "bin", "Release", "net10.0", "RnnLm.Benchmarks.dll")

# name: (vocab, emb, hidden, layers, batch, ctx, target ratio of tokens/s). "tiny" only checks that this script works.
CONFIGS = {
    "book": (32011, 128, 128, 2, 128, 30, 3.5),
    "ptb": (10000, 256, 256, 2, 64, 35, 3.5),
    "char": (65, 256, 256, 2, 64, 100, 15.0),
    "tiny": (500, 32, 32, 2, 4, 5, None),
}
# Target ratios of tokens/s against PyTorch's fused nn.RNN, and against nn.GRU / nn.LSTM for the gated cells.
FUSED_TARGETS = {"book": 3.0, "ptb": 3.0, "char": 8.0, "tiny": None}
GATED_TARGETS = {"book": None, "ptb": 2.0, "char": None, "tiny": None}
REFERENCE_IMPL = {"elman": "book", "gru": "nn.GRU", "lstm": "nn.LSTM"}
GEMM_CASES = ["lm-logits", "lm-grad-input", "lm-grad-weight"]
GEMM_SHARE_TARGET = 0.65
BOOK_RSS_TARGET_MB = 600
GENERATION_TARGET = 2500


def fail(msg):
    sys.exit(f"compare.py: {msg}")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def check_torch():
    r = subprocess.run([PYTHON, "-c", "import torch"], capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"{PYTHON} cannot import torch ({r.stderr.strip().splitlines()[-1] if r.stderr.strip() else 'unknown error'}).\n"
             "Install PyTorch and an optimised BLAS for the system Python:  apt-get install -y python3-torch libopenblas0-pthread")
    if not os.path.isfile(REFERENCE):
        fail(f"the PyTorch reference is missing: expected {REFERENCE} (the shared folder beside the repository root).")


def run(cmd):
    """Runs cmd; returns (stdout, peak RSS of that process in MB). Raises on a non-zero exit."""
    with tempfile.TemporaryFile(mode="w+") as err:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT)
        out = p.stdout.read()
        p.stdout.close()
        _, status, usage = os.wait4(p.pid, 0)  # this child's own rusage: ru_maxrss in KiB on Linux
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            err.seek(0)
            fail(f"command failed with exit code {p.returncode}: {' '.join(cmd)}\n{err.read()[-3000:]}")
    return out, round(usage.ru_maxrss / 1024, 1)


def json_lines(out, cmd):
    rows = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    if not rows:
        fail(f"no JSON line in the output of {' '.join(cmd)}:\n{out[-2000:]}")
    return rows


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def parse_steps(items, configs):
    """--steps N [CONFIG=N ...]: a default and per-configuration overrides."""
    default, per = 10, {}
    for item in items:
        if "=" in item:
            name, n = item.split("=", 1)
            if name not in configs:
                fail(f"--steps {item}: '{name}' is not one of the configurations being run ({', '.join(configs)}).")
            per[name] = int(n)
        else:
            default = int(item)
    for n in [default, *per.values()]:
        if n < 1:
            fail("--steps must be at least 1.")
    return {c: per.get(c, default) for c in configs}


def main():
    ap = argparse.ArgumentParser(description="RnnLm vs the PyTorch reference: training speed, memory, generation, GEMM bound.")
    ap.add_argument("--config", nargs="+", default=["book", "ptb", "char"], choices=list(CONFIGS),
                    help="configurations to compare (default: book ptb char; tiny: a few-second check of this script)")
    ap.add_argument("--cells", nargs="+", default=["elman"], choices=list(REFERENCE_IMPL),
                    help="recurrent cells to compare (default: elman; gru and lstm run against nn.GRU and nn.LSTM)")
    ap.add_argument("--fused", action="store_true", help="also compare elman against PyTorch's fused nn.RNN")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each implementation per configuration (default 3)")
    ap.add_argument("--steps", nargs="+", default=["10"], metavar="N|CONFIG=N",
                    help="timed steps per run (default 10), with optional per-configuration overrides, e.g. --steps 10 char=5")
    ap.add_argument("--threads", type=int, default=2, help="threads for both implementations (default 2)")
    ap.add_argument("--gen-tokens", type=int, default=2000, help="tokens generated per generation run (default 2000)")
    ap.add_argument("--gen-config", default="ptb", choices=list(CONFIGS), help="sizes of the generation run (default ptb)")
    ap.add_argument("--gemm-reps", type=int, default=5, help="repetitions of the SGEMM quick mode (default 5)")
    ap.add_argument("--no-generate", action="store_true", help="skip the generation runs")
    ap.add_argument("--no-gemm", action="store_true", help="skip the SGEMM quick mode (and the GEMM-bound share)")
    ap.add_argument("--no-build", action="store_true", help="use the existing Release build")
    ap.add_argument("--raw", metavar="FILE", help="also write every raw JSON line (with the measured peak RSS) to FILE")
    a = ap.parse_args()
    if a.repeats < 1 or a.threads < 1 or a.gen_tokens < 1 or a.gemm_reps < 1:
        fail("--repeats, --threads, --gen-tokens and --gemm-reps must be at least 1.")
    configs = list(dict.fromkeys(a.config))
    steps = parse_steps(a.steps, configs)

    check_torch()
    if not a.no_build:
        log("building (dotnet build -c Release) ...")
        r = subprocess.run(["dotnet", "build", "-c", "Release"], cwd=ROOT, capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"dotnet build -c Release failed:\n{(r.stdout + r.stderr)[-4000:]}")
    for dll in [CLI_DLL] + ([] if a.no_gemm else [BENCH_DLL]):
        if not os.path.isfile(dll):
            fail(f"{os.path.relpath(dll, ROOT)} is missing: build first (dotnet build -c Release) or drop --no-build.")

    raw = []
    pairs = []  # (config, cell, reference impl)
    for c in configs:
        for cell in dict.fromkeys(a.cells):
            pairs.append((c, cell, REFERENCE_IMPL[cell]))
            if cell == "elman" and a.fused:
                pairs.append((c, cell, "nn.RNN"))
    results = {}  # (config, cell, impl) -> {"rnnlm": [rows], "pytorch": [rows]}
    for key in pairs:
        c, cell, impl_ref = key
        V, E, H, L, B, T, _ = CONFIGS[c]
        n = str(steps[c])
        rnn_cmd = ["dotnet", CLI_DLL, "bench", "--steps", n, "--threads", str(a.threads), "--cell", cell]
        rnn_cmd += ["--config", c] if c != "tiny" else ["--config", "custom", "--vocab", str(V), "--emb", str(E),
                                                        "--hidden", str(H), "--layers", str(L), "--batch", str(B), "--ctx", str(T)]
        py_cmd = [PYTHON, REFERENCE, "bench", "--vocab", str(V), "--emb", str(E), "--hidden", str(H), "--layers", str(L),
                  "--batch", str(B), "--ctx", str(T), "--steps", n, "--threads", str(a.threads), "--impl", impl_ref]
        results[key] = {"rnnlm": [], "pytorch": []}
        for rep in range(a.repeats):
            for impl, cmd in (("rnnlm", rnn_cmd), ("pytorch", py_cmd)):
                out, rss = run(cmd)
                row = json_lines(out, cmd)[-1]
                row.update({"kind": "train", "compare_impl": impl, "compare_config": c, "compare_cell": cell,
                            "compare_reference": impl_ref, "rep": rep + 1, "measured_peak_rss_mb": rss})
                results[key][impl].append(row)
                raw.append(row)
                log(f"[{c} {cell} vs {impl_ref} {rep + 1}/{a.repeats}] {impl:7s} {row['tokens_per_s']:>10.1f} tokens/s  "
                    f"{row['ms_per_step']:>9.2f} ms/step  {rss:>7.1f} MB")

    gen = []
    if not a.no_generate:
        V, E, H, L = CONFIGS[a.gen_config][:4]
        cmd = ["dotnet", CLI_DLL, "bench", "--generate", "--tokens", str(a.gen_tokens), "--threads", "1",
               "--config", "custom", "--vocab", str(V), "--emb", str(E), "--hidden", str(H), "--layers", str(L)]
        for rep in range(a.repeats):
            out, rss = run(cmd)
            row = json_lines(out, cmd)[-1]
            row.update({"kind": "generate", "compare_config": a.gen_config, "rep": rep + 1, "measured_peak_rss_mb": rss})
            gen.append(row)
            raw.append(row)
            log(f"[generate {a.gen_config} {rep + 1}/{a.repeats}] {row['generate_tokens_per_s']:.1f} tokens/s")

    gemm = []
    if not a.no_gemm:
        cmd = ["dotnet", BENCH_DLL, "gemm", *GEMM_CASES, "--threads", str(a.threads), "--reps", str(a.gemm_reps)]
        out, rss = run(cmd)
        for row in json_lines(out, cmd):
            row.update({"kind": "gemm", "measured_peak_rss_mb": rss})
            raw.append(row)
            log(f"[gemm] {row['case']:15s} {row['gflops']:.1f} GFLOP/s")
            # The first line is the core's peak FMA rate (register-only loop), not a multiply.
            if row["case"] != "peak-fma":
                gemm.append(row)

    if a.raw:
        with open(a.raw, "w", encoding="utf-8") as f:
            for row in raw:
                f.write(json.dumps(row) + "\n")

    med = lambda rows, key: statistics.median(r[key] for r in rows)
    print()
    print(f"CPU: {cpu_model()} ({os.cpu_count()} logical CPUs); {a.threads} threads, {a.repeats} runs of each "
          "(medians; peak RSS: the largest of the runs, measured from outside)")
    print()
    print("| config | cell | PyTorch reference | RnnLm tokens/s (median) | PyTorch tokens/s (median) | ratio | target ratio | "
          "RnnLm ms/step | PyTorch ms/step | RnnLm peak RSS MB | PyTorch peak RSS MB | met |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|:---:|")
    for key in pairs:
        c, cell, impl_ref = key
        rr, pr = results[key]["rnnlm"], results[key]["pytorch"]
        rt, pt = med(rr, "tokens_per_s"), med(pr, "tokens_per_s")
        ratio = rt / pt if pt > 0 else float("inf")
        target = CONFIGS[c][6] if impl_ref == "book" else FUSED_TARGETS[c] if impl_ref == "nn.RNN" else GATED_TARGETS[c]
        met = "-" if target is None else ("yes" if ratio >= target else "no")
        print(f"| {c} | {cell} | {impl_ref} | {rt:.0f} | {pt:.0f} | {ratio:.2f} | {'-' if target is None else f'{target:.1f}'} | "
              f"{med(rr, 'ms_per_step'):.1f} | {med(pr, 'ms_per_step'):.1f} | "
              f"{max(r['measured_peak_rss_mb'] for r in rr):.0f} | {max(r['measured_peak_rss_mb'] for r in pr):.0f} | {met} |")
    print()

    book_elman = ("book", "elman", "book") if ("book", "elman", "book") in results else None
    if book_elman and gemm:
        V, E, H, L, B, T, _ = CONFIGS["book"]
        head_flop = 3 * 2 * (B * T) * H * V
        ms = med(results[book_elman]["rnnlm"], "ms_per_step")
        achieved = head_flop / (ms / 1000) / 1e9
        bound = statistics.mean(r["gflops"] for r in gemm)
        share = achieved / bound
        print(f"GEMM-bound share (book): {100 * share:.0f}% (target ≥ {100 * GEMM_SHARE_TARGET:.0f}%: "
              f"{'met' if share >= GEMM_SHARE_TARGET else 'not met'}) — output layer {head_flop / 1e9:.1f} GFLOP/step "
              f"in a median {ms:.1f} ms/step = {achieved:.1f} GFLOP/s, vs SGEMM {bound:.1f} GFLOP/s "
              f"(mean of {', '.join(GEMM_CASES)} at {a.threads} threads, measured in this run)")
    elif gemm:
        print(f"GEMM-bound share (book): not computed (book elman not run); SGEMM mean {statistics.mean(r['gflops'] for r in gemm):.1f} GFLOP/s")
    else:
        print("GEMM-bound share (book): skipped (--no-gemm)")

    if book_elman:
        peak = max(r["measured_peak_rss_mb"] for r in results[book_elman]["rnnlm"])
        print(f"memory (book): RnnLm peak RSS {peak:.0f} MB (target ≤ {BOOK_RSS_TARGET_MB} MB: "
              f"{'met' if peak <= BOOK_RSS_TARGET_MB else 'not met'})")
    else:
        print("memory (book): not measured (book not run)")

    if gen:
        g = med(gen, "generate_tokens_per_s")
        met = "" if a.gen_config != "ptb" else f": {'met' if g >= GENERATION_TARGET else 'not met'}"
        print(f"generation ({a.gen_config}, 1 thread): {g:.0f} tokens/s (target ≥ {GENERATION_TARGET}{met}); "
              f"{med(gen, 'ms_per_token'):.3f} ms/token, median of {len(gen)} runs of {a.gen_tokens} tokens")
    else:
        print("generation: skipped (--no-generate)")
    if a.raw:
        print(f"\nraw JSON lines: {a.raw}")


if __name__ == "__main__":
    main()
