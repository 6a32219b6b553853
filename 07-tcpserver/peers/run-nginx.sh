#!/usr/bin/env bash
# Runs the nginx peer in the foreground, unprivileged, from the repository.
#
#   07-tcpserver/peers/run-nginx.sh [PORT (8083)] [SCRATCH_DIR (a new temp dir)]
#
# Copies nginx.conf into SCRATCH_DIR with the port substituted, then execs
# nginx there (so the caller's $! is the nginx master's pid). Ctrl-C or
# SIGTERM stops it; the caller removes SCRATCH_DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
port=${1:-8083}
dir=${2:-$(mktemp -d "${TMPDIR:-/tmp}/nginx-peer.XXXXXX")}
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || {
    echo "run-nginx.sh: nginx is not installed (apt-get install nginx-light)" >&2
    exit 1
}
PATH=$PATH:/usr/sbin
mkdir -p "$dir"
sed -E "s/^( *listen +[0-9.]+:)[0-9]+;( *# @port)/\\1$port;\\2/" "$here/nginx.conf" >"$dir/nginx.conf"
grep -q "listen .*:$port;" "$dir/nginx.conf" || {
    echo "run-nginx.sh: could not set the port in $dir/nginx.conf" >&2
    exit 1
}
echo "nginx peer: 127.0.0.1:$port, scratch dir $dir" >&2
exec nginx -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" -g 'daemon off;'
