#!/bin/sh
# rz and sz (lrzsz) for a shell inside tmux, as the terminal image keeps it (CLOUDSHELL_RECONNECT=tmux).
# ZMODEM cannot pass through tmux: tmux draws what a program writes onto its own screen and turns what the
# browser sends into key presses, so the file's bytes never arrive whole. Here the transfer goes around
# tmux, straight to the terminal of the tmux client that ttyd runs for the browser: that client is
# suspended (it stops reading and writing its terminal), lrzsz runs on the client's terminal, and the client
# is woken again, redrawing the screen. The image installs this file as /usr/local/bin/rz and
# /usr/local/bin/sz, before Debian's /usr/bin ones; outside tmux it just runs those.
set -eu
program=/usr/bin/${0##*/}
[ -n "${TMUX:-}" ] || exec "$program" "$@"
# The client the user typed into last: the one whose browser asked for this.
client=$(tmux display-message -p '#{client_pid} #{client_tty}' 2>/dev/null) || exec "$program" "$@"
pid=${client%% *}
tty=${client#* }
case $pid in '' | *[!0-9]*) exec "$program" "$@" ;; esac
[ -w "$tty" ] || exec "$program" "$@"

tmux suspend-client -t "$tty"
trap 'kill -CONT "$pid" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM HUP
# suspend-client only asks: wait (up to 2 s) until the client has stopped.
tries=0
while [ "$tries" -lt 40 ]; do
  IFS= read -r stat <"/proc/$pid/stat" 2>/dev/null || break
  # /proc/PID/stat: "pid (comm) state ...", and comm ("tmux: client") may hold spaces.
  state=${stat##*) }
  case $state in T* | t*) break ;; esac
  sleep 0.05
  tries=$((tries + 1))
done
status=0
"$program" "$@" <"$tty" >"$tty" || status=$?
exit "$status"
