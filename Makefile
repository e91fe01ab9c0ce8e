# intake — the two commands a newcomer needs are `make run` and `make test`.
SWIFT   ?= swift
CONFIG  ?= etc/intake.toml
PREFIX  ?= /usr/local
DESTDIR ?=

.PHONY: deps build release run test fuzz bench bench-meter bench-labels train-digits train-dials install uninstall clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

## Release binaries with the Swift runtime linked in: they run where no toolchain is installed (as
## the systemd unit does), start faster and use about 6 MB less memory than dynamically linked ones.
## Products only: the test support library cannot be linked statically.
RELEASE = $(SWIFT) build -c release --static-swift-stdlib
release: deps
	$(RELEASE) --product intaked
	$(RELEASE) --product intake

## The daemon in the foreground, on ./var with etc/intake.toml.
run: release
	.build/release/intaked --config $(CONFIG)

## Every test; the corpus tests run when ../shared/corpus is there and say so when it is not.
test:
	@scripts/install-deps.sh --test
	$(SWIFT) test

## libFuzzer with AddressSanitizer on every parser of bytes from outside (images, EXIF, PNG, TOML,
## CSV, sidecars, the external classifier's answer), FUZZ_SECONDS per target (default 60), seeded
## from the corpus. Saved crashes go to .build/fuzz/work/artifacts/; replay one with a plain build:
## `.build/debug/intake-fuzz TARGET FILE`.
FUZZ_SECONDS ?= 60
fuzz: deps
	$(SWIFT) build -c release --product intake-fuzz --scratch-path .build/fuzz --sanitize=fuzzer --sanitize=address \
		-Xswiftc -DINTAKE_FUZZ -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp -Xcc -fsanitize=fuzzer-no-link
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

## The TurboJPEG floor, Pillow, intake process and the daemon on the same images (bench/compare.py),
## then the daemon at idle and over 10,000 files (bench/daemon.py). Pillow, pinned, lives in its own venv.
PILLOW_VERSION = 13.0.0
BENCH_VENV = bench/out/venv

bench: release bench/out/floor
	@scripts/install-deps.sh --bench
	@test -x $(BENCH_VENV)/bin/python || python3 -m venv $(BENCH_VENV)
	@$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check pillow==$(PILLOW_VERSION)
	$(BENCH_VENV)/bin/python bench/make_images.py
	python3 bench/compare.py
	python3 bench/daemon.py
	python3 bench/web.py
	python3 bench/store.py
	$(BENCH_VENV)/bin/python bench/formats.py

bench/out/floor: bench/floor.c
	@scripts/install-deps.sh --bench
	@mkdir -p bench/out
	cc -O2 -o $@ bench/floor.c -lturbojpeg -lpng

## The meter reader's accuracy: digits (validation split), dials (needle crops: tuning and report halves), demo photos.
bench-meter: release
	.build/release/intake meter evaluate --corpus $${INTAKE_CORPUS:-../shared/corpus} --profiles etc/meters

## The quality labels on degraded corpus photos: precision, recall and false alarms on the validation half.
bench-labels: deps
	$(RELEASE) --product intake-train
	.build/release/intake-train labels --corpus $${INTAKE_CORPUS:-../shared/corpus} --tune

## Trains the digit model on the corpus and writes etc/meters/digits.weights (reproducible: fixed seed and split).
train-digits: deps
	$(RELEASE) --product intake-train
	.build/release/intake-train digits --corpus $${INTAKE_CORPUS:-../shared/corpus} --out etc/meters/digits.weights

## Trains the dial model on dials the trainer renders itself and writes etc/meters/dials.weights
## (reproducible: fixed seed). The corpus's needle crops are never trained on: the run prints its
## accuracy on them, on the tuning half and on the report half.
train-dials: deps
	$(RELEASE) --product intake-train
	.build/release/intake-train dials --corpus $${INTAKE_CORPUS:-../shared/corpus} --out etc/meters/dials.weights

## Binaries, configuration and unit in their FHS places. With DESTDIR (packaging) nothing on
## this machine changes; without it, the intake user and /var/lib/intake are made too. It
## installs what `make release` built and builds nothing itself: under sudo, swift is not on
## the PATH, and a build as root would leave .build/ root's.
install:
	@test -x .build/release/intaked -a -x .build/release/intake || \
		{ echo "no release binaries: build them first as yourself with make release, then sudo make install" >&2; exit 1; }
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)/etc/intake $(DESTDIR)/etc/systemd/system $(DESTDIR)/var/lib/intake
	install -d $(DESTDIR)$(PREFIX)/share/doc/intake
	install -m 0755 .build/release/intaked .build/release/intake $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/intake/README.md
	@# Monitoring examples, for Prometheus's rule_files and Grafana's dashboard import.
	install -m 0644 etc/prometheus/intake-rules.yml etc/grafana/intake-dashboard.json $(DESTDIR)$(PREFIX)/share/doc/intake/
	@# The models go beside the configuration (profiles_dir = "meters"), replaced by each install;
	@# the profiles there are the administrator's.
	install -d $(DESTDIR)/etc/intake/meters
	install -m 0644 etc/meters/digits.weights etc/meters/dials.weights $(DESTDIR)/etc/intake/meters/
	@# An existing configuration is the administrator's: never overwritten.
	test -e $(DESTDIR)/etc/intake/intake.toml || \
		sed 's|^root = "./var" *#.*|root = "/var/lib/intake"          # state root|' etc/intake.toml > $(DESTDIR)/etc/intake/intake.toml
	sed 's|/usr/local/|$(PREFIX)/|g' systemd/intaked.service > $(DESTDIR)/etc/systemd/system/intaked.service
	@# Installed disabled: the API is for those who want it (systemctl enable --now intake-web).
	sed 's|/usr/local/|$(PREFIX)/|g' systemd/intake-web.service > $(DESTDIR)/etc/systemd/system/intake-web.service
	@if [ -z "$(DESTDIR)" ]; then \
		getent group intake >/dev/null || groupadd --system intake; \
		getent passwd intake >/dev/null || useradd --system --gid intake --home-dir /var/lib/intake --shell /usr/sbin/nologin intake; \
		chown intake:intake /var/lib/intake; \
		test -e /etc/intake/tokens || install -m 0640 -g intake /dev/null /etc/intake/tokens; \
		systemctl daemon-reload 2>/dev/null || true; \
		echo "installed; start with: systemctl enable --now intaked"; \
	fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/intaked $(DESTDIR)$(PREFIX)/bin/intake $(DESTDIR)/etc/systemd/system/intaked.service \
		$(DESTDIR)/etc/systemd/system/intake-web.service
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/intake
	@echo "left in place: /etc/intake (configuration) and /var/lib/intake (state)"

clean:
	rm -rf .build bench/out
