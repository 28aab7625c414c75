#!/bin/sh
# The cloudshell launcher: starts ttyd for the terminal container. The operator substitutes this file into
# the built-in Job template ({{ .Launcher }}, run as `sh -c <script> cloudshell-launcher <ttyd flags>`); the
# terminal image ships the same file. Arguments: ttyd flags (.TtydArgs). Env: COMMAND, the user's command.
# It adapts the flags to the image's ttyd, gives ttyd the login, and tells open sessions when they end.
set -eu

help=$(ttyd --help 2>&1 || true)
has_flag() { case $help in *"$1"*) return 0 ;; esac; return 1; }

# ttyd 1.7+ is read-only unless --writable; older builds lack the flag and are always writable.
if ! has_flag --writable; then
  for arg; do
    shift
    [ "$arg" = --writable ] || set -- "$@" "$arg"
  done
fi
# Listen on IPv6 as well (ttyd's default is IPv4 only) wherever the pod has an IPv6 stack; a socket on ::
# also takes IPv4 connections.
if [ -e /proc/net/if_inet6 ] && has_flag --ipv6; then
  set -- --ipv6 "$@"
fi
# CloudTTY's image ships its web client (upload, download, TTL notice) here.
if [ -f /usr/lib/ttyd/index.html ]; then
  set -- --index /usr/lib/ttyd/index.html "$@"
fi
# With ttyd's -a the URL's arguments follow the command: hand them to the user's command. A plain command
# line gets them appended as words; one with shell syntax gets them as "$@" ($1, $2, ...) to use.
script=$COMMAND
url_args=false
for arg; do
  if [ "$arg" = -a ] || [ "$arg" = --url-arg ]; then url_args=true; fi
done
if "$url_args"; then
  case $COMMAND in
    *[!A-Za-z0-9\ _./:=,@%+-]* | '') ;;
    *) script="$COMMAND \"\$@\"" ;;
  esac
fi

# The login: the Secret the operator mounts here, else TTYD_CREDENTIAL from the environment (a value the
# kubelet took from a Secret). ttyd 1.7 reads it only from its argv, so it is there, inside the container.
credential_dir=/etc/cloudshell/credential
if [ -r "$credential_dir/username" ] && [ -r "$credential_dir/password" ]; then
  set -- --credential "$(cat "$credential_dir/username"):$(cat "$credential_dir/password")" "$@"
elif [ -n "${TTYD_CREDENTIAL:-}" ]; then
  set -- --credential "$TTYD_CREDENTIAL" "$@"
fi
unset TTYD_CREDENTIAL

# Sessions are ttyd's children. Before ttyd stops (TTL, deletion), each is told on its terminal, given a
# moment for ttyd to pass that on, and hung up, so the page shows why the session is over.
end_sessions() {
  sessions=
  for status in /proc/[0-9]*/status; do
    grep -q "^PPid:[[:space:]]*$ttyd_pid\$" "$status" 2>/dev/null || continue
    pid=${status#/proc/}
    pid=${pid%/status}
    # Only to the session's terminal, never to a file its stdin was redirected to.
    case $(readlink "/proc/$pid/fd/0" 2>/dev/null) in
      /dev/pts/*)
        printf '\r\n\033[1mThis session has ended: the terminal is shutting down.\033[0m\r\n' \
          >"/proc/$pid/fd/0" 2>/dev/null || true
        ;;
    esac
    sessions="$sessions $pid"
  done
  [ -n "$sessions" ] || return 0
  sleep 1
  for pid in $sessions; do kill -HUP "$pid" 2>/dev/null || true; done
  sleep 1
}
stopping=false
ttyd_pid=
on_term() {
  "$stopping" && return
  stopping=true
  [ -n "$ttyd_pid" ] || exit 143
  end_sessions
  kill -TERM "$ttyd_pid" 2>/dev/null || true
}
trap on_term TERM INT

if "$url_args"; then
  ttyd --port 7681 "$@" sh -c "$script" cloudshell &
else
  ttyd --port 7681 "$@" sh -c "$script" &
fi
ttyd_pid=$!
while :; do
  code=0
  wait "$ttyd_pid" || code=$?
  # A trapped signal interrupts wait (status > 128) while ttyd still runs: wait again.
  kill -0 "$ttyd_pid" 2>/dev/null || exit "$code"
done
