#!/usr/bin/env bash
# compare.sh REV PKG BENCH [COUNT]: runs the Go benchmarks matching BENCH
# of package PKG at git revision REV and at the work tree, COUNT times
# each (default 6), alternating, so that both see the same machine, and
# prints benchstat's comparison (old = REV, new = the work tree).
#
#   scripts/compare.sh ffead61 ./bench 'LookupParsed|CheckRaw' 8
set -euo pipefail
cd "$(dirname "$0")/.."
rev=$1 pkg=$2 bench=$3 count=${4:-6}
cache="${XDG_CACHE_HOME:-$HOME/.cache}/tracehound/tools"
benchstat="$cache/benchstat-v0.0.0-20260908200009/benchstat"
if [ ! -x "$benchstat" ]; then
	GOBIN="$(dirname "$benchstat")" go install golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
fi
old=$(mktemp -d)
trap 'git worktree remove --force "$old" >/dev/null 2>&1 || rm -rf "$old"' EXIT
git worktree add --detach "$old" "$rev" >/dev/null
ln -s "$(cd .. && pwd)/shared" "$(dirname "$old")/shared" 2>/dev/null || true
out=$(mktemp -d)
(cd "$old" && go test -c -o "$out/old.test" "$pkg")
go test -c -o "$out/new.test" "$pkg"
dir=$(go list -f '{{.Dir}}' "$pkg")
odir="$old/${dir#"$PWD"/}"
for i in $(seq "$count"); do
	(cd "$odir" && "$out/old.test" -test.run '^$' -test.bench "$bench" -test.count 1 -test.cpu 1) >>"$out/old.txt"
	(cd "$dir" && "$out/new.test" -test.run '^$' -test.bench "$bench" -test.count 1 -test.cpu 1) >>"$out/new.txt"
done
"$benchstat" "$out/old.txt" "$out/new.txt"
