"""The deployment files checked by the real tools: docker-compose (Debian's 1.29) and promtool.

Marked e2e: the tools are installed with apt-get when missing (never skipped).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = REPO / "deploy" / "prometheus"

pytestmark = pytest.mark.e2e


def run(command: list[str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_compose_file_validates_and_every_mount_exists(debian_tools: dict[str, str]) -> None:
    done = run([debian_tools["docker-compose"], "-f", "docker-compose.otel.yml", "config"])
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)
    assert set(resolved["services"]) == {
        "otel-collector",
        "otel-collector-health",
        "jaeger",
        "tempo",
        "prometheus",
        "grafana",
        "blackbox-exporter",
    }
    mounts = 0
    for name, service in resolved["services"].items():
        for volume in service.get("volumes", []):
            # docker-compose config prints bind mounts as absolute "host:container[:mode]".
            source = volume.split(":")[0] if isinstance(volume, str) else volume["source"]
            if source.startswith("/"):
                assert Path(source).exists(), f"{name} mounts {source}, which does not exist"
                assert Path(source).resolve().is_relative_to(REPO), (
                    f"{name} mounts {source} outside the repository"
                )
                mounts += 1
            else:
                assert source in resolved["volumes"], f"{name}: undeclared volume {source}"
    assert mounts >= 8
    for name, service in resolved["services"].items():
        if name != "otel-collector":  # scratch image: probed by otel-collector-health
            assert "healthcheck" in service, name


def test_alert_rules_pass_promtool_check(debian_tools: dict[str, str]) -> None:
    done = run([debian_tools["promtool"], "check", "rules", "alerts.yml"], PROMETHEUS_DIR)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


# alerts.test.yml, and test files of their own for rules that need long input series (alerts.quality.test.yml).
TEST_FILES = sorted(path.name for path in PROMETHEUS_DIR.glob("alerts*.test.yml"))


@pytest.mark.parametrize("test_file", TEST_FILES)
def test_alert_rules_unit_tests_pass(debian_tools: dict[str, str], test_file: str) -> None:
    """Each alert fires (with its labels and annotations) and stays quiet where it must."""
    done = run([debian_tools["promtool"], "test", "rules", test_file], PROMETHEUS_DIR)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_alert_unit_tests_cover_every_alert() -> None:
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"] if "alert" in rule}
    assert "alerts.test.yml" in TEST_FILES
    tests = [
        case
        for test_file in TEST_FILES
        for case in yaml.safe_load((PROMETHEUS_DIR / test_file).read_text())["tests"]
    ]
    fired, quiet = set(), set()
    for case in tests:
        for check in case.get("alert_rule_test", []):
            (fired if check["exp_alerts"] else quiet).add(check["alertname"])
    assert alerts <= fired, f"alerts never shown firing: {alerts - fired}"
    # The cost alert's quiet case is the within-budget job in the same test (exp_alerts lists only one job).
    assert alerts - {"GenAICostOverBudget"} <= quiet, f"alerts never shown quiet: {alerts - quiet}"


def test_prometheus_config_passes_promtool(debian_tools: dict[str, str]) -> None:
    done = run([debian_tools["promtool"], "check", "config", "prometheus.yml"], PROMETHEUS_DIR)
    assert done.returncode == 0, done.stdout + done.stderr
