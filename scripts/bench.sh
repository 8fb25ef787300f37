#!/usr/bin/env bash
# Runs every harness BENCHMARKS.md cites, in its order. Not part of
# `make test`: they load the whole shared data set and run for an hour
# or more (the 10 M-transfer stores of graphbench and tracebench, a
# PostgreSQL loaded with the same transfers). Each harness runs even if
# one before it failed; the script exits non-zero if any did, naming
# them. BENCH_ONLY="trace graph" runs only the sections named; BENCH_DIR
# holds the stores (default: a new directory under /work, removed at the
# end); BENCH_PG is PostgreSQL's bin directory.
set -uo pipefail
cd "$(dirname "$0")/.."
dir="${BENCH_DIR:-$(mktemp -d /work/bench.XXXXXX)}"
port="${BENCH_PORT:-18080}"
pgbin="${BENCH_PG:-/usr/lib/postgresql/15/bin}"
only="${BENCH_ONLY:-screening ingest graph trace intel detect transfers codecs freeze}"
failed=()
cleanup() { [ -z "${BENCH_DIR:-}" ] && rm -rf "$dir"; }
trap cleanup EXIT

want() { [[ " $only " == *" $1 "* ]]; }
run() {
	local name="$1" out
	shift
	echo "== $name: $*"
	out=$(mktemp)
	if ! "$@" 2>&1 | tee "$out"; then
		echo "!! $name failed"
		failed+=("$name")
	elif [ "$1 $2" = "go test" ] && ! grep -q '^Benchmark' "$out"; then
		# A renamed or moved benchmark matches nothing and passes.
		echo "!! $name ran no benchmark"
		failed+=("$name")
	fi
	rm -f "$out"
}

if want screening; then
	run "screening, in process" go test ./bench/ -run '^$' -bench 'LookupParsed|CheckRaw' -cpu 1 -benchtime 2s
	run "HTTP" bash -c '
		set -euo pipefail
		data="'"$dir"'/demo"; port='"$port"'
		go build -o bin/tracehound ./cmd/tracehound
		go build -o bin/httpbench ./bench/httpbench
		./bin/tracehound --data "$data" demo --addr "127.0.0.1:$port" > "$data.out" 2>&1 &
		pid=$!
		trap "kill -INT $pid 2>/dev/null || true" EXIT
		for _ in $(seq 1 180); do grep -q "serving on" "$data.out" && break; sleep 1; done
		grep -E "imported|serving" "$data.out"
		key=$(cat "$data/demo-api-key")
		./bin/httpbench -url "http://127.0.0.1:$port" -key "$key" -mode batch -size 100000 -rounds 8
		./bin/httpbench -url "http://127.0.0.1:$port" -key "$key" -mode single -c 16 -d 8s
		if command -v wrk >/dev/null; then
			wrk -t1 -c8 -d8s --latency -H "Authorization: Bearer $key" "http://127.0.0.1:$port/v1/addresses/auto/0x28c6c06298d514db089934071355e5743bf21d60"
		fi
		kill -INT "$pid" 2>/dev/null || true
		wait "$pid" || true
		trap - EXIT
		echo "== abuse: slow clients and large batches against a server of its own, same store"
		go build -o bin/abuse ./bench/abuse
		abuse=(./bin/abuse -bin bin/tracehound -data "$data" -addr "127.0.0.1:$((port + 1))")
		# 3,000 slow bodies from one address, then 16 batches of 100,000
		"${abuse[@]}"
		# 3,000 slow headers from 12 addresses, under the per-address cap
		"${abuse[@]}" -sources 12 -mode headers -batches 0
		# the batches under a soft memory limit
		"${abuse[@]}" -slow 0 -memlimit 800MiB
		echo "== start-up from the screening snapshot, same store"
		go run ./bench/startup -bin bin/tracehound -data "$data" -runs 5'
fi
if want ingest; then
	run "raw Bitcoin file" go test ./bench -run '^$' -bench IngestBlockFile -benchtime 5x
fi
if want graph; then
	run "graph: bulk load into an empty store, then reads" go run ./bench/graphbench -dir "$dir/gb10m"
	rm -rf "$dir/gb10m"
	run "graph: 50 M transfers in commits of 2 M" go run ./bench/graphbench -dir "$dir/gb50m" -transfers 50000000 -addresses 10000000 -commit 2000000 -reads 1000
	rm -rf "$dir/gb50m"
	run "graph: posting reads" go test ./store/graph -run '^$' -bench PostingRead
fi
if want trace; then
	run "trace: 10 M transfers, against PostgreSQL" go run ./bench/tracebench -dir "$dir/tb10m" -runs 20 -postgres "$pgbin" -disk-cold
	run "trace: engine" go test ./trace -run '^$' -bench 'CachedTrace|TraversalTrace' -benchtime 30x
fi
if want intel; then
	run "intel: publish to flag" go test ./cmd/tracehound -run '^$' -bench PublishToFlag -benchtime 30x
	run "intel: 100,000 indicators" go test ./node -run '^$' -bench IntelIngest100k -benchtime 3x
	run "sharing at scale: 10,000 addresses in one report" go test ./bench -run '^$' -bench 'PublishReport/10000$' -benchtime 3x
	run "sharing at scale: 100,000 addresses in one report" go test ./bench -run '^$' -bench 'PublishReport/100000$' -benchtime 1x -timeout 30m
	run "TAXII paging" go test ./store/pebble -run '^$' -bench 'TAXIIPaging|TAXIIServe' -benchtime 1x
fi
if want detect; then
	run "detection" go test ./detect/rules -run '^$' -bench 'SimBlock150|Block150$' -benchtime 400x -count 5
fi
if want transfers; then
	run "transfer lists" go test ./bench -run '^$' -bench 'TransfersParse|TransfersBulk' -benchtime 2x
fi
if want codecs; then
	run "address codecs" go test -run '^$' -bench Parse -benchtime 2s -cpu 1 -count 5 ./chain/...
	run "bech32" go test -run '^$' -bench . -benchtime 2s -cpu 1 -count 5 ./chain/internal/bech32
fi
if want freeze; then
	run "time to freeze, 10 M transfers behind the watching node" go run ./bench/freeze -transfers 10000000 -rounds 20
	run "time to freeze, 100,000 transfers" go run ./bench/freeze -rounds 20
fi
if [ "${#failed[@]}" -gt 0 ]; then
	printf 'failed: %s\n' "${failed[@]}"
	exit 1
fi

