#!/usr/bin/env bash
# Runs one control-plane process and makes sure it does not outlive the test
# process that started it: if the parent (passed as $1) dies, even by SIGKILL,
# the child is terminated within a second. SIGTERM/SIGINT are forwarded.
parent=$1
shift
"$@" &
child=$!
trap 'kill -TERM $child 2>/dev/null' TERM INT
while kill -0 "$child" 2>/dev/null; do
  if ! kill -0 "$parent" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null
    for _ in 1 2 3 4 5; do kill -0 "$child" 2>/dev/null || exit 0; sleep 1; done
    kill -KILL "$child" 2>/dev/null
    exit 0
  fi
  sleep 1 &
  wait $! 2>/dev/null
done
wait "$child"
