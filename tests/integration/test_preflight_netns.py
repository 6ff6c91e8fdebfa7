"""`sealroom preflight --check network` in a real network namespace: lo alone passes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

SEALROOM = str(Path(sys.executable).with_name("sealroom"))


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)


@pytest.fixture
def netns() -> Iterator[str]:
    """A fresh namespace holding only lo (brought up); removed with anything moved into it."""
    if os.geteuid() != 0:
        pytest.skip("needs root: `ip netns add` creates a network namespace (CI runs as root)")
    if shutil.which("ip") is None:
        pytest.skip("needs the ip command (Debian package iproute2)")
    name = f"sr-pf-{uuid.uuid4().hex[:8]}"
    made = _ip("netns", "add", name)
    if made.returncode != 0:
        pytest.skip(f"ip netns add is impossible here: {made.stderr.strip()}")
    try:
        assert _ip("netns", "exec", name, "ip", "link", "set", "lo", "up").returncode == 0
        yield name
    finally:
        _ip("netns", "del", name)


def _preflight_in(ns: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["ip", "netns", "exec", ns, SEALROOM, "preflight", "--check", "network"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def test_only_loopback_passes_then_a_veth_up_fails(netns: str) -> None:
    alone = _preflight_in(netns)
    assert alone.returncode == 0, alone.stdout + alone.stderr
    assert alone.stdout.startswith("network   PASS  only lo is present and up")

    outer, inner = f"sro{netns[-8:]}", f"sri{netns[-8:]}"
    made = _ip("link", "add", outer, "type", "veth", "peer", "name", inner)
    if made.returncode != 0:
        pytest.skip(f"cannot create a veth pair here: {made.stderr.strip()}")
    try:
        assert _ip("link", "set", inner, "netns", netns).returncode == 0
        assert _ip("netns", "exec", netns, "ip", "link", "set", inner, "up").returncode == 0
        linked = _preflight_in(netns)
        assert linked.returncode == 1, linked.stdout + linked.stderr
        assert linked.stdout.startswith("network   FAIL  network interface other than lo present")
        assert f"{inner} (up)" in linked.stdout
    finally:
        _ip("link", "del", outer)
