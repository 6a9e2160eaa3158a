#!/usr/bin/env python3
"""Offline checks of the monitoring files of deploy/, with Debian's promtool:

  - promtool check rules deploy/prometheus/alerts.yml, and its unit tests
    (promtool test rules deploy/prometheus/alerts_test.yml);
  - every query of the Grafana dashboard parses (promtool check rules on a temporary rule file
    holding them, Grafana's variables replaced);
  - prometheus.yml is a valid config (promtool check config, its rule file path mapped to
    deploy/prometheus/alerts.yml) and scrapes the compose file's edges;
  - Grafana's provisioning: the datasource, the dashboard JSON, every panel and query on the
    provisioned datasource, the provider path where docker-compose.yml mounts the dashboards.

The stack test (stack_test.py) runs the same queries against a live Prometheus.
Exit status 0, 1 on a failure, 77 when promtool is missing (SKIPPED) unless CI=true.
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import yaml
    import monitoring  # noqa: E402
except ImportError:
    print("check_monitoring: SKIPPED: python3-yaml is missing (./scripts/install-deps.sh --stack)")
    sys.exit(1 if os.environ.get("CI") == "true" else 77)


def main():
    promtool = shutil.which("promtool")
    if not promtool:
        msg = "promtool is missing (./scripts/install-deps.sh --stack installs Debian's prometheus)"
        if os.environ.get("CI") == "true":
            print(f"check_monitoring: FAILED: {msg}")
            return 1
        print(f"check_monitoring: SKIPPED: {msg}")
        return 77
    failures = []

    def run(what, cmd, cwd=None):
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=cwd)
        out = (done.stdout + done.stderr).strip()
        print(f"{'ok  ' if done.returncode == 0 else 'FAIL'} {what}")
        if done.returncode != 0:
            print("    " + out.replace("\n", "\n    "))
            failures.append(what)

    prom_dir = os.path.dirname(monitoring.ALERTS)
    run("promtool check rules alerts.yml", [promtool, "check", "rules", monitoring.ALERTS])
    run("promtool test rules alerts_test.yml", [promtool, "test", "rules", "alerts_test.yml"], cwd=prom_dir)

    queries = monitoring.dashboard_queries()
    with tempfile.TemporaryDirectory() as tmp:
        rules = {"groups": [{"name": "dashboard", "rules": [
            {"record": f"dashboard:query_{i}", "expr": q} for i, (_, _, q) in enumerate(queries)]}]}
        path = os.path.join(tmp, "dashboard-rules.yml")
        with open(path, "w", encoding="utf-8") as f:
            yaml.safe_dump(rules, f)
        run(f"the dashboard's {len(queries)} queries parse (promtool check rules)",
            [promtool, "check", "rules", path])
        with open(monitoring.PROMETHEUS, encoding="utf-8") as f:
            config = yaml.safe_load(f)
        config["rule_files"] = [monitoring.ALERTS]
        cfg_path = os.path.join(tmp, "prometheus.yml")
        with open(cfg_path, "w", encoding="utf-8") as f:
            yaml.safe_dump(config, f)
        run("promtool check config prometheus.yml", [promtool, "check", "config", cfg_path])

    with open(monitoring.COMPOSE, encoding="utf-8") as f:
        services = yaml.safe_load(f)["services"]
    targets = {t for job in config["scrape_configs"] for sc in job.get("static_configs", [])
               for t in sc["targets"]}
    want = set()
    for name in ("edge", "sidecar"):
        admin = [a.split("=", 1)[1] for a in services[name]["command"] if a.startswith("--admin-listen=")]
        want.add(f"{name}:{admin[0].rsplit(':', 1)[1]}" if admin else f"{name}:?")
    ok = targets == want
    print(f"{'ok  ' if ok else 'FAIL'} prometheus.yml scrapes the admin ports of docker-compose.yml's "
          f"edges ({sorted(targets)} vs {sorted(want)})")
    if not ok:
        failures.append("scrape targets")

    problems = monitoring.provisioning_problems()
    print(f"{'ok  ' if not problems else 'FAIL'} Grafana provisioning (datasource, dashboard, provider)")
    for p in problems:
        print(f"    {p}")
    if problems:
        failures.append("grafana provisioning")

    print(f"check_monitoring: {'FAILED: ' + ', '.join(failures) if failures else 'passed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
