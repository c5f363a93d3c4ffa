"""Real Redis and PostgreSQL servers for the tests: loopback ports, throwaway data directories, stopped after."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import redis

from localserver import free_port


def _as_postgres() -> list[str]:
    """PostgreSQL refuses to run as root: as root the commands run as the `postgres` user."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian layout), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def missing() -> str:
    """Why the servers cannot run here ("" when they can); `make test` installs them as root."""
    if shutil.which("redis-server") is None:
        return "redis-server is not installed (make test installs it with apt as root)"
    if postgres_bin() is None:
        return "PostgreSQL is not installed (make test installs it with apt as root)"
    return ""


class RedisServer:
    """redis-server on 127.0.0.1 without persistence; stop() and start() again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="askoleus-redis-"))
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start and wait until it answers PING."""
        with (self.dir / "redis.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir)),
                    *("--save", "", "--appendonly", "no", "--protected-mode", "yes"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        client = redis.Redis(port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return
            except redis.exceptions.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        """Terminate it (its data is gone: no persistence)."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def close(self) -> None:
        """Stop and remove the data directory."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class PostgresServer:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (trust auth on loopback only)."""

    def __init__(self) -> None:
        bindir = postgres_bin()
        assert bindir is not None
        self.bin = bindir
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="askoleus-pg-"))
        self.data = self.dir / "data"
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        subprocess.run(
            [
                *_as_postgres(),
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
        )

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [*_as_postgres(), str(self.bin / "pg_ctl"), "-D", str(self.data), *args], check=True, capture_output=True
        )

    def start(self) -> None:
        """Start and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._ctl("-o", options, "-l", str(self.dir / "postgres.log"), "-w", "-t", "60", "start")

    def stop(self) -> None:
        """Fast shutdown (open connections are cut)."""
        if (self.data / "postmaster.pid").exists():
            self._ctl("-m", "fast", "-w", "stop")

    def close(self) -> None:
        """Stop and remove the cluster."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def reset(self) -> None:
        """An empty database: drop everything askoleus created."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(
                "DROP TABLE IF EXISTS questions, askoleus_schema,"
                " qlog_daily, qlog_latency, qlog_cited, qlog_gaps, qlog_meta CASCADE"
            )

    def count(self, sql: str = "SELECT count(*) FROM questions") -> int:
        """One number from the database."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            row = conn.execute(sql).fetchone()  # type: ignore[arg-type]
            return int(row[0]) if row else 0
