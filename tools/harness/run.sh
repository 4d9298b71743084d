#!/usr/bin/env bash
# Runs the ignored `harness` test of crates/core/tests/analysis.rs on the five corpus pieces
# for the given seeds and writes its HARNESS lines to OUT.
# usage: tools/harness/run.sh OUT SEEDS [PIECES]
#   SEEDS: comma list (empty: exact and student renders only)
#   PIECES: HARNESS_PIECES form, default the five 40 s pieces below
set -euo pipefail
out=$1; seeds=$2
pieces=${3:-02_melody_folk_march_type0.mid:40,09_piano_bach_minuet_g_mutopia.mid:40,03_piano_beethoven_fur_elise.mid:40,10_piano_bach_invention_1_mutopia.mid:40,08_piano_schumann_happy_farmer.mid:40}
cd "$(dirname "$0")/../.."
HARNESS_SEEDS=$seeds HARNESS_PIECES=$pieces \
  cargo test -q --release -p audio-core --test analysis harness -- --ignored --nocapture \
  2> "$out.err" >/dev/null || { tail -20 "$out.err"; exit 1; }
grep '^HARNESS' "$out.err" > "$out"
