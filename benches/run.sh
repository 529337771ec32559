#!/usr/bin/env bash
# Benchmarks `corroborate run` (release build) against DuckDB on synthetic data.
#
#   benches/run.sh [EVENTS...]      default: 1000000 10000000
#
# For each size: generates an organisation of 50,000 identities and 200,000
# grants with EVENTS events over 90 days (benches/generate.py), converts the
# events to Parquet with DuckDB, then times, for JSON Lines and for Parquet,
# the whole `corroborate run` (every rule) and DuckDB computing only
# undocumented-access and unused-entitlement (benches/duckdb_rules.py).
# Finally it summarizes one day of 10 million events, copies that summary to 90
# days with DuckDB, and times a run merging the 90 summaries.
#
# Needs python3 with duckdb (`pip install duckdb`), /usr/bin/time and about
# 6 GB free in BENCH_DIR (default /tmp/corroborate-bench), which is deleted at
# the end unless KEEP=1. Prints one Markdown table row per measurement.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
work=${BENCH_DIR:-/tmp/corroborate-bench}
bin=$repo/target/release/corroborate
as_of=2026-11-30T00:00:00Z
sizes=("$@")
if [ ${#sizes[@]} -eq 0 ]; then
    sizes=(1000000 10000000)
fi

if [ ! -x "$bin" ] || [ -n "$(find "$repo/src" -newer "$bin" -name '*.rs' | head -1)" ]; then
    (cd "$repo" && cargo build --release)
fi
python3 -c 'import duckdb' 2>/dev/null || pip install duckdb
mkdir -p "$work"

# measure LABEL EVENTS COMMAND...: runs COMMAND under /usr/bin/time -v and
# prints wall time, events per second, CPU time / wall time and peak memory.
measure() {
    local label=$1 events=$2
    shift 2
    local stats="$work/time.txt"
    /usr/bin/time -v -o "$stats" "$@" >"$work/stdout.txt" 2>"$work/stderr.txt" || {
        echo "failed: $label" >&2
        cat "$work/stderr.txt" >&2
        return 1
    }
    python3 - "$stats" "$label" "$events" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
def field(name):
    return re.search(re.escape(name) + r": (.*)", text).group(1).strip()
parts = [float(p) for p in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":")]
wall = sum(value * 60 ** power for power, value in enumerate(reversed(parts)))
cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
peak_mib = int(field("Maximum resident set size (kbytes)")) / 1024
events = int(sys.argv[3])
print(f"| {sys.argv[2]} | {events:,} | {wall:.2f} | {events / wall:,.0f} | {cpu / wall:.2f} | {peak_mib:,.0f} |")
EOF
}

echo "| what | events | wall s | events/s | CPU/wall | peak MiB |"
echo "|---|---|---|---|---|---|"
for events in "${sizes[@]}"; do
    data="$work/$events"
    if [ ! -f "$data/events.jsonl" ]; then
        python3 "$repo/benches/generate.py" "$data" --events "$events" >&2
        python3 "$repo/benches/duckdb_rules.py" to-parquet "$data/events.jsonl" "$data/events.parquet"
    fi
    for format in jsonl parquet; do
        measure "corroborate run, all rules, $format" "$events" \
            "$bin" run --logs "$data/events.$format" --entitlements "$data/entitlements.csv" \
            --tests "$data/tests.csv" --as-of "$as_of" --out "$work/out-$format" --quiet
        python3 -c "
import json, sys
counts = json.load(open('$work/out-$format/manifest.json'))['counts']['by_rule']
print('corroborate $format:', {rule: counts.get(rule, 0) for rule in ('undocumented-access', 'unused-entitlement')}, file=sys.stderr)"
        measure "DuckDB, 2 rules, $format" "$events" \
            python3 "$repo/benches/duckdb_rules.py" "$data/events.$format" "$data/entitlements.csv" \
            --as-of "$as_of"
        echo "DuckDB $format: $(tr '\n' ' ' <"$work/stdout.txt")" >&2
    done
done

# 90 daily summaries of 10 million events each: one day generated and
# summarized, then copied to the 89 days before it with shifted times.
day="$work/day"
if [ ! -f "$day/events.jsonl" ]; then
    python3 "$repo/benches/generate.py" "$day" --events 10000000 --days 1 >&2
fi
measure "corroborate summarize, 1 day" 10000000 \
    "$bin" summarize --logs "$day/events.jsonl" --out "$day/summaries/2026-11-29.parquet" --quiet
python3 - "$day/summaries" <<'EOF'
import datetime, sys, duckdb
folder = sys.argv[1]
source = f"{folder}/2026-11-29.parquet"
for back in range(1, 90):
    day = (datetime.date(2026, 11, 29) - datetime.timedelta(days=back)).isoformat()
    duckdb.sql(f"""
        COPY (SELECT * REPLACE (first - INTERVAL {back} DAY AS first, last - INTERVAL {back} DAY AS last)
              FROM read_parquet('{source}'))
        TO '{folder}/{day}.parquet' (FORMAT parquet, COMPRESSION zstd)""")
EOF
measure "corroborate run, 90 daily summaries" 900000000 \
    "$bin" run --summaries "$day/summaries/*.parquet" --entitlements "$work/${sizes[0]}/entitlements.csv" \
    --tests "$work/${sizes[0]}/tests.csv" --as-of "$as_of" --out "$work/out-summaries" --quiet

if [ "${KEEP:-0}" != 1 ]; then
    rm -rf "$work"
fi
