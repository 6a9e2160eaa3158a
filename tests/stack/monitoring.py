"""The PromQL of deploy/: the alert rules' expressions and the Grafana dashboard's queries,
with Grafana's variables replaced so that Prometheus can run them. Shared by
check_monitoring.py (offline) and stack_test.py (against the stack's Prometheus).
Needs python3-yaml."""
import json
import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ALERTS = os.path.join(ROOT, "deploy", "prometheus", "alerts.yml")
PROMETHEUS = os.path.join(ROOT, "deploy", "prometheus", "prometheus.yml")
GRAFANA = os.path.join(ROOT, "deploy", "grafana")
DASHBOARD = os.path.join(GRAFANA, "dashboards", "mutex-edge.json")
DATASOURCE = os.path.join(GRAFANA, "provisioning", "datasources", "prometheus.yml")
PROVIDER = os.path.join(GRAFANA, "provisioning", "dashboards", "mutex-edge.yml")
COMPOSE = os.path.join(ROOT, "docker-compose.yml")

# Grafana's built-in interval variables, as Grafana would set them for a 5 s scrape interval.
BUILTINS = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "30m"}


def alert_rules():
    """[(alert name, expression)]"""
    with open(ALERTS, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    return [(r.get("alert") or r.get("record"), r["expr"].strip())
            for g in doc["groups"] for r in g["rules"]]


def load_dashboard():
    with open(DASHBOARD, encoding="utf-8") as f:
        return json.load(f)


def panels(dash):
    for p in dash.get("panels", []):
        yield p
        for inner in p.get("panels", []):  # panels of a collapsed row
            yield inner


def substitute(expr, dash):
    """The expression Grafana sends with every variable at its "All" value."""
    for name, value in BUILTINS.items():
        expr = expr.replace(name, value)
    for var in dash.get("templating", {}).get("list", []):
        value = var.get("allValue") or ".*"
        expr = re.sub(r"\$\{" + re.escape(var["name"]) + r"(:[a-z]+)?\}", value, expr)
        expr = re.sub(r"\$" + re.escape(var["name"]) + r"\b", value, expr)
    return expr


def dashboard_queries(dash=None):
    """[(panel title, refId, PromQL as run)]"""
    dash = dash or load_dashboard()
    out = []
    for p in panels(dash):
        for t in p.get("targets", []):
            if t.get("expr"):
                out.append((p.get("title", "?"), t.get("refId", "?"), substitute(t["expr"], dash)))
    return out


def provisioning_problems():
    """What is wrong with the Grafana provisioning files (an empty list when nothing is)."""
    problems = []
    with open(DATASOURCE, encoding="utf-8") as f:
        ds_doc = yaml.safe_load(f)
    sources = ds_doc.get("datasources", [])
    if len(sources) != 1:
        problems.append(f"{DATASOURCE}: expected one datasource, found {len(sources)}")
        return problems
    ds = sources[0]
    if ds.get("type") != "prometheus":
        problems.append(f"datasource {ds.get('name')}: type {ds.get('type')}, not prometheus")
    with open(COMPOSE, encoding="utf-8") as f:
        compose = yaml.safe_load(f)
    url = ds.get("url", "")
    m = re.fullmatch(r"http://([\w-]+):(\d+)", url)
    if not m or m.group(1) not in compose["services"]:
        problems.append(f"datasource url {url!r} does not name a service of docker-compose.yml")
    dash = load_dashboard()
    if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < 36:
        problems.append(f"dashboard schemaVersion {dash.get('schemaVersion')} (want 36 or later)")
    if not dash.get("uid"):
        problems.append("dashboard has no uid")
    ids = [p.get("id") for p in panels(dash)]
    if len(ids) != len(set(ids)):
        problems.append("dashboard panel ids are not unique")

    def same_source(ref):
        if isinstance(ref, dict):
            return ref.get("uid") == ds.get("uid") and ref.get("type") == "prometheus"
        return ref == ds.get("name")

    for p in panels(dash):
        if p.get("type") == "row":
            continue
        if not same_source(p.get("datasource")):
            problems.append(f"panel {p.get('title')!r}: datasource {p.get('datasource')} is not "
                            f"the provisioned {ds.get('name')!r} (uid {ds.get('uid')})")
        if not p.get("targets"):
            problems.append(f"panel {p.get('title')!r} has no query")
        for t in p.get("targets", []):
            if "datasource" in t and not same_source(t["datasource"]):
                problems.append(f"panel {p.get('title')!r} {t.get('refId')}: datasource {t['datasource']}")
            if not t.get("expr"):
                problems.append(f"panel {p.get('title')!r} {t.get('refId')}: no PromQL expr")
    for var in dash.get("templating", {}).get("list", []):
        if not same_source(var.get("datasource")):
            problems.append(f"variable {var.get('name')}: datasource {var.get('datasource')}")
    # The provider reads the folder the compose file mounts the dashboards on.
    with open(PROVIDER, encoding="utf-8") as f:
        provider = yaml.safe_load(f)
    paths = [p["options"]["path"] for p in provider.get("providers", [])]
    mounts = compose["services"]["grafana"].get("volumes", [])
    mounted = {m.split(":")[1] for m in mounts if m.startswith("./deploy/grafana/dashboards:")}
    if not paths or any(p not in mounted for p in paths):
        problems.append(f"dashboard provider path {paths} is not where docker-compose.yml mounts "
                        f"deploy/grafana/dashboards ({sorted(mounted)})")
    env = compose["services"]["grafana"].get("environment", {})
    home = env.get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home and os.path.basename(home) != os.path.basename(DASHBOARD):
        problems.append(f"GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH {home} is not the dashboard")
    return problems
