"""docker-compose.yml is for users (no Docker engine here): validate it as far as the client goes."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tests.conftest import REPO


def test_compose_file_validates_with_the_docker_client():
    client = shutil.which("docker-compose")
    if client is None:
        pytest.skip("docker-compose client not installed (scripts/install-test-deps.sh installs it)")
    result = subprocess.run(
        [client, "--env-file", str(REPO / ".env.example"), "-f", str(REPO / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr


def test_compose_stack_shape():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"elasticsearch", "kibana", "postgres", "scheduler", "api", "wagewatch-init"} <= set(services)
    es_env = "\n".join(services["elasticsearch"]["environment"])
    assert "xpack.security.enabled=true" in es_env and "${ELASTIC_PASSWORD" in es_env
    assert "kibana_system" in "\n".join(services["kibana"]["environment"])
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown service {dependency}"
    example = (REPO / ".env.example").read_text(encoding="utf-8")
    for variable in ("ELASTIC_PASSWORD", "KIBANA_PASSWORD", "POSTGRES_PASSWORD"):
        assert f"{variable}=" in example
