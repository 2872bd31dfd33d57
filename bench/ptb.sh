#!/usr/bin/env bash
# Trains one of RnnLm's Penn Treebank recipes from scratch (59 minutes of training on this 2-core machine),
# evaluates it on the test file over the stream with the state carried (batch 10), and prints
# `test_ppl=<number>` as its last line.
#   usage: bench/ptb.sh PTB_DIR [--cell elman|gru|lstm] [OUT_DIR]
#   PTB_DIR holds ptb.train.txt, ptb.valid.txt, ptb.test.txt. --cell elman (the default) trains the `ptb` preset,
#   lstm the `ptb-lstm` preset, gru the `ptb-lstm` recipe with GRU layers.
set -euo pipefail
PTB_DIR=${1:?usage: bench/ptb.sh PTB_DIR [--cell elman|gru|lstm] [OUT_DIR]}
shift
CELL=elman
if [[ "${1:-}" == "--cell" ]]; then CELL=${2:?--cell needs elman, gru or lstm}; shift 2; fi
case "$CELL" in
  elman) PRESET=(--preset ptb) ;;
  lstm) PRESET=(--preset ptb-lstm) ;;
  gru) PRESET=(--preset ptb-lstm --cell gru) ;;
  *) echo "ptb.sh: --cell must be elman, gru or lstm, got '$CELL'" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
OUT=${1:-runs/ptb-$CELL}
dotnet build -c Release src/RnnLm.Cli -v quiet -nologo > /dev/null
RNNLM=(dotnet src/RnnLm.Cli/bin/Release/net10.0/RnnLm.Cli.dll)
start=$(date +%s)
"${RNNLM[@]}" train "${PRESET[@]}" --data "$PTB_DIR/ptb.train.txt" --valid "$PTB_DIR/ptb.valid.txt" \
    --out "$OUT" --force --sample 0
echo "wall_seconds=$(( $(date +%s) - start ))"
"${RNNLM[@]}" eval --model "$OUT" --data "$PTB_DIR/ptb.valid.txt" --batch 10 | sed 's/^/valid: /'
result=$("${RNNLM[@]}" eval --model "$OUT" --data "$PTB_DIR/ptb.test.txt" --batch 10)
echo "test: $result"
echo "test_ppl=$(echo "$result" | sed -n 's/.*perplexity=\([0-9.]*\).*/\1/p')"
