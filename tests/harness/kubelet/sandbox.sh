#!/bin/sh
# The inside of one pod of the kubelet stand-in. unshare starts it as PID 1 of
# private PID, mount, network and UTS namespaces (pod.ts), so when it exits,
# everything the container started dies with it, and every mount and socket it
# made is gone.
#
# Usage: sandbox.sh POD_DIR -- COMMAND [ARGS...]
# POD_DIR holds the plan, written by pod.ts (none of it secret):
#   termination  the container's termination message path; POD_DIR/termination-log is bound there
#   hostname   the pod's hostname
#   mounts     one mount a line: SOURCE<TAB>TARGET<TAB>ro|rw, parents first
#   workdir    the container's working directory
#   user       optional: UID:GID to run the container as (setpriv)
#   bridge     the argv of the in-namespace bridge (netns_bridge.ts), one word a line
# The container's environment is this script's: pod.ts starts it with the
# pod's environment only.
set -eu
pod=$1
shift
[ "$1" = -- ] && shift
container_path=${PATH:-}
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

hostname "$(cat "$pod/hostname")"
ip link set lo up

# A directory the host lacks (/var/run/secrets/..., /usr/local/kubeconfig) is
# made inside an overlay of its nearest existing ancestor, so the host's
# file system never changes. Overlay layers live on a tmpfs of this namespace.
# Every mount point is made before the first bind mount: an overlay stacked
# later would hide the bind mounts below it.
mkdir -p "$pod/layers"
mount -t tmpfs -o mode=0700 layers "$pod/layers"
layer=0
overlaid=" "
# Makes an existing directory writable for this pod only (nothing when it already is one of ours).
overlay_dir() {
  for done in $overlaid; do
    case "$1/" in "$done"/*) return 0 ;; esac
  done
  layer=$((layer + 1))
  mkdir -p "$pod/layers/$layer/upper" "$pod/layers/$layer/work"
  mount -t overlay overlay \
    -o "lowerdir=$1,upperdir=$pod/layers/$layer/upper,workdir=$pod/layers/$layer/work" "$1"
  overlaid="$overlaid$1 "
}
ensure_dir() {
  [ -d "$1" ] && return 0
  ancestor=$(dirname "$1")
  while [ ! -d "$ancestor" ]; do ancestor=$(dirname "$ancestor"); done
  overlay_dir "$ancestor"
  mkdir -p "$1"
}
ensure_file() {
  [ -e "$1" ] && return 0
  ensure_dir "$(dirname "$1")"
  overlay_dir "$(dirname "$1")"
  : >"$1"
}
tab=$(printf '\t')
workdir=$(cat "$pod/workdir")
while IFS="$tab" read -r source target mode; do
  [ -n "$source" ] && ensure_dir "$target"
done <"$pod/mounts"
ensure_dir "$workdir"
# The termination message file goes where the container spec says (/dev/termination-log by default). An
# overlay on /dev shows only /dev itself, so the file systems mounted below it (pts: every terminal;
# shm, mqueue) are bound again on top, from a copy of the tree taken before.
termination=$(cat "$pod/termination")
termination_dir=$(dirname "$termination")
mkdir -p "$pod/layers/dev"
mount --rbind /dev "$pod/layers/dev"
ensure_file "$termination"
mount --bind "$pod/termination-log" "$termination"
if [ "$termination_dir" = /dev ]; then
  for sub in pts shm mqueue; do
    if mountpoint -q "$pod/layers/dev/$sub"; then mount --rbind "$pod/layers/dev/$sub" "/dev/$sub"; fi
  done
fi

while IFS="$tab" read -r source target mode; do
  [ -n "$source" ] || continue
  mount --bind "$source" "$target"
  if [ "$mode" = ro ]; then mount -o remount,bind,ro "$target"; fi
done <"$pod/mounts"

# The bridge carries the Service's port in and the API server's port out.
(
  set --
  while IFS= read -r word; do set -- "$@" "$word"; done <"$pod/bridge"
  exec "$@" >"$pod/bridge.log" 2>&1
) &
for _ in $(seq 200); do
  [ -S "$pod/sockets/ports.sock" ] && break
  sleep 0.05
done
[ -S "$pod/sockets/ports.sock" ] || { echo "sandbox: the network bridge did not start" >&2; exit 127; }

cd "$workdir"
if [ -s "$pod/user" ]; then
  ids=$(cat "$pod/user")
  set -- "$(command -v setpriv)" --reuid="${ids%%:*}" --regid="${ids##*:}" --clear-groups -- "$@"
fi

# The container runs as a child, not exec'd: PID 1 ignores signals it has no
# handler for, so this shell forwards SIGTERM and reports the exit code.
PATH=$container_path
"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null || true' TERM INT
set +e
while :; do
  wait "$child"
  code=$?
  kill -0 "$child" 2>/dev/null || break
done
exit "$code"
