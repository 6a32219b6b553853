#!/usr/bin/env bash
# Fuzzing smoke run for CI: every cargo-fuzz target of the workspace runs for
# a short while (FUZZ_SECONDS each, 20 by default; or FUZZ_RUNS executions)
# starting from its committed seeds and corpus, so that a change that makes a
# known input crash, or one found within seconds, fails the build. The long
# runs (10 million executions a target) are described in the book's
# Appendix B.
#
#   .ci/fuzz-smoke.sh                   # each target ~20 s
#   FUZZ_SECONDS=120 .ci/fuzz-smoke.sh
#   FUZZ_RUNS=100000 .ci/fuzz-smoke.sh  # a fixed number of executions instead
#   FUZZ_SANITIZER=address .ci/fuzz-smoke.sh   # default: none (4x faster)
#
# cargo-fuzz needs a nightly toolchain and a C++ compiler (for libFuzzer):
# without them, or when cargo-fuzz cannot be installed, this script says so and
# exits 0. It installs cargo-fuzz (`cargo install cargo-fuzz --locked`) if
# missing. The committed corpora are read, never written: new inputs go to
# a scratch directory.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${FUZZ_SECONDS:-20}
SANITIZER=${FUZZ_SANITIZER:-none}
# ANCHOR: targets
TARGETS=(
    07-tcpserver:http_request
    07-tcpserver:http_session
    01-log:log_pattern
    02-config:config_load
)
# ANCHOR_END: targets

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz-smoke: no nightly toolchain (rustup toolchain install nightly); skipping"
    exit 0
fi
if ! command -v c++ >/dev/null 2>&1; then
    echo "fuzz-smoke: no C++ compiler to build libFuzzer with (apt-get install g++); skipping"
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz-smoke: installing cargo-fuzz"
    if ! cargo install cargo-fuzz --locked; then
        echo "fuzz-smoke: could not install cargo-fuzz; skipping (this is not a crash)"
        exit 0
    fi
fi

limit=(-max_total_time="$SECONDS_EACH")
[ -n "${FUZZ_RUNS:-}" ] && limit=(-runs="$FUZZ_RUNS")
scratch=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-smoke.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

for entry in "${TARGETS[@]}"; do
    dir=${entry%%:*}
    target=${entry#*:}
    dict=()
    [ -f "$dir/fuzz/http.dict" ] && dict=(-dict=fuzz/http.dict)
    mkdir -p "$scratch/$target"
    printf '\n=== fuzz %s (%s) ===\n' "$target" "$dir"
    # -a: debug assertions on, so that integer overflow is a crash too.
    log=$scratch/$target.log
    status=0
    inputs=()
    for d in "fuzz/corpus/$target" "fuzz/seeds/$target"; do
        [ -d "$dir/$d" ] && inputs+=("$d")
    done
    (cd "$dir" && cargo +nightly fuzz run -s "$SANITIZER" -a "$target" \
        "$scratch/$target" "${inputs[@]}" -- \
        "${limit[@]}" "${dict[@]}" -print_final_stats=1) >"$log" 2>&1 || status=$?
    grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|average_exec_per_sec)' "$log" || true
    if [ "$status" != 0 ]; then
        tail -n 60 "$log"
        echo "fuzz-smoke: $target failed (exit $status); the input is in $dir/fuzz/artifacts/$target/"
        exit 1
    fi
done
echo
echo "fuzz-smoke: every target ran without a crash"
