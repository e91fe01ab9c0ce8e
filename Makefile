# intake — the two commands a newcomer needs are `make run` and `make test`.
SWIFT   ?= swift
CONFIG  ?= etc/intake.toml
PREFIX  ?= /usr/local
DESTDIR ?=

.PHONY: deps build release run test bench install clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

## The daemon in the foreground, on ./var with etc/intake.toml.
run: release
	.build/release/intaked --config $(CONFIG)

## Every test; the corpus tests run when ../shared/corpus is there and say so when it is not.
test: deps
	$(SWIFT) test

## CPU per image against the TurboJPEG floor, on the corpus photos.
bench: release
	@scripts/install-deps.sh --bench
	bench/run.sh

clean:
	rm -rf .build bench/out
