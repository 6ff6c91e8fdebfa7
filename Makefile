# Sealroom: every set-up step lives here, so a fresh Debian 12 machine needs only `make demo` or `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := python3 python3-venv python3-dev gcc softhsm2 libzbar0 poppler-utils openssl opensc tmux cups cups-client printer-driver-cups-pdf \
  mtools dosfstools iproute2
# Commands (or libraries) whose presence tells us the apt packages are installed.
NEEDED := softhsm2-util pdftotext pdftoppm openssl pkcs11-tool tmux gcc lp lpstat mformat mcopy ip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEMO_DIR := .demo
SCRIPT ?= ceremony_scripts/root-key-generation.yaml

.PHONY: help setup system-deps demo test lint typecheck contracts pytest bench clean printouts image image-test image-deps

help:
	@echo "make demo   - install what is missing, make a throwaway SoftHSM2 token, start the TUI (rehearsal)"
	@echo "make test   - the whole gate: format, lint, types, import contracts, tests"
	@echo "make bench  - benchmarks (ratios measured side by side)"
	@echo "make image  - build the verified live appliance ISOs into image/out/ (root; see image/README.md)"
	@echo "make image-test - boot them under qemu (TCG) and check the in-image self-test (builds first if needed)"

system-deps:
	@missing=""; for c in $(NEEDED); do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	[ -e /usr/lib/softhsm/libsofthsm2.so ] || missing="$$missing libsofthsm2"; \
	[ -x /usr/sbin/cupsd ] || missing="$$missing cupsd"; \
	[ -e /usr/lib/cups/backend/cups-pdf ] || missing="$$missing cups-pdf"; \
	[ -x /usr/sbin/mkfs.vfat ] || missing="$$missing dosfstools"; \
	ldconfig -p 2>/dev/null | grep -q libzbar.so.0 || missing="$$missing libzbar0"; \
	$(PYTHON) -c 'import ensurepip, venv' >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing system packages (missing:$$missing)"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(APT_PACKAGES); \
	fi

$(VENV)/.installed: pyproject.toml | system-deps
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

setup: system-deps $(VENV)/.installed

# Each demo run gets its own folder (and so a fresh throwaway token); earlier runs are kept.
# Choose the folder with `make demo OUT=.demo/mine`.
OUT ?= $(DEMO_DIR)/run-$(shell date -u +%Y%m%d-%H%M%S)
demo: setup
	$(BIN)/sealroom run $(SCRIPT) --rehearsal --out $(OUT)

lint: setup
	$(BIN)/ruff format --check app tests benchmarks
	$(BIN)/ruff check app tests benchmarks

typecheck: setup
	$(BIN)/mypy --strict app/sealroom

contracts: setup
	$(BIN)/lint-imports

pytest: setup
	$(BIN)/pytest -q -p no:cacheprovider

test: lint typecheck contracts pytest

bench: setup
	$(BIN)/python -m benchmarks.run

# Sample documents with PNG previews, from real rehearsals; committed (see printouts/README.md).
printouts: setup
	$(BIN)/python tools/printouts.py --out printouts

clean:
	rm -rf $(VENV) $(DEMO_DIR) out .mypy_cache .ruff_cache .pytest_cache

# ---------------------------------------------------------------------------------------- appliance image
# Tools for building and boot-testing the image; installed only by these targets (see image/README.md).
IMAGE_APT_PACKAGES := mmdebstrap squashfs-tools cryptsetup-bin xorriso mtools dosfstools grub-pc-bin \
  grub-efi-amd64-bin systemd-boot-efi binutils sbsigntool openssl ovmf qemu-system-x86 qemu-utils git
IMAGE_NEEDED := mmdebstrap mksquashfs veritysetup xorriso mformat mkfs.vfat grub-mkimage objcopy sbsign \
  qemu-system-x86_64 git
UPDATE_LOCK ?= 0

image-deps:
	@missing=""; for c in $(IMAGE_NEEDED); do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	[ -e /usr/lib/systemd/boot/efi/linuxx64.efi.stub ] || missing="$$missing systemd-boot-efi"; \
	[ -e /usr/lib/grub/i386-pc/boot_hybrid.img ] || missing="$$missing grub-pc-bin"; \
	[ -e /usr/lib/grub/x86_64-efi/linux.mod ] || missing="$$missing grub-efi-amd64-bin"; \
	[ -e /usr/share/OVMF/OVMF_CODE_4M.snakeoil.fd ] || missing="$$missing ovmf"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing image build tools (missing:$$missing)"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(IMAGE_APT_PACKAGES); \
	fi

# SB_KEY/SB_CERT/SB_PASS (optional): sign the UKI with the CA's own Secure Boot db key.
image: image-deps setup
	$(SUDO) env UPDATE_LOCK=$(UPDATE_LOCK) $(if $(SB_KEY),SB_KEY=$(SB_KEY)) $(if $(SB_CERT),SB_CERT=$(SB_CERT)) \
	  $(if $(SB_PASS),SB_PASS=$(SB_PASS)) image/build.sh

# Builds the image first when image/out has none; `make image image-test` rebuilds it.
image-test: image-deps
	@[ -f image/out/sealroom.iso ] && [ -f image/out/sealroom-sb.iso ] || $(MAKE) image
	$(SUDO) $(PYTHON) image/boottest.py
