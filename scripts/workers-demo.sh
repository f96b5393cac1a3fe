#!/usr/bin/env bash
# Scenario S14 by hand: a throwaway PostgreSQL cluster, three worker processes, 300 orders,
# and one worker killed (SIGKILL) in the middle of the run. Prints what each process does and
# how every order ended; the orders check themselves against a one-worker run.
#
#   bash scripts/workers-demo.sh [orders]
#
# Needs the PostgreSQL server binaries (Debian: apt-get install postgresql). As root, the
# cluster runs as the `postgres` user. Everything is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-300}"

bin="$(dirname "$(command -v initdb 2>/dev/null || ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")"
[ -x "$bin/initdb" ] || { echo "no PostgreSQL binaries (initdb) found" >&2; exit 1; }
as_server() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

dir="$(mktemp -d /tmp/workers-demo.XXXXXX)"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    as_server "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT

echo "== a throwaway cluster in $dir"
as_server "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync >/dev/null
as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-k $dir -c listen_addresses=''" start >/dev/null
url="host=$dir user=postgres dbname=postgres"

cargo build -q --example workers
demo=target/debug/examples/workers
effects="$dir/outside.sqlite"

echo "== three workers (lease 2s)"
declare -A worker
for name in w-1 w-2 w-3; do
    # Each worker runs until it is killed (or its standard input closes).
    RUST_LOG="error,workflow_core::runtime::host=warn" "$demo" worker --postgres "$url" --effects "$effects" --name "$name" \
        --lease-ms 2000 < <(sleep 100000) > >(sed "s/^/   [$name] /") 2>&1 &
    worker[$name]=$!
    pids+=($!)
done
sleep 2

echo "== $count orders from a process that runs no flow; w-1 is killed 1.5s in"
(
    sleep 1.5
    echo "   !! kill -KILL ${worker[w-1]} (w-1), in the middle of its steps"
    kill -KILL "${worker[w-1]}"
) &
pids+=($!)
"$demo" orders --postgres "$url" --effects "$effects" --count "$count"
echo "== done: w-2 and w-3 took over what w-1 held once its lease ran out"
