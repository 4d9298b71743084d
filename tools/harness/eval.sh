#!/usr/bin/env bash
# Before/after figures for the analysis rules: dev and held-out draws (five pieces, 8 seeds
# each), and Chopin + Joplin exact/student renders without errors. FRESH=1 adds the fresh sets.
# usage: tools/harness/eval.sh TAG   (writes /tmp/harness_TAG_*.txt)
set -euo pipefail
tag=$1; d=$(dirname "$0")
cargo test -q --release -p audio-core --test analysis --no-run 2>/dev/null
"$d/run.sh" /tmp/harness_${tag}_dev.txt 1234,1235,7,42,5,6,8,99 &
"$d/run.sh" /tmp/harness_${tag}_ho.txt 100,200,300,400,900,1000,1100,1200 &
wait
"$d/run.sh" /tmp/harness_${tag}_cj.txt "" 05_piano_chopin_etude_op10_12.mid:60,11_piano_joplin_maple_leaf_rag_badkeysig.mid:60
echo "dev:"; python3 "$d/sum.py" /tmp/harness_${tag}_dev.txt
echo "held-out:"; python3 "$d/sum.py" /tmp/harness_${tag}_ho.txt
grep -o 'HARNESS \S* \(exact\|student\)\|missed [0-9]* extra [0-9]*' /tmp/harness_${tag}_cj.txt | paste -sd' ' | sed 's/HARNESS /\n/g'; echo
if [ -n "${FRESH:-}" ]; then
  for s in 1700,1800,1900,2000 2100,2200,2300,2400 2500,2600,2700,2800 2900,3000,3100,3200; do
    "$d/run.sh" /tmp/harness_${tag}_f${s%%,*}.txt $s
    echo "fresh $s:"; python3 "$d/sum.py" /tmp/harness_${tag}_f${s%%,*}.txt
  done
fi
