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

# ui: rebuild the web interface from its sources with the locked
# packages and fail if the result differs from the committed web/dist.
# node_modules is cached per package-lock.json under the cache directory;
# the build runs in a copy of web/ui beside it, so the tree is untouched.
ui() {
	echo "== web interface: npm ci, build, compare with web/dist"
	local lock sum dir out
	lock=web/ui/package-lock.json
	sum=$(sha256sum "$lock" | cut -c1-16)
	dir="${XDG_CACHE_HOME:-$HOME/.cache}/tracehound/ui-$sum"
	if [ ! -d "$dir/node_modules" ]; then
		rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
		cp web/ui/package.json "$lock" "$dir.tmp/"
		(cd "$dir.tmp" && npm ci --no-audit --no-fund --ignore-scripts >/dev/null)
		rm -rf "$dir" && mv "$dir.tmp" "$dir"
	fi
	# Sources only: everything tracked under web/ui.
	find "$dir" -mindepth 1 -maxdepth 1 ! -name node_modules -exec rm -rf {} +
	git ls-files -z web/ui | while IFS= read -r -d '' f; do
		mkdir -p "$dir/$(dirname "${f#web/ui/}")"
		cp "$f" "$dir/${f#web/ui/}"
	done
	out=$(mktemp -d)
	(cd "$dir" && npx tsc --noEmit && npx vitest run && npx vite build --outDir "$out" --emptyOutDir >/dev/null)
	if ! diff -r "$out" web/dist; then
		echo "web/dist differs from a build of web/ui: run 'npm ci && npm run build' in web/ui and commit web/dist"
		rm -rf "$out"
		exit 1
	fi
	rm -rf "$out"
}

# chromium: the browser the integration tests drive (Debian's; never a
# downloaded build).
chromium() {
	if [ ! -x /usr/bin/chromium ]; then
		echo "== installing chromium"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
	fi
}

if [ "${1:-}" = ui ]; then
	ui
	exit 0
fi

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
ui
chromium
echo "== unit and integration tests"
# Integration tests (tag "integration") start real servers and nodes.
go test -tags integration -timeout 25m ./...
