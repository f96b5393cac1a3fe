#!/usr/bin/env bash
# Expansion cost in a real build: warm `cargo check` of a crate holding ten realistic flows
# (scripts/check-cost/flows.rs) against the same crate with every `workflow!` replaced by its
# expansion, as if written by hand. Both crates are checked alternately, RUNS times each,
# after touching their source; the medians and their ratio are printed.
#
#   scripts/check-cost.sh [RUNS]      (default 15)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=$root/target/check-cost
runs=${1:-15}
export CARGO_TARGET_DIR=$work/target

rm -rf "$work/macro" "$work/by_hand"
for crate in macro by_hand; do
  mkdir -p "$work/$crate/src"
  cat > "$work/$crate/Cargo.toml" <<TOML
[package]
name = "check_cost_$crate"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
workflow-core = { path = "$root/workflow-core" }
serde = { version = "1", features = ["derive"] }

[workspace]
TOML
done
cp "$root/scripts/check-cost/flows.rs" "$work/macro/src/lib.rs"
cargo run -q --manifest-path "$root/Cargo.toml" -p workflow-macros --example expand_file -- \
  "$root/scripts/check-cost/flows.rs" | grep -v '^use workflow_core::workflow;$' > "$work/by_hand/src/lib.rs"

# Build the dependencies once, so that what is timed is the crate itself.
for crate in macro by_hand; do
  cargo check -q --manifest-path "$work/$crate/Cargo.toml"
done

time_check() {
  touch "$work/$1/src/lib.rs"
  local start end
  start=$(date +%s%N)
  cargo check -q --manifest-path "$work/$1/Cargo.toml"
  end=$(date +%s%N)
  echo $(( (end - start) / 1000000 ))
}

macro_times=()
hand_times=()
for _ in $(seq "$runs"); do
  macro_times+=("$(time_check macro)")
  hand_times+=("$(time_check by_hand)")
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
macro_ms=$(median "${macro_times[@]}")
hand_ms=$(median "${hand_times[@]}")
lines_macro=$(wc -l < "$work/macro/src/lib.rs")
lines_hand=$(wc -l < "$work/by_hand/src/lib.rs")
echo "warm cargo check, median of $runs runs each:"
echo "  with workflow!: ${macro_ms} ms  (${lines_macro} lines)"
echo "  written out:    ${hand_ms} ms  (${lines_hand} lines)"
awk -v m="$macro_ms" -v h="$hand_ms" 'BEGIN { printf "  ratio: %.2f\n", m / h }'
