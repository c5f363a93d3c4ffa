"""deploy/compose.yaml is a coherent multi-replica deployment (Docker cannot run here: its structure is checked)."""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from askoleus.config import Settings

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
REPLICAS = ("api1", "api2")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return data


def env(service: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in service["environment"].items()}


def test_the_services_of_a_replicated_deployment(compose: dict[str, Any]) -> None:
    """Two api replicas, Redis, PostgreSQL, a proxy and a one-shot build."""
    assert set(compose["services"]) == {*REPLICAS, "redis", "postgres", "proxy", "build"}
    assert compose["services"]["build"]["restart"] == "no"
    assert compose["services"]["build"]["command"][:2] == ["askoleus", "build"]


def test_replicas_share_redis_postgres_and_a_read_only_index(compose: dict[str, Any]) -> None:
    """Each replica: the shared URLs, the index volume read-only, started after the build succeeded."""
    services = compose["services"]
    build_mounts = services["build"]["volumes"]
    assert "index:/app/index" in build_mounts  # the build writes the index
    for name in REPLICAS:
        api = services[name]
        e = env(api)
        assert e["ASKOLEUS_REDIS_URL"].startswith("redis://redis:")
        assert e["ASKOLEUS_DATABASE_URL"].startswith("postgresql://")
        assert "@postgres:5432/" in e["ASKOLEUS_DATABASE_URL"]
        assert e["ASKOLEUS_ENVIRONMENT"] == "production"
        assert "index:/app/index:ro" in api["volumes"]
        assert api["depends_on"]["build"]["condition"] == "service_completed_successfully"
        assert {"redis", "postgres"} <= set(api["depends_on"])


def test_the_proxy_is_the_trusted_one(compose: dict[str, Any]) -> None:
    """Replicas believe X-Forwarded-For only from the proxy's network, and nginx sets it to the reader."""
    proxy = compose["services"]["proxy"]
    address = ipaddress.ip_address(proxy["networks"]["edge"]["ipv4_address"])
    for name in REPLICAS:
        trusted = [
            ipaddress.ip_network(n) for n in json.loads(env(compose["services"][name])["ASKOLEUS_TRUSTED_PROXIES"])
        ]
        assert any(address in net for net in trusted)
    assert [str(s["subnet"]) for s in compose["networks"]["edge"]["ipam"]["config"]] == [str(trusted[0])]
    conf = (DEPLOY / "nginx.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf
    assert all(f"server {name}:8000" in conf for name in REPLICAS)
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]
    assert compose["networks"]["backend"]["internal"] is True  # Redis and PostgreSQL are not reachable from outside
    assert all("ports" not in s for n, s in compose["services"].items() if n != "proxy")


def test_every_setting_exists_and_every_variable_is_documented(compose: dict[str, Any]) -> None:
    """ASKOLEUS_* names are real settings (a typo would be ignored silently); ${VARS} are in .env.example."""
    fields = {f"ASKOLEUS_{name.upper()}" for name in Settings.model_fields}
    used = {k for s in compose["services"].values() for k in s.get("environment", {}) if k.startswith("ASKOLEUS_")}
    assert used
    assert used <= fields, used - fields
    text = (DEPLOY / "compose.yaml").read_text()
    variables = set(re.findall(r"\$\{([A-Z_]+)", text))
    example = {line.split("=", 1)[0] for line in (DEPLOY / ".env.example").read_text().splitlines() if "=" in line}
    assert variables - {"ASKOLEUS_CORPUS"} <= example, variables - example


def test_declared_networks_and_volumes_are_the_ones_used(compose: dict[str, Any]) -> None:
    """No reference to an undeclared network or named volume."""
    networks, volumes = set(), set()
    for s in compose["services"].values():
        nets = s.get("networks", [])
        networks |= set(nets if isinstance(nets, list) else nets.keys())
        volumes |= {v.split(":")[0] for v in s.get("volumes", []) if not v.startswith((".", "$", "/"))}
    assert networks == set(compose["networks"])
    assert volumes == set(compose["volumes"])
