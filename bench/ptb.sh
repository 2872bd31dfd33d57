#!/usr/bin/env bash
# Trains RnnLm's best Elman configuration on Penn Treebank from scratch (59 minutes of training on this
# 2-core machine), evaluates it on the test file over the stream with the hidden state carried (batch 10),
# and prints `test_ppl=<number>` as its last line.
#   usage: bench/ptb.sh PTB_DIR [OUT_DIR]      (PTB_DIR holds ptb.train.txt, ptb.valid.txt, ptb.test.txt)
set -euo pipefail
PTB_DIR=${1:?usage: bench/ptb.sh PTB_DIR [OUT_DIR]}
cd "$(dirname "$0")/.."
OUT=${2:-runs/ptb-best}
dotnet build -c Release src/RnnLm.Cli -v quiet -nologo > /dev/null
RNNLM=(dotnet src/RnnLm.Cli/bin/Release/net10.0/RnnLm.Cli.dll)
start=$(date +%s)
"${RNNLM[@]}" train --preset ptb --data "$PTB_DIR/ptb.train.txt" --valid "$PTB_DIR/ptb.valid.txt" \
    --out "$OUT" --force --sample 0
echo "wall_seconds=$(( $(date +%s) - start ))"
"${RNNLM[@]}" eval --model "$OUT" --data "$PTB_DIR/ptb.valid.txt" --batch 10 | sed 's/^/valid: /'
result=$("${RNNLM[@]}" eval --model "$OUT" --data "$PTB_DIR/ptb.test.txt" --batch 10)
echo "test: $result"
echo "test_ppl=$(echo "$result" | sed -n 's/.*perplexity=\([0-9.]*\).*/\1/p')"
