"""The monitoring profile stays in step with the code: every series the dashboard, the alerts
and docs/operations.md name is one core/metrics.py declares, and the reverse for the docs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
import yaml
from prometheus_client import REGISTRY, generate_latest

from core.metrics import IngestionJobs  # the module declares the other families
from tests.support.stack import ROOT

MONITORING = ROOT / "deploy" / "monitoring"
SUFFIXES = {"histogram": ("_bucket", "_count", "_sum", "_created")}


def declared() -> tuple[set[str], set[str]]:
    """(families, series names) of AgentHub's metrics."""
    families, series = set(), set()
    for line in generate_latest(REGISTRY).decode().splitlines():
        match = re.match(r"# TYPE (agenthub_\w+) (\w+)", line)
        if match and not match[1].endswith("_created"):  # the creation time of a counter without labels
            families.add(match[1])
            series.update(match[1] + suffix for suffix in SUFFIXES.get(match[2], ("",)))
    for family in IngestionJobs(lambda: ({"queued": 1}, 0.0)).collect():  # registered by rag processes only
        families.add(family.name)
        series.add(family.name)
    return families, series


def named_in(text: str) -> set[str]:
    return set(re.findall(r"\bagenthub_[a-z_]+\b", text))


def expressions() -> list[str]:
    dashboard = json.loads((MONITORING / "grafana" / "dashboards" / "agenthub.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    alerts = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    exprs += [rule["expr"] for group in alerts["groups"] for rule in group["rules"]]
    return exprs


def test_dashboard_and_alerts_use_only_declared_series():
    _, series = declared()
    used = set().union(*(named_in(expr) for expr in expressions()))
    assert used and used <= series, used - series
    dashboard = json.loads((MONITORING / "grafana" / "dashboards" / "agenthub.json").read_text())
    titles = " ".join(panel["title"].lower() for panel in dashboard["panels"])
    for topic in ("requests", "latency", "errors", "queue depth", "ingestion", "tokens"):
        assert topic in titles


def test_prometheus_config_loads_the_alerts_and_scrapes_every_deployable():
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["agenthub-services"]["dns_sd_configs"][0]["names"] == ["auth", "agent", "rag"]
    assert {"agenthub-gateway", "rabbitmq"} <= set(jobs)


def test_the_metrics_reference_lists_every_metric():
    families, series = declared()
    documented = named_in((ROOT / "docs" / "operations.md").read_text())
    documented_families = {name for name in documented if name in families or name in series}
    missing = {f for f in families if not any(d.startswith(f) for d in documented_families)}
    assert not missing, f"metrics missing from docs/operations.md: {sorted(missing)}"
    unknown = {d for d in documented if d not in families and d not in series}
    assert not unknown, f"docs/operations.md names metrics that do not exist: {sorted(unknown)}"


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_compose_monitoring_profile_is_valid():
    secrets = {
        "AGENTHUB_JWT_SECRET": "ci-0123456789abcdef0123456789abcdef",
        "POSTGRES_PASSWORD": "ci",
        "RABBITMQ_PASSWORD": "ci",
        "ELASTIC_PASSWORD": "ci",
    }
    result = subprocess.run(
        ["docker-compose", "-f", "compose.yml", "--profile", "monitoring", "config"],
        cwd=ROOT,
        env={**os.environ, **secrets},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert {"prometheus", "grafana"} <= set(config["services"])
    for service in ("auth", "agent", "rag"):
        assert config["services"][service]["environment"]["AGENTHUB_METRICS_PORT"] == "9100"
