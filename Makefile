# drkit developer entry points. Every target installs what it needs first (into .venv), so on a fresh
# machine `make run` and `make test` are all it takes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup system run validate drill lab test lint docs bench clean

setup: system $(STAMP)

# The lab's Debian packages: etcd 3.4.23, HAProxy, rsync; iproute2 and iptables for its namespaces network
# mode (partitions, fences); prometheus for promtool, which tests the alert rules. Installed when missing and
# we are root; otherwise the command to run is printed (the lab's own check names what is missing, too).
SYSTEM_PACKAGES := etcd-server etcd-client haproxy rsync iproute2 iptables prometheus
system:
	@missing=""; for tool in /usr/bin/etcd /usr/bin/etcdctl /usr/sbin/haproxy /usr/bin/rsync /usr/sbin/ip /usr/sbin/iptables /usr/bin/promtool; do \
	  [ -x $$tool ] || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null; \
	  else \
	    echo "missing:$$missing; run: sudo apt-get install $(SYSTEM_PACKAGES)"; exit 1; \
	  fi; \
	fi

# Reinstall when the pinned dependencies change.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

# The main job on the built-in local default: validate every stack, then two real drills on the lab from
# stacks/Pulumi.local.yaml: restore (back up under load, wipe the primary, restore) and region (the primary's
# members SIGKILLed, the standby promoted, the old primary failed back), each printing its RTO and RPO against
# the spec's objectives; then one table of both with where their reports are, and the lab taken down (its
# data is kept in .drkit/sandbox/local). Exit 1 when either drill missed an objective, as they do.
run: validate drill

drill: setup
	@since=$$(date -u +%Y-%m-%dT%H:%M:%SZ); status=0; \
	$(BIN)/drkit drill restore || status=$$?; \
	$(BIN)/drkit drill region || status=$$?; \
	echo; $(BIN)/drkit drill report --since $$since || status=$$?; \
	$(BIN)/drkit sandbox down; exit $$status

lab: setup
	$(BIN)/drkit sandbox up
	$(BIN)/drkit sandbox status
	$(BIN)/drkit sandbox down

validate: setup
	$(BIN)/drkit validate

test: setup
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check src tests policies benchmarks playbooks
	$(BIN)/ruff format --check src tests policies benchmarks playbooks
	$(BIN)/mypy
	# --offline: no version check or schema download (network only to loopback).
	cd playbooks && ../$(BIN)/ansible-lint --offline --profile production --strict
	# Generated docs and both requirements.txt (Pulumi's pip toolchain installs them) match their sources.
	$(BIN)/python -m drkit.docgen --check

docs: setup
	$(BIN)/python -m drkit.docgen

bench: setup
	$(BIN)/python benchmarks/validate_stacks.py
	$(BIN)/python benchmarks/sandbox_lab.py
	$(BIN)/python benchmarks/backup_restore.py
	$(BIN)/python benchmarks/plan_stacks.py
	$(BIN)/python benchmarks/rolling_upgrade.py
	$(BIN)/python benchmarks/failover.py
	$(BIN)/python benchmarks/auto_promotion.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
