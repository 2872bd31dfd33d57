#!/usr/bin/env bash
# Long fuzzing runs of the suite's property tests (the same generators and seeds, RNNLM_FUZZ_SCALE times the inputs):
# at least 100,000 inputs per reader. A failure is a crash: an exception other than the reader's documented one,
# a hang, or a corrupted file accepted. bench/fuzz.sh [SCALE_FACTOR=1] multiplies every count once more.
set -euo pipefail
cd "$(dirname "$0")/.."
f=${1:-1}
dotnet build tests/RnnLm.Tests -c Release -v quiet -nologo
run() { # scale filter
    echo "== $2 x$1"
    RNNLM_FUZZ_SCALE=$1 dotnet test tests/RnnLm.Tests -c Release --no-build --filter "$2" --logger "console;verbosity=normal" | grep -E "Passed|Failed|Total"
}
run $((143 * f)) "FullyQualifiedName~ReaderFuzzTests.MutatedCheckpoints"   # 700 inputs per cell in the suite
run $((250 * f)) "FullyQualifiedName~ReaderFuzzTests.TheCorpusReader"      # 400
run $((500 * f)) "FullyQualifiedName~ReaderFuzzTests.Tokenizers"           # 200
run $((100 * f)) "FullyQualifiedName~SafetensorsFormatTests.MutatedTruncated" # 1,000
