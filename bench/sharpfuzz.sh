#!/usr/bin/env bash
# Coverage-guided fuzzing of the checkpoint and corpus readers: bench/sharpfuzz.sh READER [MINUTES=10] [OUT=runs/fuzz]
# with READER checkpoint or corpus. Needs AFL++ (apt-get install -y afl++) and the SharpFuzz instrumenter
# (dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path ~/.sharpfuzz). Every input that crashes
# goes to OUT/READER/default/crashes; add each as a regression case to tests/RnnLm.Tests/Training/ReaderFuzzTests.cs.
set -euo pipefail
cd "$(dirname "$0")/.."
reader=${1:?usage: bench/sharpfuzz.sh checkpoint|corpus [MINUTES] [OUT]}
minutes=${2:-10}
out=${3:-runs/fuzz}
sharpfuzz=${SHARPFUZZ:-$HOME/.sharpfuzz/sharpfuzz}
bin=$out/bin
dotnet build tests/RnnLm.Fuzz -c Release -o "$bin" -v quiet -nologo
"$sharpfuzz" "$bin/RnnLm.dll"           # instrument the library in place
seeds=$out/$reader-seeds
mkdir -p "$seeds"
if [ "$reader" = checkpoint ]; then
    cp tests/RnnLm.Tests/TestData/elman-format1.ckpt "$seeds/"
else
    printf 'To be, or not to be\n' > "$seeds/plain.txt"
    printf '\xef\xbb\xbfcaf\xc3\xa9\r\nline two\r\n' > "$seeds/bom-crlf.txt"
    head -c 4000 ../shared/data/warandpeace/warandpeace.txt > "$seeds/wap.txt"
fi
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_SKIP_BIN_CHECK=1
afl-fuzz -i "$seeds" -o "$out/$reader" -t 10000 -m none -V $((minutes * 60)) -- dotnet "$bin/RnnLm.Fuzz.dll" "$reader"
grep -E "execs_done|saved_crashes|saved_hangs|corpus_count" "$out/$reader/default/fuzzer_stats"
