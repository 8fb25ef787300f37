#!/usr/bin/env bash
# Runs the benchmarks recorded in BENCHMARKS.md. Not part of `make test`:
# they load the whole shared data set and run for minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${BENCH_DATA:-$(mktemp -d)}"
port="${BENCH_PORT:-18080}"

echo "== in-process screening (one core)"
go test ./bench/ -run '^$' -bench . -cpu 1 -benchtime 2s
echo "== address codecs"
go test ./chain/... -run '^$' -bench . -benchtime 1s

echo "== HTTP: demo server on 127.0.0.1:$port, store $data"
go build -o bin/tracehound ./cmd/tracehound
go build -o bin/httpbench ./bench/httpbench
./bin/tracehound --data "$data" demo --addr "127.0.0.1:$port" > "$data/demo.out" 2>&1 &
pid=$!
trap 'kill -INT $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 180); do grep -q "serving on" "$data/demo.out" && break; sleep 1; done
grep -E "imported|serving" "$data/demo.out"
key=$(cat "$data/demo-api-key")
./bin/httpbench -url "http://127.0.0.1:$port" -key "$key" -mode batch -size 100000 -rounds 8
./bin/httpbench -url "http://127.0.0.1:$port" -key "$key" -mode single -c 16 -d 8s
if command -v wrk >/dev/null; then
	wrk -t1 -c8 -d8s --latency -H "Authorization: Bearer $key" "http://127.0.0.1:$port/v1/addresses/auto/0x28c6c06298d514db089934071355e5743bf21d60"
fi

echo "== abuse: slow clients and large batches against a server of its own on 127.0.0.1:$((port + 1)), same store"
kill -INT "$pid" 2>/dev/null || true
wait "$pid" || true
go build -o bin/abuse ./bench/abuse
abuse=(./bin/abuse -bin bin/tracehound -data "$data" -addr "127.0.0.1:$((port + 1))")
# 3,000 slow bodies from one address, then 16 batches of 100,000
"${abuse[@]}"
# 3,000 slow headers from 12 addresses, under the per-address cap
"${abuse[@]}" -sources 12 -mode headers -batches 0
# the batches under a soft memory limit
"${abuse[@]}" -slow 0 -memlimit 800MiB
