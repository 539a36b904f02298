"""The daemon's native libraries work under MemoryDenyWriteExecute=yes (the unit sets it).

A child Python runs under the same seccomp rule systemd installs for it (see
memory_deny_write_execute.py beside this file), proves the rule holds (a writable and
executable mapping is refused), then loads and uses what `mmd start` loads: numpy with its
BLAS, cryptography's RSA-PSS signing, OpenSSL's TLS context, libyaml, SQLite, aiohttp.
A library that needs writable executable memory (a JIT) would fail here before it fails a
real deployment.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNDER_THE_RULE = Path(__file__).with_name("memory_deny_write_execute.py")

WORKLOAD = r"""
import mmap
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    print("writable executable memory allowed")
except PermissionError:
    print("writable executable memory refused")

import sqlite3, ssl
import numpy as np
import yaml
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
import mmd.cli, mmd.runner, mmd.app, simex, aiohttp, websocket, requests

matrix = np.random.default_rng(7).random((300, 300)) + 300 * np.eye(300)
assert np.allclose(matrix @ np.linalg.inv(matrix), np.eye(300))
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
key.public_key().verify(key.sign(b"GET/trade-api/v2", pss, hashes.SHA256()), b"GET/trade-api/v2", pss, hashes.SHA256())
ssl.create_default_context()
assert yaml.load("a: 1", Loader=yaml.CSafeLoader) == {"a": 1}
sqlite3.connect(":memory:").execute("create table t (x)")
print("daemon libraries work")
"""


def test_daemon_libraries_work_where_writable_executable_memory_is_refused():
    result = subprocess.run(
        [sys.executable, str(UNDER_THE_RULE), sys.executable, "-c", WORKLOAD],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["writable executable memory refused", "daemon libraries work"]
