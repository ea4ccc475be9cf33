# mailgate: `make run` serves a development instance, `make test` runs the
# whole suite. Both install what is missing first (Debian packages, as root).
CONFIG ?= conf/mailgate.toml

.PHONY: all deps build release certs run migrate check-config test unit-test integration-test bench fuzz clean

all: build

deps:
	bash scripts/install-deps.sh

build: deps
	swift build

release: deps
	swift build -c release

certs:
	bash scripts/dev-cert.sh certs

# Starts a private PostgreSQL under .data/ when the config names no database,
# creates a development certificate when none exists, migrates and serves.
run: release certs
	bash scripts/run-dev.sh $(CONFIG)

check-config: build
	.build/debug/mailgate check-config --config $(CONFIG)

# A throwaway PostgreSQL for the suite; unit tests, then the integration
# tests driving the built binary with real clients.
test: deps
	bash scripts/test.sh

bench: release
	@ls bench/*/run 2>/dev/null | while read b; do bash "$$b"; done

# Coverage-guided fuzzing of the parsers (libFuzzer with AddressSanitizer), FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 300
fuzz: deps
	bash scripts/fuzz.sh imap $(FUZZ_SECONDS)
	bash scripts/fuzz.sh smtp $(FUZZ_SECONDS)
	bash scripts/fuzz.sh mail $(FUZZ_SECONDS)
	bash scripts/fuzz.sh http $(FUZZ_SECONDS)

clean:
	rm -rf .build
