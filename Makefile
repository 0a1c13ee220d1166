# One entry point for checks; .ci/run calls `make check`, the README's test command.
GO            ?= go
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# A count, not a duration: Go 1.26's fuzz coordinator can fail a target
# with a bare "context deadline exceeded" as a -fuzztime duration expires
# (golang/go#75804, fixed in Go 1.27); an execution count has no deadline.
FUZZTIME      ?= 50000x
# Fuzz targets as package:target pairs; `make fuzz FUZZTIME=10000000x` runs them long.
FUZZ_TARGETS  := ./internal/frame:FuzzParseHeader ./internal/frame:FuzzReader .:FuzzSession .:FuzzFrameScript \
                 ./peer:FuzzUnmarshalPublicKey ./peer:FuzzUnmarshalPrivateKey ./peer:FuzzDecodeID \
                 ./noise:FuzzDecodePayload ./noise:FuzzPublicKey ./noise:FuzzHandshake ./noise:FuzzRecordReader \
                 ./multistream:FuzzReadMessage ./multistream:FuzzNegotiate ./identify:FuzzUnmarshal

.PHONY: check fmt vet staticcheck test test-p2pmux interop interop-libp2p fuzz bench-smoke bench example muxbench-check muxbench muxbench-full

check: fmt vet staticcheck test interop interop-libp2p fuzz bench-smoke muxbench-check

fmt:
	@out=$$(gofmt -s -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path '*/node_modules/*')); \
	if [ -n "$$out" ]; then echo "gofmt -s would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	cd interop && $(GO) vet ./...
	cd p2pmux && $(GO) vet ./...
	cd interop/libp2p && $(GO) vet ./...

staticcheck:
	$(GO) run $(STATICCHECK) ./...
	cd interop && $(GO) run $(STATICCHECK) ./...
	cd p2pmux && $(GO) run $(STATICCHECK) ./...
	cd interop/libp2p && $(GO) run $(STATICCHECK) ./...

test: test-p2pmux
	$(GO) test -race -shuffle=on -count=1 ./...
	# Allocation counts need sync.Pool intact, which -race is not.
	$(GO) test -count=1 -run='NoAllocs' ./noise/
	$(GO) test -count=1 -run='SteadyStateAllocs|Allocs' .

# The go-libp2p adapter is its own module (go-libp2p stays out of the root
# go.mod): go-libp2p's muxer testsuite and host-to-host interop, under -race.
test-p2pmux:
	cd p2pmux && $(GO) test -race -shuffle=on -count=1 ./...

# Interop with real peers: hashicorp/yamux, go-yamux (Go, in-process) and
# @chainsafe/libp2p-yamux, yamux-js (Node, from interop/js/package-lock.json).
interop:
	cd interop/js && npm ci --no-audit --no-fund --loglevel=error
	cd interop && $(GO) test -short -count=1 ./...

# The libp2p stack against real libp2p nodes: go-libp2p v0.52.0 (in-process)
# and js-libp2p 3.x (Node, from interop/libp2p/js/package-lock.json).
interop-libp2p:
	cd interop/libp2p/js && npm ci --no-audit --no-fund --loglevel=error
	cd interop/libp2p && $(GO) test -count=1 ./...

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$name ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

# Benchmarks compile and run briefly in CI; `make bench` runs them for real.
bench-smoke:
	$(GO) test -run='^$$' -bench=. -benchtime=100ms ./...

bench:
	$(GO) test -run='^$$' -bench=. -benchtime=2s -count=5 ./...

example:
	$(GO) run ./examples/loopback

# The comparison harness (bench/, its own module so the peers stay out of the
# library's go.mod): vet, staticcheck, and its smoke test, which runs every
# scenario for every contender at minimal sizes (a few seconds).
muxbench-check:
	cd bench && $(GO) vet ./...
	cd bench && $(GO) run $(STATICCHECK) ./...
	cd bench && $(GO) test -race -count=1 ./...

# Side-by-side measurements; results in bench/out/ (see BENCHMARKS.md).
muxbench:
	cd bench && $(GO) run . -mode quick

muxbench-full:
	cd bench && $(GO) run . -mode full
