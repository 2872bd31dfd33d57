#!/usr/bin/env bash
# Soak: bench/soak.sh MINUTES [OUT_DIR]: trains, validates, checkpoints, generates and serves in turn in one process for
# MINUTES, logging resident memory, managed heap, open handles and threads every minute (OUT_DIR/soak.jsonl, plotted
# in OUT_DIR/soak.png). Exits non-zero if, after the first 5 minutes, memory moves by more than 5% or handles or
# threads grow.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:?usage: bench/soak.sh MINUTES [OUT_DIR]}
out=${2:-runs/soak}
dotnet build bench/RnnLm.Soak -c Release -v quiet -nologo
dotnet bench/RnnLm.Soak/bin/Release/net10.0/RnnLm.Soak.dll "$minutes" ../shared/data/tinyshakespeare/input.txt "$out"
