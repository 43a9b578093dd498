#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs, then runs formatting and
# lint checks, the Rust tests (unit, integration, store contract on SQLite and PostgreSQL,
# schema differential) and the Python interop tests against a real `ampere serve` process.
#
# PostgreSQL tests use AMPERE_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test).
# With CI=true they must run; elsewhere they are skipped, with the reason printed, when no
# server answers.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "Python environment (.venv): OCA schemas and the independent OCPP client"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/interop/requirements.txt
AMPERE_OCPP_SCHEMAS="$(.venv/bin/python -c 'import ocpp, os; print(os.path.dirname(ocpp.__file__))')"
export AMPERE_OCPP_SCHEMAS

if ! cargo nextest --version >/dev/null 2>&1; then
  step "Installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

step "Formatting"
cargo fmt --all -- --check

step "Lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Rust tests"
cargo nextest run --workspace --locked --no-fail-fast

step "Interop tests (Python ocpp charge point against a real ampere serve)"
cargo build --locked -p ampere
AMPERE_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/ampere" .venv/bin/python -m pytest tests/interop -q
