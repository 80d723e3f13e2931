"""A real PostgreSQL server for the shared journal, and two "machines" on it: separate data
dirs, separate database roles (ana and ben), one sandbox they both cancel against."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres_cluster import PostgresCluster

from tui.sandbox import SandboxConfig, SandboxServer, control

from .machines import Machine

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def cluster() -> Iterator[PostgresCluster]:
    server = PostgresCluster().start()
    server.execute(
        "CREATE ROLE stopline_owner LOGIN",
        "CREATE ROLE stopline_operators NOLOGIN",
        "CREATE ROLE ana LOGIN IN ROLE stopline_operators",
        "CREATE ROLE ben LOGIN IN ROLE stopline_operators",
        "CREATE ROLE mallory LOGIN",  # not an operator: no privilege at all
    )
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def database(cluster: PostgresCluster) -> str:
    """A fresh database owned by the owner role, its schema migrated by the owner."""
    name = f"floor_{os.getpid()}_{next(_databases)}"
    cluster.execute(f"CREATE DATABASE {name} OWNER stopline_owner")
    return name


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(pattern_cancel_delay_s=0.5)) as server:
        yield server


@pytest.fixture
def root_url(sandbox: SandboxServer) -> Iterator[str]:
    control.reset(sandbox.root_url)
    control.clear_faults(sandbox.root_url)
    control.forget_calls(sandbox.root_url)
    yield sandbox.root_url
    control.clear_faults(sandbox.root_url)


def _machine(
    name: str, role: str, tmp: Path, cluster: PostgresCluster, database: str, sandbox: SandboxServer
) -> Machine:
    home = tmp / name
    home.mkdir()
    config = home / "config.toml"
    config.write_text("")
    config.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOPLINE_")}
    env.update(
        {
            "STOPLINE_CONFIG": str(config),
            "STOPLINE_DATA_DIR": str(home / "data"),
            "STOPLINE_LOG_DIR": str(home / "log"),
            "STOPLINE_OPERATOR": name.capitalize(),
            "STOPLINE_JOURNAL_URL": cluster.url(role, database),
            **sandbox.settings_env(),
        }
    )
    return Machine(name=name, role=role, home=home, env=env, root_url=sandbox.root_url)


@pytest.fixture
def owner(
    tmp_path: Path, cluster: PostgresCluster, database: str, sandbox: SandboxServer, root_url: str
) -> Machine:
    return _machine("owner", "stopline_owner", tmp_path, cluster, database, sandbox)


@pytest.fixture
def machine_a(
    owner: Machine, tmp_path: Path, cluster: PostgresCluster, database: str, sandbox: SandboxServer
) -> Machine:
    migrated = owner.run("journal", "migrate")
    assert migrated.returncode == 0, migrated.stderr
    return _machine("ana", "ana", tmp_path, cluster, database, sandbox)


@pytest.fixture
def machine_b(
    machine_a: Machine,
    tmp_path: Path,
    cluster: PostgresCluster,
    database: str,
    sandbox: SandboxServer,
) -> Machine:
    return _machine("ben", "ben", tmp_path, cluster, database, sandbox)
