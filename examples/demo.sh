#!/usr/bin/env bash
# A pod in miniature: a "sidecar" that never exits runs under guillotine; a "main container"
# does its work, then writes the sentinel on the shared volume; guillotine stops the sidecar's
# whole process group and exits 0, so the Job would complete.
#
#   bash examples/demo.sh          (from the project root; builds guillotine first)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
guillotine=target/release/guillotine

shared=$(mktemp -d)                      # the emptyDir both containers mount
trap 'rm -rf "$shared"' EXIT
done_file="$shared/done"

echo "demo: starting the sidecar under guillotine, watching $done_file"
"$guillotine" --watch "$done_file" --grace 5s -- \
  sh -c 'trap "echo sidecar: got TERM, shutting down; exit 0" TERM
         while :; do echo "sidecar: proxying"; sleep 0.5 & wait $!; done' &
sidecar=$!

echo "main: running the job"
sleep 1.5
echo "main: job finished, writing the sentinel"
touch "$done_file"

status=0
wait "$sidecar" || status=$?
echo "demo: guillotine exited with $status (0: the Job completes)"
exit "$status"
