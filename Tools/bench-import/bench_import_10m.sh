#!/usr/bin/env bash
# make bench-import-10m (not in CI): the importer on a generated 10M-row export under the
# default --memory (1 GiB) and under --memory 256M, with peak RSS, and the same rows in another
# order (the body lines shuffled with a fixed seed), which must give the same visits.csv and
# customers.csv bytes. Usage: bench_import_10m.sh BIN_DIR DATA_DIR PYTHON
set -euo pipefail
bin=$1 data=$2 py=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
shared=$root/../shared/bench
mapping=$root/Fixtures/mappings/open-vocabulary.json
mkdir -p "$data"
csv=$data/visits_10000000.csv
if [ ! -f "$csv" ]; then
  REVISIT_BENCH_DATA=$data "$py" "$shared/gen_visits.py" --rows 10000000
  rm -f "$data/visits_10000000.xml"  # 2 GB that this bench does not read
fi
shuffled=$data/visits_10000000_shuffled.csv
if [ ! -f "$shuffled" ]; then
  # The generator writes no newline inside a quoted field, so lines are records.
  { head -n 1 "$csv"; tail -n +2 "$csv" | shuf --random-source=<(yes 20180301); } > "$shuffled"
fi
run() {  # run LABEL INPUT MEMORY
  local out=$data/revisit-10m-$1
  rm -rf "$out"
  /usr/bin/time -f "%e s wall, peak RSS %M KiB" -o "$data/time-$1.txt" \
    "$bin/importer" "$2" --mapping "$mapping" --out "$out" --memory "$3" --quiet
  echo "$1 (--memory $3): $(cat "$data/time-$1.txt")"
}
echo "== importer, 10M-row export ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores)"
run default "$csv" 1G
run small "$csv" 256M
run shuffled "$shuffled" 1G
for f in visits.csv customers.csv; do
  a=$(sha256sum < "$data/revisit-10m-default/$f"); b=$(sha256sum < "$data/revisit-10m-small/$f"); c=$(sha256sum < "$data/revisit-10m-shuffled/$f")
  if [ "$a" = "$b" ] && [ "$a" = "$c" ]; then echo "$f: identical in all three runs"; else echo "$f: DIFFERS"; exit 1; fi
done
rm -rf "$data"/revisit-10m-*
