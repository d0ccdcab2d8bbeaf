"""The malloc arena cap (mlguard.collect.arenas): applied once per process on glibc, never over a
MALLOC_ARENA_MAX the user set, and inherited by what the process forks."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

CODE = "from mlguard.collect import arenas; print(arenas.limit(), arenas.limit())"


def _run(env: dict[str, str]) -> str:
    return subprocess.run(
        [sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")
def test_the_cap_is_applied_once_on_glibc() -> None:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    assert _run(env) == "True True"


def test_a_users_malloc_arena_max_is_left_alone() -> None:
    assert _run({**os.environ, "MALLOC_ARENA_MAX": "8"}) == "False False"
