# Sluice: the two set-up commands are `make run` and `make test`.
GO       ?= go
BIN      := bin/sluice
PKGS     := ./...
# Modules nested in this repository, each with its own go.mod so that what
# only the benchmarks need (goja, gonum/plot) stays out of the gateway's
# go.mod. `make test` vets, lints and tests them like the main module.
# tools/ pins toxiproxy's server (engine's fault tests) and staticcheck,
# which run as `go tool -n`; its one test, promcheck, parses the built
# gateway's /metrics with the Prometheus text parser that module already
# has (prometheus/common, through toxiproxy).
MODS     := bench tools
# A count, not a duration: with a duration, Go's fuzz coordinator can fail a
# clean run with "context deadline exceeded" as the time runs out
# (golang/go#75804, fixed in Go 1.27). 300000 inputs is 3-10 s a target here.
FUZZTIME ?= 300000x
# What `sluice -version` prints: the nearest tag and commit, or "devel"
# outside a git checkout.
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)

.PHONY: build run test test-short vet fuzz bench bench-full bench-go lint clean

build:
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/sluice

# Runs the embedded quickstart: the gateway on 127.0.0.1:8080 in front of two
# built-in demo upstreams. Try: curl localhost:8080/api/users/42
run: build
	./$(BIN)

# vet + staticcheck, unit and end-to-end tests (real sockets, 127.0.0.1 only)
# with -race, of the main module and of $(MODS), and a short bounded run of
# every fuzz target.
test: build vet
	$(GO) test -race -count=1 -timeout 10m $(PKGS)
	@for m in $(MODS); do echo "go test -race ./... (in $$m/)"; (cd $$m && $(GO) test -race -count=1 -timeout 10m ./...) || exit 1; done
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME)

test-short:
	$(GO) test -count=1 -short $(PKGS)
	@for m in $(MODS); do (cd $$m && $(GO) test -count=1 -short ./...) || exit 1; done

# go vet and staticcheck (pinned in tools/go.mod) over every module.
vet:
	$(GO) vet $(PKGS)
	@for m in $(MODS); do echo "go vet ./... (in $$m/)"; (cd $$m && $(GO) vet ./...) || exit 1; done
	@sc=$$(cd tools && $(GO) tool -n staticcheck) || exit 1; \
	echo "staticcheck $(PKGS)"; $$sc $(PKGS) || exit 1; \
	for m in $(MODS); do echo "staticcheck ./... (in $$m/)"; (cd $$m && $$sc ./...) || exit 1; done

# Each fuzz target for FUZZTIME (go test -fuzz takes one target at a time).
fuzz:
	@for t in http1:FuzzParseRequest http1:FuzzChunked http1:FuzzParseResponse http1:FuzzCookie http1:FuzzNextWeighted router:FuzzNormalize router:FuzzMatch observe:FuzzAppendJSONEscaped filter/validate:FuzzDecodeJSON; do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$pkg $$fn $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) -timeout 0 ./$$pkg/ || exit 1; \
	done

# The wrk comparison (direct, Sluice, nginx and HAProxy when installed) of
# bench/README.md, quick mode: 6 scenarios x 3 rounds x 2 s and the 10k idle
# connections and the -loops 1/2 scaling row, about 4 min. Prints the table and writes a latency plot.
bench: build
	bash bench/run.sh

# Every scenario (64k, POST, keys, JWT variants, scale with -loops 2, sluice
# with metrics + access log), 5 rounds x 10 s, after the micro-benchmarks.
bench-full: build bench-go
	FULL=1 bash bench/run.sh

# Micro-benchmarks beside the code (allocations per op reported).
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./http1/ ./router/ ./limiter/ ./breaker/ ./upstream/ ./filter/... ./observe/ ./engine/

# gofmt, then vet and staticcheck over every module.
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(MAKE) --no-print-directory vet

clean:
	rm -rf bin
