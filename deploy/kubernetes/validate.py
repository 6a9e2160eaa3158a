#!/usr/bin/env python3
"""Checks the Kubernetes manifests of deploy/kubernetes/ without a cluster.

    deploy/kubernetes/validate.py [--bin-dir build/bin | --image mutex-edge:local] [DIR]

Debian bookworm has no schema validator (no kubeconform or kubeval; its kubectl, 1.20, is too
old to know native sidecars and needs a server to validate), so this script checks:

1. every file parses (python3-yaml), and yamllint passes when it is installed;
2. kustomization.yaml renders: its resources, namespace and images, and `kubectl kustomize`
   gives the same objects when kubectl is installed;
3. every apiVersion/kind pair is a current stable one (a deprecated or removed one is named);
4. the fields of the kinds used are known ones (a typo such as `livenessprobe` fails), and the
   required ones are there;
5. the references hold: selectors match their pods' labels, probe and Service ports name a
   container port, mounts name a volume, an HPA's target exists and has CPU requests, every
   secretKeyRef names a key of secret.example.yaml;
6. the deployment rules of this project: a native sidecar is an initContainer with
   restartPolicy: Always; every mutex-edge container has liveness on /healthz, readiness on
   /readyz, a startup probe and resources; the sidecar's key comes from a Secret and its
   --state-dir is an emptyDir;
7. every command, argument and environment variable of a mutex-edge or mutex-mgmt container is
   accepted by the real binaries: the flags and MUTEX_* variables must be ones their --help
   lists (deploy/flags_table.py reads it), and each container's command runs for 1.5 s with
   its arguments and environment (a secret's value replaced by a dummy). It must keep running
   or exit with a status other than 2 (2 is this project's status for a bad flag or
   variable). With --bin-dir it runs under `unshare -n` when it can (no network and nothing
   bound on this machine; a poll fails and the process keeps running); with --image it runs
   in that image with --network none, tmpfs on each emptyDir mount and the container's user.

Exit status: 0 when every check passes, 1 otherwise, 2 on a usage problem, 77 (SKIPPED) without
python3-yaml unless CI=true.
"""
import argparse
import glob
import os
import shutil
import signal
import subprocess
import sys
import time

try:
    import yaml
except ImportError:  # pragma: no cover
    print("validate.py: SKIPPED: python3-yaml is missing (./scripts/install-deps.sh --stack)")
    sys.exit(1 if os.environ.get("CI") == "true" else 77)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "deploy"))
import flags_table  # noqa: E402

CURRENT = {
    ("v1", "Namespace"), ("v1", "Service"), ("v1", "Secret"), ("v1", "ConfigMap"),
    ("v1", "ServiceAccount"), ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"), ("policy/v1", "PodDisruptionBudget"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"), ("networking.k8s.io/v1", "NetworkPolicy"),
    ("kustomize.config.k8s.io/v1beta1", "Kustomization"),
}
OUTDATED = {
    "policy/v1beta1": "policy/v1 (removed in 1.25)",
    "autoscaling/v2beta1": "autoscaling/v2 (removed in 1.25)",
    "autoscaling/v2beta2": "autoscaling/v2 (removed in 1.26)",
    "autoscaling/v1": "autoscaling/v2",
    "extensions/v1beta1": "apps/v1 or networking.k8s.io/v1 (removed in 1.16/1.22)",
    "apps/v1beta1": "apps/v1 (removed in 1.16)", "apps/v1beta2": "apps/v1 (removed in 1.16)",
    "networking.k8s.io/v1beta1": "networking.k8s.io/v1 (removed in 1.22)",
}
NAMESPACED = {"Service", "Secret", "ConfigMap", "ServiceAccount", "Deployment", "StatefulSet",
              "DaemonSet", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy"}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet"}

# The fields of the Kubernetes 1.30 API that these kinds may use (a subset is fine: a field
# missing here fails loudly and is added when a manifest needs it).
FIELDS = {
    "object": {"apiVersion", "kind", "metadata", "spec", "data", "stringData", "type", "immutable"},
    "metadata": {"name", "namespace", "labels", "annotations"},
    "Deployment.spec": {"replicas", "selector", "template", "strategy", "revisionHistoryLimit",
                        "minReadySeconds", "progressDeadlineSeconds", "paused"},
    "strategy": {"type", "rollingUpdate"},
    "rollingUpdate": {"maxUnavailable", "maxSurge"},
    "template": {"metadata", "spec"},
    "pod": {"containers", "initContainers", "volumes", "securityContext", "serviceAccountName",
            "automountServiceAccountToken", "terminationGracePeriodSeconds", "affinity",
            "topologySpreadConstraints", "nodeSelector", "tolerations", "priorityClassName",
            "imagePullSecrets", "enableServiceLinks", "shareProcessNamespace", "dnsPolicy",
            "restartPolicy", "hostNetwork"},
    "podSecurityContext": {"runAsNonRoot", "runAsUser", "runAsGroup", "fsGroup",
                           "seccompProfile", "supplementalGroups", "fsGroupChangePolicy"},
    "container": {"name", "image", "imagePullPolicy", "command", "args", "env", "envFrom",
                  "ports", "resources", "livenessProbe", "readinessProbe", "startupProbe",
                  "lifecycle", "securityContext", "volumeMounts", "workingDir", "restartPolicy",
                  "terminationMessagePolicy", "stdin", "tty"},
    "securityContext": {"allowPrivilegeEscalation", "readOnlyRootFilesystem", "capabilities",
                        "runAsNonRoot", "runAsUser", "runAsGroup", "privileged",
                        "seccompProfile"},
    "probe": {"httpGet", "tcpSocket", "exec", "grpc", "initialDelaySeconds", "periodSeconds",
              "timeoutSeconds", "failureThreshold", "successThreshold",
              "terminationGracePeriodSeconds"},
    "httpGet": {"path", "port", "scheme", "host", "httpHeaders"},
    "env": {"name", "value", "valueFrom"},
    "valueFrom": {"secretKeyRef", "configMapKeyRef", "fieldRef", "resourceFieldRef"},
    "secretKeyRef": {"name", "key", "optional"},
    "port": {"name", "containerPort", "protocol", "hostPort"},
    "resources": {"requests", "limits"},
    "volumeMount": {"name", "mountPath", "readOnly", "subPath"},
    "volume": {"name", "emptyDir", "secret", "configMap", "projected", "persistentVolumeClaim"},
    "Service.spec": {"type", "selector", "ports", "clusterIP", "sessionAffinity",
                     "internalTrafficPolicy", "publishNotReadyAddresses", "trafficDistribution"},
    "servicePort": {"name", "port", "targetPort", "protocol", "appProtocol", "nodePort"},
    "PodDisruptionBudget.spec": {"minAvailable", "maxUnavailable", "selector",
                                 "unhealthyPodEvictionPolicy"},
    "HorizontalPodAutoscaler.spec": {"scaleTargetRef", "minReplicas", "maxReplicas", "metrics",
                                     "behavior"},
    "Kustomization": {"apiVersion", "kind", "namespace", "resources", "images", "labels",
                      "commonAnnotations", "patches", "configMapGenerator", "secretGenerator",
                      "namePrefix", "nameSuffix", "generatorOptions"},
}


class Checker:
    def __init__(self):
        self.failures, self.passed = [], 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failures.append(what)
            print(f"  FAIL {what}")
        return ok

    def note(self, text):
        print(f"  {text}")


def known_fields(c, where, obj, kind):
    if not isinstance(obj, dict):
        c.check(False, f"{where}: expected a mapping")
        return
    unknown = sorted(set(obj) - FIELDS[kind])
    c.check(not unknown, f"{where}: unknown field(s) {unknown}")


def load_documents(c, directory):
    docs = {}
    for path in sorted(glob.glob(os.path.join(directory, "*.yaml"))):
        name = os.path.basename(path)
        try:
            with open(path, encoding="utf-8") as f:
                parsed = [d for d in yaml.safe_load_all(f) if d is not None]
        except yaml.YAMLError as e:
            c.check(False, f"{name}: does not parse: {e}")
            continue
        c.check(bool(parsed), f"{name}: holds no document")
        docs[name] = parsed
    return docs


def run_yamllint(c, directory):
    if not shutil.which("yamllint"):
        c.note("yamllint not installed: skipped (./scripts/install-deps.sh --stack installs it)")
        return
    config = ("{extends: default, rules: {line-length: {max: 120}, document-start: disable, "
              "comments: {min-spaces-from-content: 1}, truthy: {check-keys: false}}}")
    done = subprocess.run(["yamllint", "-f", "parsable", "-d", config, directory],
                          capture_output=True, text=True, timeout=60)
    for line in done.stdout.splitlines():
        print(f"    {line}")
    c.check(done.returncode == 0, "yamllint passes")


def render(c, docs):
    """The objects kustomization.yaml produces (resources, namespace, images)."""
    kust = docs.get("kustomization.yaml")
    if not c.check(kust and len(kust) == 1, "kustomization.yaml: one document"):
        return []
    k = kust[0]
    known_fields(c, "kustomization.yaml", k, "Kustomization")
    c.check((k.get("apiVersion"), k.get("kind")) ==
            ("kustomize.config.k8s.io/v1beta1", "Kustomization"),
            "kustomization.yaml: apiVersion kustomize.config.k8s.io/v1beta1, kind Kustomization")
    images = {i["name"]: i for i in k.get("images", [])}
    objects = []
    for res in k.get("resources", []):
        if not c.check(res in docs, f"kustomization.yaml: resource {res} exists"):
            continue
        for d in docs[res]:
            d = yaml.safe_load(yaml.safe_dump(d))  # a copy
            if k.get("namespace") and d.get("kind") in NAMESPACED:
                d.setdefault("metadata", {})["namespace"] = k["namespace"]
            for pod in [pod_spec(d)] if pod_spec(d) else []:
                for ctr in pod.get("containers", []) + pod.get("initContainers", []):
                    name, _, tag = ctr.get("image", "").partition(":")
                    if name in images:
                        i = images[name]
                        ctr["image"] = f"{i.get('newName', name)}:{i.get('newTag', tag or 'latest')}"
            objects.append((res, d))
    listed = set(k.get("resources", []))
    for name in docs:
        if name not in listed and name != "kustomization.yaml":
            c.note(f"{name} is not in kustomization.yaml (checked as a reference only)")
    return objects


def compare_with_kubectl(c, directory, objects):
    if not shutil.which("kubectl"):
        c.note("kubectl not installed: kustomize rendering checked by this script only")
        return
    done = subprocess.run(["kubectl", "kustomize", directory], capture_output=True, text=True,
                          timeout=60)
    if not c.check(done.returncode == 0, f"kubectl kustomize renders: {done.stderr.strip()}"):
        return
    theirs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(done.stdout) if d}
    ours = {(d["kind"], d["metadata"]["name"]): d for _, d in objects}
    c.check(set(theirs) == set(ours), f"kubectl kustomize gives the same objects: "
            f"{sorted(set(theirs) ^ set(ours))}")
    for key in set(theirs) & set(ours):
        c.check(theirs[key] == ours[key], f"kubectl kustomize renders {key} as this script does")


def pod_spec(d):
    if d.get("kind") in WORKLOADS:
        return ((d.get("spec") or {}).get("template") or {}).get("spec")
    return None


def pod_labels(d):
    return (((d.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels", {})


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_object(c, where, d, secrets):
    kind, api = d.get("kind"), d.get("apiVersion")
    known_fields(c, where, d, "object")
    meta = d.get("metadata") or {}
    known_fields(c, f"{where} metadata", meta, "metadata")
    c.check(bool(meta.get("name")), f"{where}: metadata.name is set")
    if api in OUTDATED:
        c.check(False, f"{where}: apiVersion {api} is outdated: use {OUTDATED[api]}")
    else:
        c.check((api, kind) in CURRENT, f"{where}: {api}/{kind} is a current stable API")
    spec = d.get("spec") or {}
    if kind in WORKLOADS:
        known_fields(c, f"{where} spec", spec, "Deployment.spec")
        for key in ("strategy",):
            if key in spec:
                known_fields(c, f"{where} spec.{key}", spec[key], key)
                if "rollingUpdate" in spec[key]:
                    known_fields(c, f"{where} rollingUpdate", spec[key]["rollingUpdate"],
                                 "rollingUpdate")
        tmpl = spec.get("template") or {}
        known_fields(c, f"{where} template", tmpl, "template")
        sel = (spec.get("selector") or {}).get("matchLabels", {})
        c.check(matches(sel, pod_labels(d)),
                f"{where}: spec.selector.matchLabels {sel} match the pod labels")
        check_pod(c, where, tmpl.get("spec") or {}, secrets)
    elif kind == "Service":
        known_fields(c, f"{where} spec", spec, "Service.spec")
        for p in spec.get("ports", []):
            known_fields(c, f"{where} port {p.get('name')}", p, "servicePort")
            c.check(isinstance(p.get("port"), int), f"{where}: port {p.get('name')} has a number")
    elif kind == "PodDisruptionBudget":
        known_fields(c, f"{where} spec", spec, "PodDisruptionBudget.spec")
        c.check(("minAvailable" in spec) != ("maxUnavailable" in spec),
                f"{where}: exactly one of minAvailable and maxUnavailable")
    elif kind == "HorizontalPodAutoscaler":
        known_fields(c, f"{where} spec", spec, "HorizontalPodAutoscaler.spec")
        c.check(isinstance(spec.get("maxReplicas"), int) and
                spec.get("minReplicas", 1) <= spec.get("maxReplicas", 0),
                f"{where}: minReplicas <= maxReplicas")
        for m in spec.get("metrics", []):
            c.check(m.get("type") in {"Resource", "Pods", "Object", "External", "ContainerResource"},
                    f"{where}: metric type {m.get('type')}")
    elif kind == "Secret":
        c.check(bool(d.get("stringData") or d.get("data")), f"{where}: holds keys")


def check_probe(c, where, probe, ports):
    if not isinstance(probe, dict):
        return
    known_fields(c, where, probe, "probe")
    get = probe.get("httpGet")
    if get is not None:
        known_fields(c, f"{where}.httpGet", get, "httpGet")
        port = get.get("port")
        c.check(port in ports, f"{where}: port {port!r} is a container port ({sorted(map(str, ports))})")


def check_pod(c, where, pod, secrets):
    known_fields(c, f"{where} pod spec", pod, "pod")
    if "securityContext" in pod:
        known_fields(c, f"{where} pod securityContext", pod["securityContext"], "podSecurityContext")
    volumes = {}
    for v in pod.get("volumes", []):
        known_fields(c, f"{where} volume {v.get('name')}", v, "volume")
        volumes[v.get("name")] = v
    names = []
    for section in ("initContainers", "containers"):
        for ctr in pod.get(section, []):
            cw = f"{where} {section[:-1]} {ctr.get('name')}"
            names.append(ctr.get("name"))
            known_fields(c, cw, ctr, "container")
            c.check(bool(ctr.get("image")), f"{cw}: has an image")
            if section == "initContainers" and "restartPolicy" in ctr:
                c.check(ctr["restartPolicy"] == "Always",
                        f"{cw}: an init container's restartPolicy can only be Always (a native sidecar)")
            if section == "containers":
                c.check("restartPolicy" not in ctr,
                        f"{cw}: restartPolicy on a regular container (a native sidecar is an initContainer)")
            ports = set()
            for p in ctr.get("ports", []):
                known_fields(c, f"{cw} port", p, "port")
                ports |= {p.get("name"), p.get("containerPort")}
            ports.discard(None)
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                check_probe(c, f"{cw} {probe}", ctr.get(probe), ports)
            res = ctr.get("resources") or {}
            known_fields(c, f"{cw} resources", res, "resources")
            c.check(all(k in (res.get("requests") or {}) for k in ("cpu", "memory")) and
                    "memory" in (res.get("limits") or {}),
                    f"{cw}: requests cpu and memory, limits memory")
            if "securityContext" in ctr:
                known_fields(c, f"{cw} securityContext", ctr["securityContext"], "securityContext")
            for m in ctr.get("volumeMounts", []):
                known_fields(c, f"{cw} volumeMount", m, "volumeMount")
                c.check(m.get("name") in volumes, f"{cw}: mount {m.get('name')} names a volume")
            for e in ctr.get("env", []):
                known_fields(c, f"{cw} env {e.get('name')}", e, "env")
                ref = (e.get("valueFrom") or {})
                if ref:
                    known_fields(c, f"{cw} env {e.get('name')} valueFrom", ref, "valueFrom")
                skr = ref.get("secretKeyRef")
                if skr:
                    known_fields(c, f"{cw} env {e.get('name')} secretKeyRef", skr, "secretKeyRef")
                    c.check(skr.get("key") in secrets.get(skr.get("name"), set()),
                            f"{cw}: env {e.get('name')} takes key {skr.get('key')!r} of Secret "
                            f"{skr.get('name')!r}, which secret.example.yaml has")
    c.check(len(names) == len(set(names)), f"{where}: container names are unique")


def check_references(c, objects):
    by_kind = {}
    for _, d in objects:
        by_kind.setdefault(d["kind"], []).append(d)
    workloads = [d for k in WORKLOADS for d in by_kind.get(k, [])]
    for s in by_kind.get("Service", []):
        sel = s["spec"].get("selector", {})
        targets = [w for w in workloads if matches(sel, pod_labels(w))]
        c.check(bool(targets), f"Service {s['metadata']['name']}: selector {sel} matches a workload")
        for w in targets:
            names = {p.get("name") for ctr in pod_spec(w).get("containers", []) +
                     pod_spec(w).get("initContainers", []) for p in ctr.get("ports", [])}
            nums = {p.get("containerPort") for ctr in pod_spec(w).get("containers", []) +
                    pod_spec(w).get("initContainers", []) for p in ctr.get("ports", [])}
            for p in s["spec"].get("ports", []):
                tp = p.get("targetPort", p.get("port"))
                c.check(tp in names or tp in nums,
                        f"Service {s['metadata']['name']}: targetPort {tp!r} is a port of {w['metadata']['name']}")
    for pdb in by_kind.get("PodDisruptionBudget", []):
        sel = (pdb["spec"].get("selector") or {}).get("matchLabels", {})
        c.check(any(matches(sel, pod_labels(w)) for w in workloads),
                f"PodDisruptionBudget {pdb['metadata']['name']}: selector {sel} matches a workload")
    for hpa in by_kind.get("HorizontalPodAutoscaler", []):
        ref = hpa["spec"].get("scaleTargetRef", {})
        target = [w for w in workloads if w["kind"] == ref.get("kind") and
                  w["metadata"]["name"] == ref.get("name") and w["apiVersion"] == ref.get("apiVersion")]
        if c.check(bool(target), f"HorizontalPodAutoscaler {hpa['metadata']['name']}: "
                   f"scaleTargetRef {ref} exists"):
            cpu = any(m.get("type") == "Resource" and m["resource"]["name"] == "cpu"
                      for m in hpa["spec"].get("metrics", []))
            if cpu:
                ctrs = pod_spec(target[0]).get("containers", [])
                c.check(all("cpu" in ((x.get("resources") or {}).get("requests") or {}) for x in ctrs),
                        f"HorizontalPodAutoscaler {hpa['metadata']['name']}: every container of "
                        f"its target requests cpu (utilization needs it)")
            c.check("replicas" in target[0]["spec"], "the HPA's target sets replicas "
                    "(the starting point; the HPA owns it afterwards)")


def mutex_containers(objects):
    for res, d in objects:
        pod = pod_spec(d)
        if not pod:
            continue
        for section in ("initContainers", "containers"):
            for ctr in pod.get(section, []):
                if os.path.basename(ctr.get("image", "").split(":")[0]) == "mutex-edge":
                    yield res, d, pod, section, ctr


def check_project_rules(c, objects):
    sidecars = 0
    for res, d, pod, section, ctr in mutex_containers(objects):
        cw = f"{res} {d['metadata']['name']}/{ctr['name']}"
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            got = ((ctr.get(probe) or {}).get("httpGet") or {}).get("path")
            c.check(got == path, f"{cw}: {probe} is GET {path} (got {got})")
        c.check(bool(ctr.get("startupProbe")), f"{cw}: has a startupProbe")
        c.check(bool(ctr.get("resources", {}).get("limits")), f"{cw}: has resource limits")
        args = ctr.get("args", [])
        c.check(not any(a.startswith("--admin-listen=127.") for a in args),
                f"{cw}: --admin-listen is reachable by the kubelet's probes (not on loopback)")
        if section == "initContainers":
            sidecars += 1
            c.check(ctr.get("restartPolicy") == "Always",
                    f"{cw}: the sidecar is a native sidecar (initContainer, restartPolicy: Always)")
            env = {e["name"]: e for e in ctr.get("env", [])}
            c.check("secretKeyRef" in (env.get("MUTEX_EDGE_API_KEY", {}).get("valueFrom") or {}),
                    f"{cw}: MUTEX_EDGE_API_KEY comes from a Secret")
            state = [a.split("=", 1)[1] for a in args if a.startswith("--state-dir=")]
            emptydirs = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
            mounts = {m["mountPath"]: m["name"] for m in ctr.get("volumeMounts", [])}
            c.check(len(state) == 1 and mounts.get(state[0]) in emptydirs,
                    f"{cw}: --state-dir {state} is the mount of an emptyDir volume")
    c.check(sidecars >= 1, "the manifests hold a native mutex-edge sidecar example")


def split_flags(args):
    """['--a=1', '--b', '2', '--c'] -> [('a', '1'), ('b', '2'), ('c', None)]; positional -> ('', x)."""
    out, i = [], 0
    while i < len(args):
        a = args[i]
        if a.startswith("--"):
            name, eq, value = a[2:].partition("=")
            if not eq and i + 1 < len(args) and not args[i + 1].startswith("--"):
                value, i = args[i + 1], i + 1
            out.append((name, value if (eq or value) else None))
        else:
            out.append(("", a))
        i += 1
    return out


def env_of(ctr):
    env = {}
    for e in ctr.get("env", []):
        if "value" in e:
            env[e["name"]] = str(e["value"])
        elif "secretKeyRef" in (e.get("valueFrom") or {}):
            env[e["name"]] = "dummy-secret-for-validate"
        else:
            env[e["name"]] = "dummy"
    return env


def run_briefly(cmd, env, image, tmpfs, user):
    """Runs cmd for 1.5 s; returns (exit status or None when still running, output)."""
    if image:
        name = f"mutex-validate-{os.getpid()}-{time.monotonic_ns()}"
        docker = ["docker", "run", "-d", "--name", name, "--network", "none", "--read-only"]
        for path in tmpfs:
            docker += ["--tmpfs", f"{path}:uid={user[0]},gid={user[1]}"]
        if user[0] is not None:
            docker += ["--user", f"{user[0]}:{user[1] if user[1] is not None else user[0]}"]
        for k, v in env.items():
            docker += ["-e", f"{k}={v}"]
        started = subprocess.run(docker + [image] + cmd, capture_output=True, text=True, timeout=60)
        if started.returncode != 0:
            return -1, started.stderr
        try:
            time.sleep(1.5)
            state = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}} {{.State.ExitCode}}",
                                    name], capture_output=True, text=True, timeout=30).stdout.split()
            logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True, timeout=30)
            running = state and state[0] == "true"
            return (None if running else int(state[1])), logs.stdout + logs.stderr
        finally:
            subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}
    prefix = []
    if os.geteuid() == 0 and shutil.which("unshare") and subprocess.run(
            ["unshare", "-n", "true"], capture_output=True).returncode == 0:
        prefix = ["unshare", "-n"]
    proc = subprocess.Popen(prefix + cmd, env=full_env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        status = proc.wait(timeout=1.5)
    except subprocess.TimeoutExpired:
        status = None
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return status, proc.stdout.read()


def check_against_binaries(c, objects, bin_dir, image):
    helps = {}
    for binary, prefix in flags_table.BINARIES:
        if image:
            done = subprocess.run(["docker", "run", "--rm", "--network", "none", image, binary, "--help"],
                                  capture_output=True, text=True, timeout=120)
            text = done.stdout
        else:
            text = flags_table.run_help(os.path.join(bin_dir, binary))
        helps[binary] = flags_table.parse_help(text, binary, prefix)
    where_bins = f"image {image}" if image else bin_dir
    for res, d, pod, section, ctr in mutex_containers(objects):
        cw = f"{res} {d['metadata']['name']}/{ctr['name']}"
        cmd = list(ctr.get("command", [])) + [str(a) for a in ctr.get("args", [])]
        if not c.check(bool(cmd) and os.path.basename(cmd[0]) in helps,
                       f"{cw}: command starts with mutex-edge or mutex-mgmt (got {cmd[:1]})"):
            continue
        h = helps[os.path.basename(cmd[0])]
        for name, value in split_flags(cmd[1:]):
            if name == "":
                c.check(False, f"{cw}: positional argument {value!r} ({h.binary} takes none)")
                continue
            flag = h.flags.get(name)
            c.check(flag is not None, f"{cw}: --{name} is a flag of {h.binary} --help")
            if flag and not flag.arg.startswith("[") and flag.arg:
                c.check(value is not None, f"{cw}: --{name} has its value")
        env = env_of(ctr)
        for var in env:
            if var.startswith(("MUTEX_EDGE_", "MUTEX_MGMT_")):
                c.check(var in h.variables, f"{cw}: {var} is a variable of {h.binary} --help")
        if not image:
            cmd[0] = os.path.join(bin_dir, h.binary)
        tmpfs = [m["mountPath"] for m in ctr.get("volumeMounts", [])
                 if any(v["name"] == m["name"] and "emptyDir" in v for v in pod.get("volumes", []))]
        sc = {**(pod.get("securityContext") or {}), **(ctr.get("securityContext") or {})}
        status, output = run_briefly(cmd, env, image, tmpfs, (sc.get("runAsUser"), sc.get("runAsGroup")))
        lines = [l for l in (output or "").strip().splitlines()
                 if "shutting down" not in l and 'msg="stopped"' not in l]
        last = lines[-1:] or [""]
        c.check(status is None or status not in (2, -1),
                f"{cw}: runs with its arguments and environment ({where_bins}): "
                f"{'still running after 1.5 s' if status is None else f'exited {status}'}: {last[0][:200]}")
        if status is None:
            c.note(f"{cw}: accepted by {h.binary} (ran 1.5 s; last line: {last[0][:120]})")


def main():
    ap = argparse.ArgumentParser(description="Checks deploy/kubernetes/ without a cluster.")
    ap.add_argument("directory", nargs="?", default=HERE)
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--bin-dir", default=os.path.join(ROOT, "build", "bin"))
    src.add_argument("--image", help="run the binaries of this image (docker) instead of --bin-dir")
    args = ap.parse_args()
    c = Checker()
    print(f"validate.py: {args.directory}")
    docs = load_documents(c, args.directory)
    run_yamllint(c, args.directory)
    objects = render(c, docs)
    compare_with_kubectl(c, args.directory, objects)
    secrets = {}
    for d in docs.get("secret.example.yaml", []):
        keys = set((d.get("stringData") or {}).keys()) | set((d.get("data") or {}).keys())
        secrets[d["metadata"]["name"]] = keys
    for name, parsed in docs.items():
        if name == "kustomization.yaml":
            continue
        for i, d in enumerate(parsed):
            check_object(c, f"{name}[{i}] {d.get('kind')} {(d.get('metadata') or {}).get('name')}", d, secrets)
    check_references(c, objects)
    check_project_rules(c, objects)
    if args.image or os.path.exists(os.path.join(args.bin_dir, "mutex-edge")):
        check_against_binaries(c, objects, args.bin_dir, args.image)
    else:
        c.check(False, f"no binaries in {args.bin_dir} (build them, or pass --image)")
    print(f"validate.py: {c.passed} checks passed, {len(c.failures)} failed")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
