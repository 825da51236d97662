"""compose.yaml wires Grafana and Prometheus to what deploy/ ships: no Docker engine needed to check that.

Grafana reads its data sources and dashboards from mounted files and signs in
to PostgreSQL as the read-only role that `grafana-db-role` makes; a name or a
path out of step anywhere leaves an empty Grafana, so each link is checked.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy/grafana"


def _yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), path
    return data


def _services() -> dict[str, Any]:
    services: dict[str, Any] = _yaml(ROOT / "compose.yaml")["services"]
    return services


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> host path (relative to the repository) of a service's bind mounts."""
    out: dict[str, str] = {}
    for volume in service.get("volumes", []):
        host, container, *_ = volume.split(":")
        if host.startswith("./"):
            out[container] = host[2:]
    return out


def _datasources() -> dict[str, dict[str, Any]]:
    provisioning = _yaml(GRAFANA / "provisioning/datasources/maskwatch.yaml")
    return {d["uid"]: d for d in provisioning["datasources"]}


def _required_secret(value: str, name: str) -> None:
    """A secret compose refuses to start without: `${NAME:?...}`, never a default anyone knows."""
    assert re.fullmatch(r"\$\{" + name + r":\?[^}]+\}", value), value


def test_grafana_mounts_its_provisioning_and_dashboards():
    grafana = _services()["grafana"]
    mounts = _mounts(grafana)
    assert mounts["/etc/grafana/provisioning"] == "deploy/grafana/provisioning"
    providers = _yaml(GRAFANA / "provisioning/dashboards/maskwatch.yaml")["providers"]
    (provider,) = providers
    dashboards = mounts[provider["options"]["path"]]
    assert (ROOT / dashboards).is_dir()
    assert sorted(p.name for p in (ROOT / dashboards).glob("*.json")) == [
        "maskwatch-figures.json",
        "maskwatch-operations.json",
    ]
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    folder, _, name = home.rpartition("/")
    assert (ROOT / mounts[folder] / name).is_file()


def test_every_panel_reads_a_provisioned_data_source():
    sources = {(uid, d["type"]) for uid, d in _datasources().items()}
    for path in (GRAFANA / "dashboards").glob("*.json"):
        dashboard = json.loads(path.read_text())
        used = [v["datasource"] for v in dashboard["templating"]["list"]]
        for panel in dashboard["panels"]:
            assert panel["targets"], (path.name, panel["title"])
            used += [panel["datasource"], *(t["datasource"] for t in panel["targets"])]
        assert {(d["uid"], d["type"]) for d in used} <= sources, path.name


def test_grafana_signs_in_to_postgres_as_the_read_only_role_made_after_each_migration():
    services = _services()
    postgres = _datasources()["maskwatch-postgres"]
    assert postgres["type"] == "grafana-postgresql-datasource"
    # Grafana 11/12: the database under jsonData and the password under secureJsonData, never in the open.
    assert "database" not in postgres
    assert "password" not in postgres
    assert postgres["jsonData"]["database"] == services["postgres"]["environment"]["POSTGRES_DB"]
    assert postgres["url"] == "postgres:5432"
    assert postgres["secureJsonData"]["password"] == "${GRAFANA_DB_PASSWORD}"

    role = services["grafana-db-role"]
    command = " ".join(role["command"])
    assert f"-v role={postgres['user']} " in command
    assert '-v password="$$GRAFANA_DB_PASSWORD"' in command
    script = _mounts(role)[command.rsplit("-f ", 1)[1].split()[0]]
    assert script == "deploy/postgres/grafana-role.sql"
    assert role["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert role["restart"] == "no"
    assert role["environment"]["PGUSER"] == services["postgres"]["environment"]["POSTGRES_USER"]

    grafana = services["grafana"]
    assert grafana["depends_on"]["grafana-db-role"] == {"condition": "service_completed_successfully"}
    for environment in (grafana["environment"], role["environment"]):
        _required_secret(environment["GRAFANA_DB_PASSWORD"], "GRAFANA_DB_PASSWORD")
    _required_secret(grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"], "GRAFANA_ADMIN_PASSWORD")
    env_example = (ROOT / ".env.example").read_text()
    assert "GRAFANA_DB_PASSWORD=\n" in env_example
    assert "GRAFANA_ADMIN_PASSWORD=\n" in env_example


def test_grafana_and_prometheus_listen_on_this_host_only():
    services = _services()
    assert services["grafana"]["ports"] == ["127.0.0.1:3000:3000"]
    assert services["prometheus"]["ports"] == ["127.0.0.1:9090:9090"]
    assert services["grafana"]["environment"]["GF_AUTH_ANONYMOUS_ENABLED"] == "false"


def test_prometheus_reads_the_shipped_configuration_and_grafana_finds_it():
    services = _services()
    prometheus = services["prometheus"]
    config = next(a.split("=", 1)[1] for a in prometheus["command"] if a.startswith("--config.file="))
    assert _mounts(prometheus)[config] == "deploy/prometheus/prometheus.yml"
    assert _datasources()["maskwatch-prometheus"]["url"] == "http://prometheus:9090"
