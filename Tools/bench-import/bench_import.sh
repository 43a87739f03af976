#!/usr/bin/env bash
# make bench-import (and the last part of make bench): the importer on the 1M-row benchmark
# export, CSV and XML, beside ../shared/bench/import_reference.py (pandas C engine, polars on 1
# and 2 threads, lxml iterparse) in the same run: Revisit (1/2), the references, Revisit (2/2),
# then the ratios. Revisit's time is end to end (parse, validate, dedupe, sort, write, hash); the
# references' is their parse only. Peak RSS per format is each importer process's own.
# Usage: bench_import.sh BIN_DIR DATA_DIR PYTHON [REPS]
set -euo pipefail
bin=$1 data=$2 py=$3 reps=${4:-3}
root=$(cd "$(dirname "$0")/../.." && pwd)
shared=$root/../shared/bench
mkdir -p "$data"
if [ ! -f "$data/visits_1m.csv" ] || [ ! -f "$data/visits_1m.xml" ]; then
  REVISIT_BENCH_DATA=$data "$py" "$shared/gen_visits.py"
fi
# One process per format and half, so that ru_maxrss of its children is that format's peak.
measure() {  # measure FORMAT HALF
  "$py" - "$bin/importer" "$data" "$1" "$reps" "$root/Fixtures/mappings/open-vocabulary.json" > "$data/revisit-import-$1-$2.json" <<'PY'
import json, resource, shutil, subprocess, sys, time
importer, data, fmt, reps, mapping = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
target = f"{data}/revisit-import-{fmt}"
times = []
for _ in range(reps):
    shutil.rmtree(target, ignore_errors=True)
    start = time.perf_counter()
    run = subprocess.run([importer, f"{data}/visits_1m.{fmt}", "--mapping", mapping, "--out", target, "--quiet"], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"importer failed on {fmt}: {run.stderr}")
    times.append(elapsed)
print(json.dumps({"format": fmt, "times": times, "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                  "summary": run.stdout.strip()}))
PY
}
echo "== importer, 1M-row export: Revisit (1/2)"
measure csv 1; measure xml 1
echo "== references: pandas C, polars 1 and 2 threads, lxml iterparse (parse only)"
REVISIT_BENCH_DATA=$data "$py" "$shared/import_reference.py" --reps "$reps" --only pandas_c,polars_t1,polars_t2,lxml_iterparse \
  --json "$data/import-reference.json"
echo "== importer, 1M-row export: Revisit (2/2)"
measure csv 2; measure xml 2
"$py" - "$data" <<'PY'
import json, statistics, sys
data = sys.argv[1]
reference = {row["name"]: row for row in json.load(open(f"{data}/import-reference.json"))["rows"]}
print(f"{'input':5s} {'Revisit s (median)':>19s} {'rows/s':>9s} {'peak RSS':>9s}   reference (parse only)          ratio (reference s / Revisit s)")
for fmt, refs in [("csv", ["pandas_c", "polars_t1", "polars_t2"]), ("xml", ["lxml_iterparse"])]:
    halves = [json.load(open(f"{data}/revisit-import-{fmt}-{half}.json")) for half in (1, 2)]
    times = halves[0]["times"] + halves[1]["times"]
    seconds = statistics.median(times)
    rss = max(h["peak_rss_mb"] for h in halves)
    for index, name in enumerate(refs):
        ref = reference.get(name)
        if ref is None:
            print(f"{fmt:5s} (reference {name} missing)")
            continue
        lead = f"{fmt:5s} {seconds:19.2f} {1_000_000 / seconds:9,.0f} {rss:8.0f}M" if index == 0 else " " * 45
        print(f"{lead}   {name:16s} {ref['sec_median']:7.3f} s   {ref['sec_median'] / seconds:8.3f}x")
PY
