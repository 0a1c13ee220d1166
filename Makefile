# One entry point for checks; .ci/run calls `make check`, the README's test command.
GO            ?= go
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME      ?= 10s
# Fuzz targets as package:target pairs; `make fuzz FUZZTIME=10m` runs them long.
FUZZ_TARGETS  := ./internal/frame:FuzzParseHeader ./internal/frame:FuzzReader .:FuzzSession .:FuzzFrameScript \
                 ./peer:FuzzUnmarshalPublicKey ./peer:FuzzUnmarshalPrivateKey ./peer:FuzzDecodeID \
                 ./noise:FuzzDecodePayload ./noise:FuzzPublicKey ./noise:FuzzHandshake ./noise:FuzzRecordReader \
                 ./multistream:FuzzReadMessage ./multistream:FuzzNegotiate ./identify:FuzzUnmarshal

.PHONY: check fmt vet staticcheck test interop interop-libp2p fuzz bench-smoke bench example

check: fmt vet staticcheck test interop interop-libp2p fuzz bench-smoke

fmt:
	@out=$$(gofmt -s -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path '*/node_modules/*')); \
	if [ -n "$$out" ]; then echo "gofmt -s would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	cd interop && $(GO) vet ./...
	cd interop/libp2p && $(GO) vet ./...

staticcheck:
	$(GO) run $(STATICCHECK) ./...
	cd interop && $(GO) run $(STATICCHECK) ./...
	cd interop/libp2p && $(GO) run $(STATICCHECK) ./...

test:
	$(GO) test -race -shuffle=on -count=1 ./...
	# Allocation counts need sync.Pool intact, which -race is not.
	$(GO) test -count=1 -run='NoAllocs' ./noise/

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
