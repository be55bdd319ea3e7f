#!/bin/sh
# Runs one libFuzzer target for a fixed time (ctest -L fuzz; docs/reliability.md).
#   run_fuzzer.sh FUZZER TARGET SECONDS MAX_LEN SOURCE_DIR WORK_DIR
# The corpus grows in WORK_DIR/corpus/TARGET (kept between runs, never
# committed); the generated seeds, the curated seeds and the target's
# regressions are read too. A crash, sanitizer report, leak or timeout fails
# the run and leaves the input in WORK_DIR/artifacts/TARGET/: fix the bug,
# then copy the input to tests/fuzz/regressions/TARGET/ so fuzz_replay keeps
# checking it.
set -eu
fuzzer=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
target=$2 seconds=$3 max_len=$4 source_dir=$5 work=$6
corpus=$work/corpus/$target
artifacts=$work/artifacts/$target
mkdir -p "$corpus" "$artifacts" "$work/cwd"
# An empty working directory: (include "FILE") in an input finds nothing.
cd "$work/cwd"
status=0
"$fuzzer" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=4096 \
  -dict="$work/generated/whistler.dict" -artifact_prefix="$artifacts/" -print_final_stats=1 \
  "$corpus" "$work/generated/corpus" "$source_dir/tests/fuzz/seeds" "$source_dir/tests/fuzz/regressions/$target" \
  || status=$?
if [ "$status" -ne 0 ]; then
  echo "fuzz_$target failed (exit $status); inputs in $artifacts:"
  ls -l "$artifacts"
  echo "reproduce: $fuzzer $artifacts/<file>; once fixed, copy it to tests/fuzz/regressions/$target/"
fi
exit "$status"
