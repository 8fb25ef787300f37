# tracehound: `make demo` runs it on real data, `make test` runs every test.
.PHONY: test unit demo build bench lint

build:
	go build -o bin/tracehound ./cmd/tracehound

demo:
	go run ./cmd/tracehound demo

# Every check and test, unit and integration, with the tools they need
# installed at pinned versions and cached between runs.
test:
	./scripts/test.sh

# The quick loop: unit tests only.
unit:
	go test ./...

lint:
	./scripts/test.sh lint

bench:
	./scripts/bench.sh
