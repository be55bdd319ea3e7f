#!/bin/sh
# Instruction counts of every example under prototypes of compiler and library
# changes, none of which is in compiler/ or stdlib/ (see docs/performance.md):
#   base     whistlerc as it is
#   ret      return blocks moved to the end of each function (emitter)
#   ret+a8   and allocas aligned to 8 (lowering)
#   +l3      and %with-l3 nested, so the second VLAN test runs only after a
#            first tag (stdlib/packet.lisp; nested-with-l3.lisp here)
#   +parse   and parse-ipv4 without its outer %opaque and the depth-2 VLAN
#            test (parse-ipv4-lean.lisp here; flow-export only)
# The IR is taken from `whistlerc --emit llvm` and compiled with llc-19, which
# reproduces whistlerc's own objects exactly (base column).
#
#   bench/analysis/prototype_counts.sh [WHISTLERC] [OUTDIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$(dirname "$here")")
W=${1:-$root/build/cli/whistlerc}
out=${2:-$(mktemp -d)}
mkdir -p "$out"
LLC=${LLC:-llc-19}
count() { python3 "$here/../bpf_elf.py" "$1" | awk '{printf "%s=%s ", $2, $NF}'; }
variant() {  # variant NAME SOURCE FLAGS
  "$W" "$2" --emit llvm -o "$out/$1.ll"
  python3 "$here/sink_returns.py" "$out/$1.ll" "$out/$1.sunk.ll" $3
  "$LLC" -O2 -mcpu=v3 -filetype=obj "$out/$1.sunk.ll" -o "$out/$1.o"
  count "$out/$1.o"
}
printf "%-20s | %-40s | %-40s | %-40s | %-40s | %s\n" example base ret ret+a8 +l3 +parse
for f in "$root"/examples/*.lisp; do
  n=$(basename "$f" .lisp)
  "$W" "$f" -o "$out/$n.base.o"
  base=$(count "$out/$n.base.o")
  ret=$(variant "$n.ret" "$f" "")
  a8=$(variant "$n.a8" "$f" --align8)
  cat "$here/nested-with-l3.lisp" "$f" > "$out/$n.l3.lisp"
  l3=$(variant "$n.l3" "$out/$n.l3.lisp" --align8)
  parse=-
  if grep -q parse-ipv4 "$f"; then
    cat "$here/nested-with-l3.lisp" "$here/parse-ipv4-lean.lisp" "$f" > "$out/$n.parse.lisp"
    parse=$(variant "$n.parse" "$out/$n.parse.lisp" --align8)
  fi
  printf "%-20s | %-40s | %-40s | %-40s | %-40s | %s\n" "$n" "$base" "$ret" "$a8" "$l3" "$parse"
done
echo "objects in $out"
