#!/bin/sh
# Usage: fuzz/run.sh HARNESS SECONDS [MAX_LEN]
# Runs fuzz/fuzz_HARNESS.py on fuzz/corpus/HARNESS for SECONDS in total, restarting after each finding
# (crashing inputs land in fuzz/artifacts/), with a 10 s per-input timeout and a 2 GB RSS limit.
# Logs go to fuzz/logs/HARNESS.<start time>.<n>.log; `python fuzz/stats.py` totals executions and time.
cd "$(dirname "$0")" || exit 2
harness=$1; total=$2; max_len=${3:-65536}
[ -d corpus/$harness ] || python make_seeds.py
mkdir -p artifacts logs
start=$(date +%s)
end=$(( start + total ))
n=0
while [ "$(date +%s)" -lt "$end" ]; do
    left=$(( end - $(date +%s) ))
    n=$((n + 1))
    python fuzz_$harness.py corpus/$harness -timeout=10 -rss_limit_mb=2048 -max_len=$max_len \
        -max_total_time=$left -print_final_stats=1 -artifact_prefix=artifacts/$harness- \
        > logs/$harness.$start.$n.log 2>&1
done
