#!/usr/bin/env bash
# Runs every check and test. Tools are built from the Go module proxy at
# pinned versions and cached under the user's cache directory, so a fresh
# machine needs only Go, gcc, git and make.
set -euo pipefail
cd "$(dirname "$0")/.."

STATICCHECK_VERSION=v0.8.2

cache="${XDG_CACHE_HOME:-$HOME/.cache}/tracehound/tools"
mkdir -p "$cache"
export PATH="$cache/bin:$PATH"

# tool NAME MODULE_PATH VERSION: go install into a per-version directory once.
tool() {
	local name=$1 pkg=$2 ver=$3 dir="$cache/$1-$3"
	if [ ! -x "$dir/$name" ]; then
		echo "== installing $pkg@$ver (cached in $dir)" >&2
		GOBIN="$dir" go install "$pkg@$ver"
	fi
	echo "$dir/$name"
}

lint() {
	echo "== gofmt"
	local bad
	bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
	if [ -n "$bad" ]; then
		echo "gofmt needed on:"; echo "$bad"; exit 1
	fi
	echo "== go vet"
	go vet ./...
	go vet -tags integration ./...
	echo "== staticcheck"
	"$(tool staticcheck honnef.co/go/tools/cmd/staticcheck "$STATICCHECK_VERSION")" ./...
}

if [ "${1:-}" = lint ]; then
	lint
	exit 0
fi

# The full suite runs on the real data set beside the repository: a test
# that cannot find it fails (CI=true) rather than skip and print ok.
check_data() {
	local d="../shared/data" missing=""
	for f in ofac/sdn_advanced-2025-11-19.xml.bz2 ofac/lists-2025-11-19 tags/graphsense-tagpacks \
		tags/etherscan-labels btc/blk_0_to_14131.dat incidents/bybit-2025-addresses.csv \
		stix2-json-schemas detection/eth-fraud/train.csv detection/amlsim/20K_cycle200.tgz; do
		[ -e "$d/$f" ] || missing="$missing $f"
	done
	if [ -n "$missing" ]; then
		echo "the data set is incomplete: missing in $d:$missing" >&2
		exit 1
	fi
}
export CI=true

check_data
lint
echo "== unit and integration tests"
# Integration tests (tag "integration") start real servers and nodes.
go test -tags integration -timeout 25m ./...
