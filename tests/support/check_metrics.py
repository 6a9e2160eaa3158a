"""Exits 0 when the file holds valid Prometheus text exposition, per prometheus_client's parser."""
import sys

from prometheus_client.parser import text_string_to_metric_families

with open(sys.argv[1], encoding="utf-8") as f:
    text = f.read()
families = list(text_string_to_metric_families(text))
names = {family.name for family in families}
for required in ("mutex_edge_http_requests", "mutex_edge_http_request_duration_seconds",
                 "mutex_edge_assignments", "mutex_edge_config_version"):
    if required not in names:
        sys.exit(f"missing metric family {required}; have {sorted(names)}")
print(f"{len(families)} metric families parsed")
