#!/usr/bin/env bash
# Explores SEEDS of SCENARIO as SHARDS shards run by GNU parallel, then merges
# them, the way a farm of machines would:
#
#   examples/explore/parallel.sh SCENARIO SEEDS SHARDS OUT
#   examples/explore/parallel.sh scenarios/chaos-cluster-partitioned-master.yaml 1..10001 8 /tmp/explore
#
# Shard I writes OUT/shard-I/ (explore.json and seed-<n>/ of its failing
# seeds); `chaoslab merge` joins them into OUT/merged/explore.json and prints
# the summary. The exit code is the merge's: 0 no seed failed, 1 some seed
# failed, 2 bad input or a shard that did not run, 4 nondeterminism.
#
# CHAOSLAB names the binary (default: chaoslab on PATH). Anything in the
# PARALLEL environment variable goes to GNU parallel as options, e.g.
# PARALLEL='-j 2' to run two shards at a time (default: one per core).
set -euo pipefail
if [ "$#" -ne 4 ]; then
  echo "usage: $0 SCENARIO SEEDS SHARDS OUT" >&2
  exit 2
fi
scenario=$1 seeds=$2 shards=$3 out=$4
chaoslab=${CHAOSLAB:-chaoslab}
command -v parallel >/dev/null || { echo "error: GNU parallel is not installed (apt-get install parallel)" >&2; exit 2; }
mkdir -p "$out"
# A shard exits 1 when one of its seeds failed: that is a finding for the
# merge to report, not a failure of the shard. The job log keeps each shard's
# exit code; any other code stops the script before the merge.
parallel --will-cite --joblog "$out/parallel.log" --quote \
  "$chaoslab" --quiet explore "$scenario" --seeds "$seeds" --shard "{}/$shards" --jobs 1 --out "$out/shard-{}" \
  ::: $(seq 0 $((shards - 1))) || true
bad=$(awk 'NR > 1 && (($7 != 0 && $7 != 1) || $8 != 0) { print $NF " exited " $7 " (signal " $8 ")" }' "$out/parallel.log")
if [ -n "$bad" ] || [ "$(awk 'NR > 1' "$out/parallel.log" | wc -l)" -ne "$shards" ]; then
  echo "error: not every shard ran: ${bad:-see $out/parallel.log}" >&2
  exit 2
fi
shard_dirs=()
for i in $(seq 0 $((shards - 1))); do shard_dirs+=("$out/shard-$i"); done
exec "$chaoslab" merge "${shard_dirs[@]}" --out "$out/merged"
