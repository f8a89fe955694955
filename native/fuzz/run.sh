#!/bin/sh
# Usage: native/fuzz/run.sh TARGET SECONDS [MAX_LEN]      (TARGET: reader, reassembly or chunks)
# Builds the target with cargo fuzz (overflow checks on, no sanitizer: the crates are safe Rust), makes the
# seed corpora if there are none, then runs the fuzzer once at nice 19 for SECONDS on corpus/TARGET
# (15 min per input: a pause of the process by SIGSTOP counts as wall time, and libFuzzer took a
# 200 s pause for a hang at -timeout=10; 2 GB RSS). A crash lands in artifacts/TARGET/; the log in logs/TARGET.<start time>.log.
cd "$(dirname "$0")" || exit 2
target=$1; total=$2; max_len=${3:-70000}
export RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/target-fuzz}
[ -d corpus/$target ] || python3 make_seeds.py || exit 2
cargo fuzz build -s none "$target" || exit 2
bin=$CARGO_TARGET_DIR/$(rustc -vV | sed -n 's/^host: //p')/release/$target
mkdir -p artifacts/$target logs
log=logs/$target.$(date +%Y%m%d-%H%M%S).log
echo "$log"
exec nice -n 19 "$bin" corpus/$target -timeout=${TIMEOUT:-900} -rss_limit_mb=2048 -max_len=$max_len \
    -max_total_time=$total -print_final_stats=1 -artifact_prefix=artifacts/$target/ > "$log" 2>&1
