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
# ttyd's log goes to the container log, which every holder of `pods/log` in the namespace reads. At its default
# level (7) ttyd 1.7 prints the login there (`credential: <base64 user:password>`); level 3 keeps errors and
# warnings (a refused Origin, a refused login) and prints no login. First, so that an administrator's template
# can raise it on purpose (ttyd takes the last -d).
set -- -d 3 "$@"
# The web page: CLOUDSHELL_INDEX names one (the tests' build of the terminal image's page), else the image's
# own at /usr/lib/ttyd/index.html (the operator's terminal image puts its page there, CloudTTY's image its web
# client), else ttyd's stock page.
if [ -n "${CLOUDSHELL_INDEX:-}" ] && [ -f "$CLOUDSHELL_INDEX" ]; then
  set -- --index "$CLOUDSHELL_INDEX" "$@"
elif [ -f /usr/lib/ttyd/index.html ]; then
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

# --- How the terminal ends, told to the operator ---
# The kubelet keeps what the container wrote to its termination message file and puts it in the pod's
# status; the operator turns "<Reason>: <text>" into the CloudShell's condition (controller/cloudshell/
# observe.ts). Outside a pod (no such file) it only goes to the log.
termination_log=${CLOUDSHELL_TERMINATION_LOG:-/dev/termination-log}
report_end() {
  echo "cloudshell-launcher: $1: $2" >&2
  if [ -w "$termination_log" ]; then printf '%s: %s\n' "$1" "$2" >"$termination_log" 2>/dev/null || true; fi
}

# A mistyped command would give a terminal that only says "not found" to whoever opens it: check the
# program before anyone connects and end the shell Failed, naming it. Only a plain first word is checked
# (with quotes or variables in it, only the shell knows what runs), and shell builtins pass.
check_command() {
  program=${COMMAND#"${COMMAND%%[![:space:]]*}"}
  program=${program%%[[:space:];|&<>()]*}
  case $program in
    '' | *[\$\`\'\"=*?~{}\\[]*) return 0 ;;
  esac
  command -v -- "$program" >/dev/null 2>&1 && return 0
  report_end CommandNotFound "the command \"$program\" is not in the terminal image (commandAction: $(
    printf '%.200s' "$COMMAND"
  )); check its spelling, or use an image that has it"
  exit 127
}
check_command

# --- The session's life: idle timeout, warnings, and why it ended ---
# The operator writes these into the pod's annotations and a downward API volume shows them here, kept
# current while the pod runs (so a raised TTL reaches the warnings): ends-at (Unix seconds when the TTL
# runs out), ttl, idle-timeout and warn-before (seconds), and the CloudShell's name and namespace. Without
# them (an image started by hand) there is neither an idle timeout nor a warning.
session_dir=${CLOUDSHELL_SESSION_DIR:-/etc/cloudshell/session}
session_value() {
  value=
  if [ -r "$session_dir/$1" ]; then IFS= read -r value <"$session_dir/$1" || :; fi
}
session_seconds() {
  session_value "$1"
  case $value in '' | *[!0-9]*) value= ;; esac
}
# Seconds since the Unix epoch without a process per look: the boot time once, then /proc/uptime.
read -r uptime _ </proc/uptime
boot_time=$(($(date +%s) - ${uptime%.*}))
clock() {
  read -r uptime _ </proc/uptime
  now=$((boot_time + ${uptime%.*}))
}

# Sessions are ttyd's children, one per connected client (with tmux, the client's `tmux attach`).
status_separators=": $(printf '\t')"
list_sessions() {
  sessions=
  for status in /proc/[0-9]*/status; do
    ppid=
    { while IFS="$status_separators" read -r key val _; do
      if [ "$key" = PPid ]; then ppid=$val && break; fi
    done <"$status"; } 2>/dev/null || continue
    [ "$ppid" = "$ttyd_pid" ] || continue
    pid=${status#/proc/}
    sessions="$sessions ${pid%/status}"
  done
}
# Writes a line to a session's terminal (never to a file its stdin was redirected to).
tell() {
  case $(readlink "/proc/$1/fd/0" 2>/dev/null) in
    /dev/pts/*) printf '\r\n\033[1m%s\033[0m\r\n' "$2" >"/proc/$1/fd/0" 2>/dev/null || true ;;
  esac
}
# Tells the terminal image's page (images/terminal/page) about the session: a private OSC escape sequence,
# `ESC ] 7681 ; cloudshell ; key=value;... BEL`, which xterm.js ignores on pages without a handler for it
# (ttyd's stock page, CloudTTY's), so they show nothing.
notify() {
  case $(readlink "/proc/$1/fd/0" 2>/dev/null) in
    /dev/pts/*) printf '\033]7681;cloudshell;%s\007' "$2" >"/proc/$1/fd/0" 2>/dev/null || true ;;
  esac
}
in_words() {
  if [ "$1" -ge 120 ]; then words="about $((($1 + 30) / 60)) minutes"; else words="$1 seconds"; fi
}

# Before ttyd stops (TTL, deletion), each session is told why on its terminal, given a moment for ttyd to
# pass that on, and hung up, so the page shows why the session is over.
end_sessions() {
  list_sessions
  [ -n "$sessions" ] || return 0
  # The line first, then the page's notice: the stream keeps the order, so a page that shows its end page at
  # the notice has the line in its terminal already.
  for pid in $sessions; do
    tell "$pid" "$1"
    notify "$pid" "end=$2"
  done
  sleep 1
  for pid in $sessions; do kill -HUP "$pid" 2>/dev/null || true; done
  sleep 1
}
why_stopped() {
  clock
  session_seconds ends-at
  if [ -n "$value" ] && [ "$now" -ge $((value - 5)) ]; then
    why="This session has ended: its time (the CloudShell's TTL) is up."
    why_code=ttl
  else
    why="This session has ended: the terminal is shutting down (its CloudShell was deleted or ended)."
    why_code=shutdown
  fi
}

# The idle timeout: no session for that long ends the terminal, and the CloudShell Complete.
idle_since=
watch_idle() {
  session_seconds idle-timeout
  if [ -n "$sessions" ] || [ -z "$value" ] || [ "$value" -eq 0 ] || [ -z "$idle_since" ]; then
    idle_since=$now
    return 0
  fi
  [ $((now - idle_since)) -ge "$value" ] || return 0
  report_end IdleTimeout "no client was connected to the terminal for ${value}s (idleTimeoutSeconds)"
  stopping=true
  kill -TERM "$ttyd_pid" 2>/dev/null || true
  wait "$ttyd_pid" || true
  reconnect_stop
  remove_state
  exit 0
}

# The session's facts as the operator last wrote them, read once a look for the two below.
read_session() {
  session_seconds ends-at
  ends_at=$value
  session_seconds warn-before
  warn_before=${value:-300}
  session_value name
  name=$value
  session_value namespace
  namespace=$value
  session_seconds ttl
  ttl=$value
}

# The time left, for the page: to each new session, and to all again when the TTL changes. Seconds left
# rather than the end's time of day, so the browser's clock does not matter.
timed=
tell_time() {
  left=
  if [ -n "$ends_at" ]; then left=$((ends_at > now ? ends_at - now : 0)); fi
  for pid in $sessions; do
    case " $timed " in *" ${ends_at:-none}:$pid "*) continue ;; esac
    notify "$pid" "left=$left;warn=$warn_before;name=$name;namespace=$namespace;ttl=$ttl"
    timed="$timed ${ends_at:-none}:$pid"
  done
}

# The warning before the TTL runs out, once to each session (again after a change of the TTL).
warned=
watch_ttl() {
  [ -n "$ends_at" ] || return 0
  left=$((ends_at - now))
  [ "$left" -gt 0 ] && [ "$left" -le "$warn_before" ] || return 0
  in_words "$left"
  for pid in $sessions; do
    case " $warned " in *" $ends_at:$pid "*) continue ;; esac
    tell "$pid" "This session ends in $words, when its TTL runs out. To keep it longer, raise the TTL: kubectl patch cloudshell ${name:-<name>}${namespace:+ -n $namespace} --type merge -p '{\"spec\":{\"ttlSecondsAfterStarted\":$((${ttl:-0} + 3600))}}'"
    warned="$warned $ends_at:$pid"
  done
}

# A directory of this terminal's own (mode 0700) for tmux's socket and the once claim; none where the
# temporary directory is not writable (then neither is used). Not named after the shell's process id
# variable: in a pod's command the kubelet turns a doubled dollar sign into one.
state_dir=$(mktemp -d "${TMPDIR:-/tmp}/cloudshell.XXXXXXXX" 2>/dev/null) || state_dir=
remove_state() {
  if [ -n "$state_dir" ]; then rm -rf "$state_dir"; fi
}

# --- once: one client, and any other told why not ---
# ttyd's --once refuses a second client without a word (the page stays blank). The launcher does it
# instead: the first client claims the terminal, any other sees why it cannot have it, and the terminal
# ends when the first client's session does (watch_once). Without a state directory, ttyd's --once stays.
once=false
if [ -n "$state_dir" ]; then
  for arg; do
    shift
    if [ "$arg" = --once ]; then once=true; else set -- "$@" "$arg"; fi
  done
fi
# Run by ttyd for each client, with the claim, the command and the URL's arguments.
once_gate='claim=$1 script=$2
shift 2
if mkdir "$claim" 2>/dev/null; then exec sh -c "$script" cloudshell "$@"; fi
printf "\r\n\033[1m%s\033[0m\r\n" "This terminal serves one client only (once), and another one has it. Each user needs a CloudShell of their own."
printf "\033]7681;cloudshell;end=once\007"
sleep 5'
watch_once() {
  "$once" && [ -d "$state_dir/once-client" ] && [ -z "$sessions" ] || return 0
  stopping=true
  kill -TERM "$ttyd_pid" 2>/dev/null || true
  wait "$ttyd_pid" || true
  remove_state
  exit 0
}

# --- Reconnect: one shell that outlives its connections ---
# In an image that asks for it (CLOUDSHELL_RECONNECT=tmux, as the operator's terminal image does) every
# client attaches to the same tmux session: a reload or a dropped connection comes back to the same shell,
# its running jobs and its scrollback, and several tabs share it. The shell lives until it exits or the
# terminal ends (idle timeout, TTL, deletion). Not for once (one client, then the end) nor with URL
# arguments (each connection its own command line). Other images (CloudTTY's), or no tmux or no state
# directory: each connection gets its own shell, as ttyd does.
tmux_socket=
reconnect_setup() {
  [ "${CLOUDSHELL_RECONNECT:-}" = tmux ] && [ -n "$state_dir" ] && command -v tmux >/dev/null 2>&1 || return 0
  ! "$url_args" && ! "$once" || return 0
  tmux_socket=$state_dir/tmux
  # The terminal looks as it does without tmux (no status line); the page's own scrollback fills as
  # output arrives (no alternate screen), and tmux keeps more for a client that comes back.
  {
    echo "set-option -g status off"
    echo "set-option -g history-limit 10000"
    echo "set-option -s escape-time 0"
    echo "set-option -ga terminal-overrides ',xterm*:smcup@:rmcup@'"
    for dir in /usr/share/terminfo /lib/terminfo /etc/terminfo; do
      if [ -e "$dir/t/tmux-256color" ]; then echo "set-option -g default-terminal tmux-256color" && break; fi
    done
  } >"$state_dir/tmux.conf"
}
reconnect_setup
reconnect_stop() {
  [ -n "$tmux_socket" ] || return 0
  tmux -S "$tmux_socket" kill-server 2>/dev/null || true
}

stopping=false
ttyd_pid=
on_term() {
  "$stopping" && return
  stopping=true
  [ -n "$ttyd_pid" ] || exit 143
  why_stopped
  end_sessions "$why" "$why_code"
  kill -TERM "$ttyd_pid" 2>/dev/null || true
}
trap on_term TERM INT

if [ -n "$tmux_socket" ]; then
  ttyd --port 7681 "$@" tmux -S "$tmux_socket" -f "$state_dir/tmux.conf" new-session -A -s shell sh -c "$script" &
elif "$once"; then
  ttyd --port 7681 "$@" sh -c "$once_gate" cloudshell-once "$state_dir/once-client" "$script" &
elif "$url_args"; then
  ttyd --port 7681 "$@" sh -c "$script" cloudshell &
else
  ttyd --port 7681 "$@" sh -c "$script" &
fi
ttyd_pid=$!
# Once a second: who is connected, and whether the session should end or be warned. A trapped signal
# interrupts the wait for the sleep, so SIGTERM is handled at once.
while kill -0 "$ttyd_pid" 2>/dev/null; do
  sleep 1 &
  wait $! || true
  "$stopping" && continue
  clock
  list_sessions
  watch_idle
  watch_once
  read_session
  tell_time
  watch_ttl
done
code=0
wait "$ttyd_pid" || code=$?
reconnect_stop
remove_state
exit "$code"
