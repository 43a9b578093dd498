#!/usr/bin/env bash
# Runs the workloads of BENCHMARKS.md, each against a freshly started server, with the echo
# reference (and, with PYTHON=1, the Python `ocpp` CSMS) measured in the same invocation.
#
#   cargo build --release -p ampere                       # or CARGO_TARGET_DIR=… as below
#   bench/run.sh sqlite w1 w2 w3 w4                       # Ampere on SQLite
#   bench/run.sh postgres w1 w2 w3 w4                     # Ampere on PostgreSQL
#   PYTHON=1 bench/run.sh sqlite w3                       # + the Python CSMS as a reference
#
# Knobs (environment): AMPERE (binary), OUT (result directory), N (chargers of W1, W2, W4),
# K (connections of W3), DURATION (W2/W3 window, s), VERSION (1.6 or 2.0.1), PG (PostgreSQL
# server URL without database), EXTRA (more `ampere bench` flags).
set -euo pipefail

cd "$(dirname "$0")/.."
AMPERE=${AMPERE:-${CARGO_TARGET_DIR:-target}/release/ampere}
OUT=${OUT:-bench-results}
N=${N:-15000}
K=${K:-100}
DURATION=${DURATION:-30}
VERSION=${VERSION:-1.6}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
PYTHON=${PYTHON:-0}
EXTRA=${EXTRA:-}
OCPP_ADDR=127.0.0.1:8180
PY_PORT=9000

backend=${1:?usage: bench/run.sh sqlite|postgres w1 [w2 w3 w4]}
shift
mkdir -p "$OUT"
SERVER=
PY=

wait_port() {
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  return 1
}

start_ampere() {
  local data_dir url=()
  data_dir=$(mktemp -d /tmp/ampere-bench.XXXXXX)
  if [ "$backend" = postgres ]; then
    # A database of its own, fresh for every workload (never the shared `test` database).
    psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS ampere_bench" -c "CREATE DATABASE ampere_bench" >/dev/null
    url=(--database-url "$PG/ampere_bench")
  fi
  RUST_LOG=warn "$AMPERE" serve --data-dir "$data_dir" "${url[@]}" --ocpp-addr "$OCPP_ADDR" \
    --http-addr 127.0.0.1:0 --unknown-chargers accept --max-message-rate 0 --max-handshakes-per-address 100000 >"$OUT/server-$backend.log" 2>&1 &
  SERVER=$!
  wait_port 8180
}

start_python() {
  rm -f /tmp/ampere-bench-python.db*
  .venv/bin/python bench/python_csms.py --port "$PY_PORT" --db /tmp/ampere-bench-python.db \
    >"$OUT/python-csms.log" 2>&1 &
  PY=$!
  wait_port "$PY_PORT"
}

stop_all() {
  if [ -n "$SERVER" ]; then kill -TERM "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  if [ -n "$PY" ]; then kill -TERM "$PY" 2>/dev/null || true; wait "$PY" 2>/dev/null || true; fi
  SERVER=
  PY=
}
trap stop_all EXIT

for workload in "$@"; do
  case $workload in
    w1) flags=(--chargers "$N" --connectors 2) ;;
    w2) flags=(--chargers "$N" --duration "$DURATION" --meter-every 10 --heartbeat-every 60) ;;
    w3) flags=(--connections "$K" --duration "$DURATION") ;;
    w4) flags=(--chargers "$N") ;;
    *) echo "unknown workload $workload" >&2; exit 2 ;;
  esac
  start_ampere
  references=(--reference)
  if [ "$PYTHON" = 1 ]; then
    start_python
    references+=(--reference-target "python=ws://127.0.0.1:$PY_PORT/ocpp")
  fi
  echo "== $workload on $backend: $AMPERE bench --workload $workload --version $VERSION ${flags[*]} ${references[*]} $EXTRA"
  # shellcheck disable=SC2086
  "$AMPERE" bench --workload "$workload" --target "ws://$OCPP_ADDR/ocpp" --server-pid "$SERVER" \
    --version "$VERSION" "${flags[@]}" "${references[@]}" $EXTRA \
    --json "$OUT/$workload-$backend-$VERSION.json" | tee "$OUT/$workload-$backend-$VERSION.txt"
  stop_all
done
