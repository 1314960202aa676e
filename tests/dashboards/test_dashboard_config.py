"""Prometheus config, rules, Grafana provisioning and compose.yaml agree with each other."""

from __future__ import annotations

import subprocess
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from dashboard_model import DASHBOARDS

PROVISIONING = DASHBOARDS / "grafana" / "provisioning"


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load(DASHBOARDS / "compose.yaml")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def prometheus_config() -> dict[str, Any]:
    return load(DASHBOARDS / "prometheus.yml")  # type: ignore[no-any-return]


def mounts(service: dict[str, Any]) -> dict[PurePosixPath, Path]:
    """Container path -> host path for a service's bind mounts (named volumes left out)."""
    result = {}
    for volume in service["volumes"]:
        source, target, *_ = volume.split(":")
        if source.startswith("."):
            result[PurePosixPath(target)] = (DASHBOARDS / source).resolve()
    return result


def host_path(service: dict[str, Any], container_path: str) -> Path:
    """The host file that a service sees at ``container_path``, through its bind mounts."""
    path = PurePosixPath(container_path)
    for target, source in mounts(service).items():
        if path == target or target in path.parents:
            return source / path.relative_to(target)
    raise AssertionError(f"{container_path} is not mounted from dashboards/")


def flag(service: dict[str, Any], name: str) -> str:
    values = [arg.split("=", 1)[1] for arg in service["command"] if arg.startswith(f"--{name}=")]
    assert len(values) == 1, f"--{name} not set exactly once"
    return values[0]


@pytest.mark.needs_prometheus
def test_promtool_check_config(promtool: str) -> None:
    """`promtool check config` accepts prometheus.yml and the rule files it names."""
    result = run([promtool, "check", "config", str(DASHBOARDS / "prometheus.yml")])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.needs_prometheus
def test_promtool_rule_unit_tests(promtool: str) -> None:
    """The recording and alerting rules pass their promtool unit tests."""
    rules = DASHBOARDS / "rules"
    check = run([promtool, "check", "rules", str(rules / "loopwatch.rules.yml")])
    assert check.returncode == 0, check.stdout + check.stderr
    result = run([promtool, "test", "rules", str(rules / "loopwatch.rules.test.yml")])
    assert result.returncode == 0, result.stdout + result.stderr


def test_scrape_job_reads_the_loopwatch_endpoint(prometheus_config: dict[str, Any]) -> None:
    """The scrape job reads /loopwatch/metrics, the URL loopwatch.urls serves."""
    (job,) = prometheus_config["scrape_configs"]
    assert job["metrics_path"] == "/loopwatch/metrics"
    assert job["static_configs"][0]["targets"]


def test_compose_prometheus_sees_the_shipped_config_and_rules(
    compose: dict[str, Any], prometheus_config: dict[str, Any]
) -> None:
    """The Prometheus container reads prometheus.yml and every rule file it names."""
    service = compose["services"]["prometheus"]
    config_in_container = flag(service, "config.file")
    assert host_path(service, config_in_container) == DASHBOARDS / "prometheus.yml"
    config_dir = PurePosixPath(config_in_container).parent
    for rule_file in prometheus_config["rule_files"]:
        assert host_path(service, str(config_dir / rule_file)).is_file(), rule_file


def test_every_bind_mount_source_exists(compose: dict[str, Any]) -> None:
    """Every file or folder compose.yaml mounts from dashboards/ exists."""
    for name, service in compose["services"].items():
        for source in mounts(service).values():
            assert source.exists(), f"{name}: {source}"


def test_grafana_datasource_points_at_compose_prometheus(compose: dict[str, Any]) -> None:
    """The provisioned data source has a fixed uid and the URL Prometheus listens on."""
    (datasource,) = load(PROVISIONING / "datasources" / "loopwatch.yml")["datasources"]
    assert datasource["type"] == "prometheus"
    assert datasource["uid"]
    assert len(datasource["uid"]) <= 40
    listen = flag(compose["services"]["prometheus"], "web.listen-address")
    assert urlsplit(datasource["url"]).netloc == listen
    # Both containers share the host network, so the address means the same to both.
    assert compose["services"]["prometheus"]["network_mode"] == "host"
    assert compose["services"]["grafana"]["network_mode"] == "host"


def test_rate_interval_matches_the_scrape_interval(prometheus_config: dict[str, Any]) -> None:
    """Grafana's timeInterval equals the scrape interval, so $__rate_interval spans 4 scrapes."""
    (datasource,) = load(PROVISIONING / "datasources" / "loopwatch.yml")["datasources"]
    assert datasource["jsonData"]["timeInterval"] == prometheus_config["global"]["scrape_interval"]


def test_grafana_loads_the_dashboard_from_the_provider_path(compose: dict[str, Any]) -> None:
    """The dashboard provider's folder holds loopwatch.json inside the Grafana container."""
    service = compose["services"]["grafana"]
    assert host_path(service, "/etc/grafana/provisioning") == PROVISIONING
    (provider,) = load(PROVISIONING / "dashboards" / "loopwatch.yml")["providers"]
    assert provider["type"] == "file"
    folder = PurePosixPath(provider["options"]["path"])
    in_folder = {source for target, source in mounts(service).items() if folder in target.parents}
    assert in_folder == {DASHBOARDS / "loopwatch.json"}
    home = service["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert host_path(service, home) == DASHBOARDS / "loopwatch.json"


def test_provisioned_datasource_matches_the_dashboard_variable(dashboard: dict[str, Any]) -> None:
    """The dashboard's datasource variable lists the provisioned data source's type."""
    (datasource,) = load(PROVISIONING / "datasources" / "loopwatch.yml")["datasources"]
    (variable,) = [v for v in dashboard["templating"]["list"] if v["type"] == "datasource"]
    assert variable["query"] == datasource["type"]
