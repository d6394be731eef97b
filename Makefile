# Sluice: the two set-up commands are `make run` and `make test`.
GO       ?= go
BIN      := bin/sluice
PKGS     := ./...
# A count, not a duration: with a duration, Go's fuzz coordinator can fail a
# clean run with "context deadline exceeded" as the time runs out
# (golang/go#75804, fixed in Go 1.27). 300000 inputs is 3-10 s a target here.
FUZZTIME ?= 300000x

.PHONY: build run test test-short fuzz bench bench-full lint clean

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/sluice

# Runs the embedded quickstart: the gateway on 127.0.0.1:8080 in front of two
# built-in demo upstreams. Try: curl localhost:8080/api/users/42
run: build
	./$(BIN)

# vet + staticcheck, unit and end-to-end tests (real sockets, 127.0.0.1 only)
# with -race, and a short bounded run of every fuzz target.
test: build
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)
	$(GO) test -race -count=1 -timeout 10m $(PKGS)
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME)

test-short:
	$(GO) test -count=1 -short $(PKGS)

# Each fuzz target for FUZZTIME (go test -fuzz takes one target at a time).
fuzz:
	@for t in http1:FuzzParseRequest http1:FuzzChunked http1:FuzzParseResponse router:FuzzNormalize router:FuzzMatch observe:FuzzAppendJSONEscaped; do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$pkg $$fn $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) -timeout 0 ./$$pkg/ || exit 1; \
	done

# Micro-benchmarks beside the code, then the wrk comparison (direct, Sluice,
# nginx when installed) described in docs/BENCHMARKS.md.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./http1/ ./router/ ./limiter/ ./breaker/ ./upstream/ ./filter/... ./observe/ ./engine/
	bash bench/run.sh

bench-full: build
	FULL=1 bash bench/run.sh

# gofmt, vet and staticcheck (pinned in go.mod as a tool).
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)

clean:
	rm -rf bin
