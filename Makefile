# loupe's build. `make help` lists the targets.
SHELL := /bin/bash
# Debian's golang-go in bookworm is 1.19, too old: use the Go in /usr/local/go.
export PATH := /usr/local/go/bin:$(PATH)
export GOFLAGS ?= -buildvcs=false

BIN := $(CURDIR)/bin
GO_TEST_FLAGS ?= -count=1 -timeout 60m

.PHONY: help deps build test test-short test-sbuild test-debusine fuzz demo demo-trace bench generate vet fmt deb clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

deps: ## install the Debian packages and Go modules the build and tests need
	scripts/install-deps base

# Static, as debian/rules builds it: a dynamically linked loupe makes each of
# the helper processes it starts per run pay ld.so's start-up (bench/README.md).
build: ## build bin/loupe and bin/dh_loupe
	CGO_ENABLED=0 go build -o $(BIN)/ ./cmd/...

vet: ## gofmt and go vet
	@bad=$$(gofmt -l $$(git ls-files '*.go' ':!vendor' 2>/dev/null || find . -name '*.go' -not -path './vendor/*')); \
	  if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	go vet ./...

test: deps build vet ## run all tests (real ptrace, real debhelper builds)
	scripts/install-deps browser
	LOUPE_BIN=$(BIN) go test $(GO_TEST_FLAGS) ./...

test-short: build ## the fast tests only (no package builds)
	LOUPE_BIN=$(BIN) go test -short -count=1 ./...

test-sbuild: build deb ## build testdata packages with sbuild in unshare mode: bookworm, trixie, unstable (slow)
	scripts/install-deps sbuild
	scripts/sbuild-chroot bookworm
	scripts/sbuild-chroot trixie
	scripts/sbuild-chroot unstable-if-available
	LOUPE_BIN=$(BIN) LOUPE_SBUILD=1 LOUPE_DEB=$(CURDIR)/$$(ls dist/dh-loupe_*_amd64.deb) \
	  go test -count=1 -timeout 60m -run 'Sbuild' -v ./debhelper/...

test-debusine: build deb ## rebuild testdata packages on a local debusine (scripts/debusine-local; slow)
	scripts/debusine-local up
	deb=$(CURDIR)/$$(ls dist/dh-loupe_*_amd64.deb); \
	  trace=$$(scripts/debusine-local env trace $$deb) && analyze=$$(scripts/debusine-local env analyze $$deb) && \
	  LOUPE_BIN=$(BIN) LOUPE_DEBUSINE=1 LOUPE_DEBUSINE_CONFIG=$${LOUPE_DEBUSINE_STATE:-/var/lib/loupe-debusine}/client.ini \
	  LOUPE_DEBUSINE_ENV_TRACE=$$trace LOUPE_DEBUSINE_ENV_ANALYZE=$$analyze \
	  go test -count=1 -timeout 90m -run 'Debusine' -v ./debhelper/rebuild/

fuzz: ## run every fuzzer for FUZZTIME each (default 30s); commit crashers from testdata/fuzz/
	scripts/fuzz

demo: deps build ## analyse the example package (loupe=analyze), plan for a bundled OS, write a report into demo-out/
	scripts/demo-dh $(BIN)

demo-trace: deps build ## loupe trace on a small example, without Debian packaging
	testdata/demo/run-demo $(BIN)

bench: build ## benchmarks: tracing cost (loupe vs native vs strace -f) and analysis cost (runs vs upstream), as ratios
	scripts/install-deps bench
	bench/run $(BIN)
	bench/analyze $(BIN)
	bench/counts/run $(BIN)

generate: ## regenerate the syscall and sub-feature tables (kernel headers) and the priors (data/loupedb)
	go generate ./...

deb: ## build the loupe and dh-loupe packages into dist/ (dpkg-buildpackage -b in a copy of the tree, offline)
	scripts/build-deb dist

clean: ## remove build outputs
	rm -rf $(BIN) dist demo-out
