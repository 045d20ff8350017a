#!/usr/bin/env bash
# Runs the libFuzzer targets of fuzz/ (docs/robustness.md): each for a fixed time, on its seed
# corpus (fuzz/corpus/<target>, committed) plus a working corpus that grows across runs
# (build-san/fuzz/work/<target>, not committed).
#
#   tools/fuzz.sh [SECONDS] [TARGET...]     default: 60 s for each of the six targets
#   tools/fuzz.sh 20                        what CI runs (about 2 minutes in all)
#   tools/fuzz.sh 3600 onnx_import          a long local run of one target
#
# Targets: onnx_import safetensors checkpoint_state idx image_list config. Builds them first
# (tools/build_hardened.sh: clang, ASan + UBSan). A finding — a crash, a sanitizer report, an
# InputError of more than one line, any other exception (what users would see as "internal
# error", exit 3), a slow input (over 60 s) or an allocation over 1 GiB — stops the target; the
# input is saved as build-san/fuzz/findings/<target>/<kind>-<hash> and the script fails at the
# end. Fix the bug, then copy the input to fuzz/corpus/<target>/regression_<what> so every later
# run replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60
if [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; then seconds=$1; shift; fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(onnx_import safetensors checkpoint_state idx image_list config)

t=$SECONDS
tools/build_hardened.sh "${targets[@]/#/fuzz_}"
echo "fuzz: build $((SECONDS - t)) s"

# Under the ASan runtime: no leak check (libFuzzer's own allocations at exit), stop at the first
# UBSan report with a stack.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
summary=()
for target in "${targets[@]}"; do
  bin=build-san/fuzz/fuzz_$target
  seeds=fuzz/corpus/$target
  work=build-san/fuzz/work/$target
  findings=build-san/fuzz/findings/$target
  [ -x "$bin" ] || { echo "fuzz: $bin was not built" >&2; exit 1; }
  [ -d "$seeds" ] || { echo "fuzz: no seed corpus $seeds" >&2; exit 1; }
  mkdir -p "$work" "$findings"
  log=build-san/fuzz/$target.log
  t=$SECONDS
  rc=0
  "$bin" "$work" "$seeds" -max_total_time="$seconds" -timeout=60 -rss_limit_mb=2560 \
    -malloc_limit_mb=1024 -max_len=16384 -print_final_stats=1 \
    -artifact_prefix="$findings/" >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  line="fuzz: $target: ${runs:-?} inputs in $((SECONDS - t)) s, corpus $(ls "$work" | wc -l) files"
  if [ "$rc" -ne 0 ]; then
    status=1
    line="$line — FINDING (exit $rc), input in $findings/, log $log"
    grep -m1 -E "^(==[0-9]+==ERROR|fuzz: |.*runtime error:|SUMMARY)" "$log" >&2 || tail -20 "$log" >&2
  fi
  echo "$line"
  summary+=("$line")
done
printf '%s\n' "${summary[@]}"
exit $status
