#!/usr/bin/env python3
"""Times torch.mm (OpenBLAS on this CPU) on the same SGEMM shapes as `RnnLm.Benchmarks gemm`.

Transposed operands are passed as .t() views of row-major tensors, so OpenBLAS does the transposes itself.
Prints one JSON line per case and thread count, with GFLOP/s = 2*m*n*k / best time.
Usage: python3 bench/openblas_gemm.py [case ...] [--threads 1,2] [--reps N]
"""
import ctypes
import json
import sys
import time

import torch

CASES = [
    ("square-nn", "NN", 2048, 2048, 2048),
    ("square-nt", "NT", 2048, 2048, 2048),
    ("square-tn", "TN", 2048, 2048, 2048),
    ("lm-logits", "NT", 3840, 32011, 128),
    ("lm-grad-input", "NN", 3840, 128, 32011),
    ("lm-grad-weight", "TN", 32011, 128, 3840),
    ("step-nt", "NT", 128, 128, 128),
    ("step-nn", "NN", 128, 128, 128),
    ("step-tn", "TN", 128, 128, 128),
]


def openblas():
    """The OpenBLAS library torch is using (found in this process's mappings), to set its thread count."""
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if "openblas" in path and ".so" in path:
                lib = ctypes.CDLL(path)
                if hasattr(lib, "openblas_set_num_threads"):
                    return lib
    return None


def set_threads(lib, t):
    torch.set_num_threads(t)
    if lib is not None:
        lib.openblas_set_num_threads(t)


def operands(variant, m, n, k):
    g = torch.Generator().manual_seed(1)
    def rand(*shape):
        return torch.rand(*shape, generator=g, dtype=torch.float32) * 2 - 1
    a = rand(k, m).t() if variant == "TN" else rand(m, k)  # A stored [k,m] for TN
    b = rand(n, k).t() if variant == "NT" else rand(k, n)  # B stored [n,k] for NT
    return a, b


def main(argv):
    threads, reps, names = [1, 2], 5, []
    i = 0
    while i < len(argv):
        if argv[i] == "--threads":
            threads = [int(t) for t in argv[i + 1].split(",")]
            i += 1
        elif argv[i] == "--reps":
            reps = int(argv[i + 1])
            i += 1
        else:
            names.append(argv[i])
        i += 1
    cases = [c for c in CASES if not names or c[0] in names]
    lib = openblas()
    if lib is None:
        print("warning: OpenBLAS not found in the process; thread count set through torch only", file=sys.stderr)
    for name, variant, m, n, k in cases:
        a, b = operands(variant, m, n, k)
        c = torch.empty(m, n, dtype=torch.float32)
        for t in threads:
            set_threads(lib, t)
            torch.mm(a, b, out=c)  # warm-up
            inner = int(min(max(2e7 / (2.0 * m * n * k), 1), 100000))  # small cases: batches of calls
            times = []
            for _ in range(reps):
                t0 = time.perf_counter()
                for _ in range(inner):
                    torch.mm(a, b, out=c)
                times.append((time.perf_counter() - t0) / inner)
            times.sort()
            flops = 2.0 * m * n * k
            print(json.dumps({
                "impl": "OpenBLAS", "case": name, "variant": variant, "m": m, "n": n, "k": k, "threads": t, "blas_threads": lib.openblas_get_num_threads() if lib else None,
                "best_s": float("%.4g" % times[0]), "gflops": round(flops / times[0] / 1e9, 1),
                "gflops_median": round(flops / times[len(times) // 2] / 1e9, 1),
            }), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
