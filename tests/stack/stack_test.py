#!/usr/bin/env python3
"""The stack test: the real docker-compose.yml on a real container engine.

    tests/stack/stack_test.py [--bin-dir DIR]   (as root; `ctest --preset stack` runs it on the
                                                 release tree's bin/, the default)

1. Starts dockerd when none answers (and stops it at the end), makes the base image
   debian:bookworm-slim from Debian's packages when it is absent (make-base-image.sh), builds
   the image of the Dockerfile (mutex-edge:local) from the release tree's binaries, the ones
   its tests passed (--build-arg BINARIES=prebuilt: the same runtime stage), and, when the
   Prometheus image of docker-compose.yml cannot be pulled, a stand-in from Debian's prometheus
   package (prom/prometheus:v2.42.0, swapped in by compose.override.yml: the only override).
   Meanwhile the Dockerfile builds from source in the background at the lowest CPU priority, as
   a user builds it (mutex-edge:from-source); step 5 checks it.
2. `docker-compose up -d` of mutex-mgmt, edge, sidecar and prometheus (grafana too when its
   image is on this machine; it cannot be pulled here), with keys and free ports in a
   temporary env file, and waits for every container to be healthy.
3. Checks: the image (non-root, tini, HEALTHCHECK, size); the image's own healthcheck script in
   each container; the edge tier's key check; an assignment through the sidecar equals
   `mutex-edge assign` on mutex-mgmt's config; a group created in mutex-mgmt reaches the
   sidecar; with the edge tier stopped, a restarted sidecar serves its persisted config;
   Prometheus has both edges up, the alert rules loaded and healthy, and runs every PromQL
   expression of the dashboard and of the alert rules (each must parse; the dashboard's core
   panels must return data); Grafana's provisioning files (and Grafana, when it runs).
4. `docker-compose stop`: every server exits 0 on SIGTERM; `docker-compose down -v` leaves no
   container, volume or network of the project.
5. The from-source build succeeded, its image installs the same runtime packages, and its
   `mutex-edge assign` answers examples/users.jsonl byte for byte as the release binary does.

Cleanup (down -v, dockerd stopped if started here) runs on every exit path. Every wait has a
timeout, and the whole run has MUTEX_STACK_TIMEOUT seconds (default 1500).
Exit status: 0 passed, 1 failed, 77 SKIPPED (no container engine can run here; under CI=true
that is a failure instead).
Env: MUTEX_STACK_KEEP=1 leaves the stack up for a look (then: docker-compose -p
mutex-edge-stack-test down -v); MUTEX_STACK_DOCKERD_ARGS adds dockerd options.
"""
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import monitoring  # noqa: E402
    import yaml  # noqa: E402
except ImportError:
    print("stack test: SKIPPED: python3-yaml is missing (./scripts/install-deps.sh --stack)")
    sys.exit(1 if os.environ.get("CI") == "true" else 77)

ROOT = monitoring.ROOT
HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = "mutex-edge-stack-test"
IMAGE = "mutex-edge:local"
SOURCE_IMAGE = "mutex-edge:from-source"
# The from-source build competes with the sanitizer trees for 2 cores at the lowest priority.
SOURCE_BUILD_TIMEOUT = 1500
STANDIN_PROMETHEUS = "prom/prometheus:v2.42.0"
CI = os.environ.get("CI") == "true"
BIN_DIR = os.path.join(ROOT, "build", "bin")
if len(sys.argv) == 3 and sys.argv[1] == "--bin-dir":
    BIN_DIR = os.path.abspath(sys.argv[2])
elif len(sys.argv) != 1:
    sys.exit("usage: stack_test.py [--bin-dir DIR]")
DEADLINE = time.monotonic() + float(os.environ.get("MUTEX_STACK_TIMEOUT", "1500"))
T0 = time.monotonic()


class Skip(Exception):
    pass


class Failed(Exception):
    pass


def say(msg):
    print(f"[{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def remaining(cap):
    left = DEADLINE - time.monotonic()
    if left <= 0:
        raise Failed("out of time (MUTEX_STACK_TIMEOUT)")
    return min(cap, left)


def run(cmd, timeout=120, check=True, env=None, input=None, quiet=False):
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=remaining(timeout),
                          env={**os.environ, **(env or {})}, input=input)
    if check and done.returncode != 0:
        raise Failed(f"{' '.join(cmd)} exited {done.returncode}:\n{(done.stdout + done.stderr)[-3000:]}")
    if not quiet and done.returncode != 0:
        say(f"  ({cmd[0]} exited {done.returncode}: {(done.stderr or done.stdout).strip()[:300]})")
    return done


def request(method, url, body=None, headers=None, timeout=5):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {"Content-Type": "application/json"} if data else {}
        conn.request(method, u.path + (f"?{u.query}" if u.query else ""), body=data,
                     headers={**hdrs, **(headers or {})})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def wait_for(what, probe, timeout, interval=0.5):
    """Calls probe() until it returns a true value; returns it, or fails after timeout s."""
    end = time.monotonic() + remaining(timeout)
    last = None
    while time.monotonic() < end:
        try:
            got = probe()
            if got:
                return got
        except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
            last = e
        time.sleep(interval)
    raise Failed(f"timed out after {timeout} s waiting for {what}" + (f" (last error: {last})" if last else ""))


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


class Stack:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="mutex-edge-stack-")
        self.dockerd = None
        self.compose = None
        self.files = ["-f", os.path.join(ROOT, "docker-compose.yml")]
        self.env_file = os.path.join(self.tmp, "stack.env")
        self.up = False
        self.timings = {}
        self.notes = []
        self.source_build = None

    # ------------------------------------------------------------------ engine
    def engine(self):
        for tool in ("docker",):
            if not shutil.which(tool):
                raise Skip("no docker command (./scripts/install-deps.sh --stack installs Debian's docker.io)")
        if run(["docker", "info"], timeout=30, check=False, quiet=True).returncode == 0:
            say("a container engine answers: using it")
        else:
            self.start_dockerd()
        if shutil.which("docker-compose"):
            self.compose = ["docker-compose"]
        elif run(["docker", "compose", "version"], check=False, quiet=True).returncode == 0:
            self.compose = ["docker", "compose"]
        else:
            raise Skip("no docker-compose (./scripts/install-deps.sh --stack installs Debian's)")
        info = json.loads(run(["docker", "info", "--format", "{{json .}}"]).stdout)
        version = run(self.compose + ["version", "--short"], check=False, quiet=True).stdout.strip()
        say(f"engine {info.get('ServerVersion')} ({info.get('Driver')}, cgroup v{info.get('CgroupVersion', '?')}), "
            f"{' '.join(self.compose)} {version}")

    def start_dockerd(self):
        dockerd = shutil.which("dockerd")
        if not dockerd:
            raise Skip("no dockerd to start and no engine answers (./scripts/install-deps.sh --stack)")
        if os.geteuid() != 0:
            raise Skip("dockerd is not running and only root can start it")
        pidfile = "/var/run/docker.pid"
        if os.path.exists(pidfile):
            try:
                os.kill(int(open(pidfile).read().strip() or 0), 0)
                raise Skip(f"a dockerd ({pidfile}) runs but does not answer `docker info`")
            except (ProcessLookupError, ValueError):
                os.unlink(pidfile)  # left by a dockerd that died
        extra = os.environ.get("MUTEX_STACK_DOCKERD_ARGS", "").split()
        # The default first; then without iptables; then the vfs storage driver (no overlay).
        attempts = [extra, extra + ["--iptables=false"], extra + ["--storage-driver=vfs"]]
        reasons = []
        for i, args in enumerate(attempts):
            log = os.path.join(self.tmp, f"dockerd-{i}.log")
            say(f"starting dockerd {' '.join(args)} (log {log})")
            with open(log, "w") as f:
                proc = subprocess.Popen([dockerd] + args, stdout=f, stderr=subprocess.STDOUT,
                                        start_new_session=True)
            self.dockerd = proc
            end = time.monotonic() + remaining(60)
            while time.monotonic() < end and proc.poll() is None:
                if run(["docker", "info"], timeout=10, check=False, quiet=True).returncode == 0:
                    say(f"dockerd {proc.pid} is up")
                    if args:
                        self.notes.append(f"dockerd needed: {' '.join(args)}")
                    return
                time.sleep(1)
            tail = open(log).read().strip().splitlines()[-3:]
            reasons.append(f"dockerd {' '.join(args) or '(defaults)'}: " + " | ".join(tail))
            self.stop_dockerd()
        raise Skip("no container engine can start here:\n  " + "\n  ".join(reasons))

    def stop_dockerd(self):
        if not self.dockerd:
            return
        proc, self.dockerd = self.dockerd, None
        if proc.poll() is None:
            say(f"stopping the dockerd this test started ({proc.pid})")
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)

    # ------------------------------------------------------------------ images
    def images(self):
        t = time.monotonic()
        done = run([os.path.join(HERE, "make-base-image.sh")], timeout=600)
        self.timings["base image"] = time.monotonic() - t
        say(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "base image ready")

        # The stack's image holds the release tree's binaries, the ones its tests just passed,
        # through the Dockerfile's same runtime stage (--build-arg BINARIES=prebuilt).
        t = time.monotonic()
        self.stage_binaries()
        say(f"building {IMAGE} from the release binaries (docker build --build-arg BINARIES=prebuilt)")
        self.docker_build(["--build-arg", "BINARIES=prebuilt", "-t", IMAGE], "prebuilt.log", 600)
        self.timings["image"] = time.monotonic() - t
        say(f"built {IMAGE} in {self.timings['image']:.0f} s")
        self.start_from_source()

        with open(monitoring.COMPOSE, encoding="utf-8") as f:
            self.compose_doc = yaml.safe_load(f)
        pinned = self.compose_doc["services"]["prometheus"]["image"]
        if run(["docker", "image", "inspect", pinned], check=False, quiet=True).returncode == 0:
            say(f"{pinned} is on this machine: no override")
        elif run(["docker", "pull", pinned], timeout=30, check=False, quiet=True).returncode == 0:
            say(f"pulled {pinned}: no override")
        else:
            t = time.monotonic()
            if run(["docker", "image", "inspect", STANDIN_PROMETHEUS], check=False, quiet=True).returncode != 0:
                say(f"{pinned} cannot be pulled: building {STANDIN_PROMETHEUS} from Debian's prometheus package")
                run(["nice", "-n", "10", "docker", "build", "--network", "host", "-t", STANDIN_PROMETHEUS,
                     "-f", os.path.join(HERE, "prometheus-debian.Dockerfile"), HERE], timeout=600,
                    env={"DOCKER_BUILDKIT": "0"})
            self.files += ["-f", os.path.join(HERE, "compose.override.yml")]
            self.notes.append(f"Prometheus: {pinned} cannot be pulled here; compose.override.yml swaps in "
                              f"{STANDIN_PROMETHEUS} built from Debian's prometheus package")
            self.timings["prometheus image"] = time.monotonic() - t
        grafana = self.compose_doc["services"]["grafana"]["image"]
        self.with_grafana = run(["docker", "image", "inspect", grafana], check=False, quiet=True).returncode == 0
        if not self.with_grafana:
            self.notes.append(f"Grafana: {grafana} cannot be pulled here, so it is not started; "
                              f"its provisioning files are checked")

    def docker_build(self, args, log_name, timeout, background=False):
        """docker build of the Dockerfile (legacy builder, --network host), its output in a log."""
        log = os.path.join(self.tmp, log_name)
        cmd = ["docker", "build", "--network", "host"] + args + [ROOT]
        env = {**os.environ, "DOCKER_BUILDKIT": "0"}
        if background:
            # The lowest CPU share: it takes what the test command's other stages leave idle.
            cmd = ["nice", "-n", "19"] + cmd[:2] + ["--cpu-shares", "2"] + cmd[2:]
            f = open(log, "w")
            return subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env,
                                    start_new_session=True), log
        with open(log, "w") as f:
            done = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, timeout=remaining(timeout), env=env)
        if done.returncode != 0:
            raise Failed(f"{' '.join(cmd)} failed:\n{open(log).read()[-4000:]}")
        return log

    def stage_binaries(self):
        """build/docker/: the release tree's binaries, stripped, and the packages of their libraries."""
        stage = os.path.join(ROOT, "build", "docker")
        shutil.rmtree(stage, ignore_errors=True)
        os.makedirs(os.path.join(stage, "bin"))
        for name in ("mutex-edge", "mutex-mgmt"):
            src = os.path.join(BIN_DIR, name)
            if not os.access(src, os.X_OK):
                raise Failed(f"{src} is missing: build the release tree first")
            run(["install", "-s", src, os.path.join(stage, "bin", name)])
        packages = run([os.path.join(ROOT, "deploy", "docker", "runtime-packages.sh"),
                        os.path.join(stage, "bin", "mutex-edge"), os.path.join(stage, "bin", "mutex-mgmt")])
        with open(os.path.join(stage, "runtime-packages"), "w") as f:
            f.write(packages.stdout)
        self.runtime_packages = packages.stdout.split()

    def start_from_source(self):
        """The Dockerfile as a user builds it, from source, beside the rest of the test."""
        say(f"building {SOURCE_IMAGE} from source in the background (docker build, nice 19)")
        self.source_started = time.monotonic()
        self.source_build, self.source_log = self.docker_build(["-t", SOURCE_IMAGE], "source.log", 0,
                                                               background=True)

    def check_from_source(self):
        """Waits for the from-source build; its image must hold working binaries that link the same
        Debian packages as the release tree's."""
        try:
            code = self.source_build.wait(timeout=remaining(SOURCE_BUILD_TIMEOUT))
        except subprocess.TimeoutExpired:
            raise Failed(f"the from-source docker build did not finish:\n{open(self.source_log).read()[-3000:]}")
        finally:
            if self.source_build.poll() is None:
                os.killpg(self.source_build.pid, signal.SIGKILL)
        self.timings["from-source image (background)"] = time.monotonic() - self.source_started
        if code != 0:
            raise Failed(f"the from-source docker build failed ({code}):\n{open(self.source_log).read()[-4000:]}")
        packages = run(["docker", "run", "--rm", "--network", "none", SOURCE_IMAGE, "cat",
                        "/usr/share/mutex-edge/runtime-packages"]).stdout.split()
        if packages != self.runtime_packages:
            raise Failed(f"{SOURCE_IMAGE} links {packages}, the release tree's binaries {self.runtime_packages}")
        # Its mutex-edge answers the example's users as the tested release binary does.
        with open(os.path.join(ROOT, "examples", "users.jsonl"), encoding="utf-8") as f:
            users = f.read()
        theirs = run(["docker", "run", "--rm", "--network", "none", "-i", SOURCE_IMAGE, "mutex-edge", "assign",
                      "--config-file", "/usr/share/mutex-edge/examples/groups.json"], input=users).stdout
        ours = run([os.path.join(BIN_DIR, "mutex-edge"), "assign", "--config-file",
                    os.path.join(ROOT, "examples", "groups.json")], input=users).stdout
        if theirs != ours or not ours.strip():
            raise Failed(f"{SOURCE_IMAGE}'s `mutex-edge assign` answers {theirs[:300]!r}, the release binary "
                         f"{ours[:300]!r}")
        # The build's compile went through ccache, seeded by the release tree's (the Dockerfile).
        with open(self.source_log, encoding="utf-8", errors="replace") as f:
            counts = dict(re.findall(r"\b(direct_cache_hit|preprocessed_cache_hit|cache_miss) (\d+)", f.read()))
        hits = int(counts.get("direct_cache_hit", 0)) + int(counts.get("preprocessed_cache_hit", 0))
        compiles = hits + int(counts.get("cache_miss", 0))
        say(f"ok  the Dockerfile builds from source ({self.timings['from-source image (background)']:.0f} s "
            f"in the background; {hits} of {compiles} compiles reused from the release tree's through ccache): "
            f"the same {len(packages)} runtime packages, and its `mutex-edge assign` "
            f"answers the example's {len(users.splitlines())} users as the tested release binary does")
        run(["docker", "rmi", SOURCE_IMAGE], check=False, quiet=True)

    def remove_superseded(self):
        # The build stage is an untagged image: keep the newest two (the next run's cache of the
        # prebuilt and the from-source builds) and drop the ones they supersede, so that runs do
        # not pile up 700 MB images.
        stages = run(["docker", "images", "--filter", "dangling=true", "--filter",
                      "label=mutex-edge.stage=build", "--format", "{{.CreatedAt}}\t{{.ID}}"]).stdout.split("\n")
        old = [line.split("\t")[1] for line in sorted(filter(None, stages), reverse=True)[2:]]
        # And the runtime images an earlier run tagged mutex-edge:local.
        old += run(["docker", "images", "-q", "--filter", "dangling=true", "--filter",
                    "label=org.opencontainers.image.title=mutex-edge"]).stdout.split()
        if old:
            run(["docker", "rmi"] + old, timeout=120, check=False, quiet=True)

    # ------------------------------------------------------------------ compose
    def dc(self, *args, timeout=300, check=True):
        return run(self.compose + ["-p", PROJECT, "--env-file", self.env_file] + self.files + list(args),
                   timeout=timeout, check=check)

    def start(self):
        ports = free_ports(7)
        self.keys = {"mgmt": "mgmt-" + secrets.token_hex(8), "sidecar": "sidecar-" + secrets.token_hex(8),
                     "app": "app-" + secrets.token_hex(8)}
        self.ports = dict(zip(["sidecar", "sidecar_admin", "edge", "edge_admin", "mgmt", "prometheus",
                               "grafana"], ports))
        with open(self.env_file, "w") as f:
            f.write(f"MUTEX_STACK_MGMT_API_KEY={self.keys['mgmt']}\n"
                    f"MUTEX_STACK_EDGE_CLIENT_KEYS={self.keys['sidecar']},{self.keys['app']}\n"
                    f"MUTEX_STACK_SIDECAR_KEY={self.keys['sidecar']}\n"
                    f"GRAFANA_ADMIN_PASSWORD={secrets.token_hex(8)}\n"
                    f"MUTEX_SIDECAR_PORT={self.ports['sidecar']}\n"
                    f"MUTEX_SIDECAR_ADMIN_PORT={self.ports['sidecar_admin']}\n"
                    f"MUTEX_EDGE_TIER_PORT={self.ports['edge']}\n"
                    f"MUTEX_EDGE_TIER_ADMIN_PORT={self.ports['edge_admin']}\n"
                    f"MUTEX_MGMT_PORT={self.ports['mgmt']}\n"
                    f"PROMETHEUS_PORT={self.ports['prometheus']}\n"
                    f"GRAFANA_PORT={self.ports['grafana']}\n"
                    f"MUTEX_EDGE_IMAGE={IMAGE}\n")
        self.dc("down", "-v", "--remove-orphans", timeout=120)  # what a killed run left
        self.dc("config", "-q")
        # The example env file sets every variable the compose file requires.
        run(self.compose + ["--env-file", os.path.join(ROOT, "deploy", "compose.env.example"),
                            "-f", monitoring.COMPOSE, "config", "-q"])
        self.services = ["mutex-mgmt", "edge", "sidecar", "prometheus"] + (["grafana"] if self.with_grafana else [])
        t = time.monotonic()
        self.up = True
        say(f"docker-compose up -d {' '.join(self.services)}")
        self.dc("up", "-d", "--no-build", *self.services, timeout=300)
        self.containers = {}
        for s in self.services:
            cid = self.dc("ps", "-q", s).stdout.strip()
            if not cid:
                raise Failed(f"no container for {s}")
            self.containers[s] = cid

        def all_healthy():
            states = {}
            for s, cid in self.containers.items():
                st = json.loads(run(["docker", "inspect", "-f", "{{json .State}}", cid]).stdout)
                if not st.get("Running"):
                    raise Failed(f"{s} is not running: exit {st.get('ExitCode')}\n"
                                 + run(["docker", "logs", "--tail", "30", cid], check=False).stderr)
                states[s] = (st.get("Health") or {}).get("Status")
            return all(v == "healthy" for v in states.values()) and states

        wait_for("every container healthy", all_healthy, 180, interval=1)
        self.timings["compose up to healthy"] = time.monotonic() - t
        say(f"all healthy in {self.timings['compose up to healthy']:.0f} s: {', '.join(self.services)}")

    def url(self, name, path):
        return f"http://127.0.0.1:{self.ports[name]}{path}"

    # ------------------------------------------------------------------ checks
    def check_image(self):
        cfg = json.loads(run(["docker", "image", "inspect", IMAGE]).stdout)[0]
        c = cfg["Config"]
        size = cfg["Size"] / 1e6
        self.image_size = size
        problems = []
        if c.get("User") in ("", "0", "root", None) or c["User"].split(":")[0] in ("0", "root"):
            problems.append(f"runs as {c.get('User')!r}")
        if not (c.get("Entrypoint") or [""])[0].endswith("tini"):
            problems.append(f"entrypoint {c.get('Entrypoint')} is not tini")
        if not c.get("Healthcheck"):
            problems.append("no HEALTHCHECK")
        if problems:
            raise Failed(f"image {IMAGE}: " + "; ".join(problems))
        libs = run(["docker", "run", "--rm", "--network", "none", IMAGE, "sh", "-c",
                    "ldd /usr/local/bin/mutex-edge /usr/local/bin/mutex-mgmt | grep -c 'not found' || true"]).stdout.strip()
        if libs != "0":
            raise Failed(f"image {IMAGE}: {libs} shared libraries not found")
        build_tools = run(["docker", "run", "--rm", "--network", "none", IMAGE, "sh", "-c",
                           "command -v c++ cmake gcc curl || true"]).stdout.strip()
        if build_tools:
            raise Failed(f"image {IMAGE} holds build tools: {build_tools}")
        say(f"ok  image {IMAGE}: {size:.1f} MB, user {c['User']}, entrypoint {c['Entrypoint']}, "
            f"HEALTHCHECK {' '.join(c['Healthcheck']['Test'])}")
        # The image's own HEALTHCHECK script finds each server's port from its command line.
        for s in ("mutex-mgmt", "edge", "sidecar"):
            done = run(["docker", "exec", self.containers[s], "/usr/local/bin/mutex-healthcheck"], check=False)
            if done.returncode != 0:
                raise Failed(f"the image's healthcheck fails in {s}: {done.stdout}{done.stderr}")
        say("ok  the image's HEALTHCHECK script passes in mutex-mgmt, edge and sidecar")

    def mgmt_config(self):
        status, body = request("GET", self.url("mgmt", "/api/1/mutexes?limit=1000"),
                            headers={"Authorization": f"Bearer {self.keys['mgmt']}"})
        if status != 200:
            raise Failed(f"mutex-mgmt GET /api/1/mutexes answered {status}: {body[:200]!r}")
        doc = json.loads(body)
        if doc.get("nextCursor"):
            raise Failed("mutex-mgmt's listing has more than one page")
        return {"mutexes": doc["mutexes"]}

    def expected(self, config, users, mutexes=None):
        """mutex-edge assign (the image's binary) on config, one answer per user."""
        path = os.path.join(self.tmp, "mgmt-config.json")
        with open(path, "w") as f:
            json.dump(config, f)
        os.chmod(path, 0o644)
        os.chmod(self.tmp, 0o755)
        cmd = ["docker", "run", "--rm", "-i", "--network", "none", "-v", f"{path}:/config.json:ro", IMAGE,
               "mutex-edge", "assign", "--config-file", "/config.json"]
        if mutexes:
            cmd += ["--mutex", ",".join(mutexes)]
        done = run(cmd, input="".join(json.dumps(u) + "\n" for u in users))
        return [json.loads(line)["assignments"] for line in done.stdout.splitlines() if line.strip()]

    def served(self, name, users, mutexes=None, key=None):
        out = []
        for u in users:
            body = {"user": u}
            if mutexes:
                body["mutexes"] = mutexes
            status, data = request("POST", self.url(name, "/assign"), body=body,
                                headers={"Authorization": f"Bearer {key}"} if key else None)
            if status != 200:
                raise Failed(f"{name} POST /assign answered {status}: {data[:200]!r}")
            out.append(json.loads(data))
        return out

    def check_assignments(self):
        with open(os.path.join(ROOT, "examples", "users.jsonl")) as f:
            users = [json.loads(line) for line in f if line.strip()]
        rng = random.Random(12)
        users += [{"device_id": f"stack-{rng.randrange(10**9)}", "user_id": f"u{i}",
                   "user_properties": {"company_id": rng.randrange(100)}} for i in range(40)]
        config = self.mgmt_config()
        want = self.expected(config, users)
        got = [r["assignments"] for r in self.served("sidecar", users)]
        if got != want:
            bad = next(i for i, (a, b) in enumerate(zip(got, want)) if a != b)
            raise Failed(f"the sidecar's assignment of {users[bad]} differs from mutex-mgmt's config:\n"
                         f"  sidecar: {got[bad]}\n  expected: {want[bad]}")
        edge = [r["assignments"] for r in self.served("edge", users[:5], key=self.keys["app"])]
        if edge != want[:5]:
            raise Failed("the edge tier's assignments differ from mutex-mgmt's config")
        status, _ = request("GET", self.url("edge", "/assign?device_id=x"))
        if status != 401:
            raise Failed(f"the edge tier answered {status} without a client key (want 401)")
        status, _ = request("GET", self.url("edge", "/metrics"))
        if status != 404:
            raise Failed(f"the edge tier serves /metrics on its serving port ({status}); --admin-listen moved it")
        say(f"ok  {len(users)} users: the sidecar's and the edge tier's assignments equal `mutex-edge assign` "
            f"on mutex-mgmt's {len(config['mutexes'])} groups; the edge tier wants a key (401 without)")

    def check_new_group(self):
        key = "stack-" + "".join(random.choice(string.ascii_lowercase) for _ in range(8))
        group = {"projectId": 5000, "name": f"Stack test {key}", "key": key, "evaluationMode": "local",
                 "bucketingKey": "device_id", "bucketingSalt": "stackSalt1",
                 "slots": [{"percentage": 30, "experiments": [1]}, {"percentage": 70, "experiments": [2]}]}
        t = time.monotonic()
        status, body = request("POST", self.url("mgmt", "/api/1/mutexes"), body=group,
                            headers={"Authorization": f"Bearer {self.keys['mgmt']}"})
        if status != 200:
            raise Failed(f"mutex-mgmt POST /api/1/mutexes answered {status}: {body[:300]!r}")
        users = [{"device_id": f"new-group-{i}"} for i in range(20)]

        def arrived():
            _, data = request("GET", self.url("sidecar", f"/assign?device_id=probe&mutex={key}"))
            return key in json.loads(data).get("assignments", {})

        wait_for(f"group {key} to reach the sidecar", arrived, 60, interval=0.2)
        took = time.monotonic() - t
        want = self.expected(self.mgmt_config(), users, [key])
        got = [r["assignments"] for r in self.served("sidecar", users, [key])]
        if got != want:
            raise Failed(f"the new group's assignments differ: {got[:2]} vs {want[:2]}")
        slots = {a[key]["slot"] for a in got}
        self.timings["new group to sidecar"] = took
        say(f"ok  group {key} created in mutex-mgmt reached the sidecar in {took:.1f} s "
            f"(mgmt -> edge -> sidecar); its assignments match (slots {sorted(slots)})")

    def check_persisted(self):
        """With the edge tier down, a restarted sidecar serves the config from its volume."""
        self.dc("stop", "-t", "15", "edge")
        self.dc("restart", "-t", "15", "sidecar")

        def ready_again():
            status, data = request("GET", self.url("sidecar", "/assign?device_id=d-1&mutex=checkout"))
            return status == 200 and "checkout" in json.loads(data)["assignments"]

        wait_for("the restarted sidecar to serve without its upstream", ready_again, 30, interval=0.3)
        _, body = request("GET", self.url("sidecar_admin", "/status"))
        source = json.loads(body).get("source", "")
        say(f"ok  edge tier stopped, sidecar restarted: it serves its persisted config at once ({source})")
        self.dc("start", "edge")
        wait_for("the edge tier healthy again",
                 lambda: json.loads(run(["docker", "inspect", "-f", "{{json .State.Health.Status}}",
                                         self.containers["edge"]]).stdout) == "healthy", 60, interval=1)
        wait_for("the sidecar polling the edge tier again",
                 lambda: json.loads(request("GET", self.url("sidecar_admin", "/status"))[1])
                 ["lastAttempt"]["result"] in ("updated", "unchanged", "not_modified"), 60, interval=0.5)

    def prom(self, path, **params):
        status, body = request("GET", self.url("prometheus", path + "?" + urllib.parse.urlencode(params)), timeout=10)
        doc = json.loads(body)
        return status, doc

    def check_prometheus(self):
        def both_up():
            _, doc = self.prom("/api/v1/query", query='up{job="mutex-edge"}')
            got = {r["metric"]["tier"]: r["value"][1] for r in doc["data"]["result"]}
            return got == {"edge": "1", "sidecar": "1"} and got

        wait_for("Prometheus to report both edges up", both_up, 60, interval=1)
        say("ok  Prometheus: up{job=\"mutex-edge\"} is 1 for tier=edge and tier=sidecar")
        # Traffic for the dashboard: assignments, a 404, a 400 and 401s, through both edges.
        for i in range(50):
            request("GET", self.url("sidecar", f"/assign?device_id=traffic-{i}"))
            request("GET", self.url("edge", f"/assign?device_id=traffic-{i}"),
                 headers={"Authorization": f"Bearer {self.keys['app']}"})
        request("GET", self.url("sidecar", "/nope"))
        request("POST", self.url("sidecar", "/assign"), body=["not", "a", "user"])
        request("GET", self.url("edge", "/assign?device_id=nokey"))

        _, rules = self.prom("/api/v1/rules")
        loaded = {r["name"]: r for g in rules["data"]["groups"] for r in g["rules"]}
        names = [n for n, _ in monitoring.alert_rules()]
        missing = [n for n in names if n not in loaded]
        unhealthy = {n: loaded[n].get("lastError") for n in names if n in loaded and loaded[n].get("health") not in ("ok", "unknown")}
        if missing or unhealthy:
            raise Failed(f"Prometheus alert rules: missing {missing}, unhealthy {unhealthy}")
        wait_for("the alert rules evaluated", lambda: all(
            r.get("health") == "ok" for g in self.prom("/api/v1/rules")[1]["data"]["groups"] for r in g["rules"]), 30, 1)
        firing = [a["labels"]["alertname"] for a in self.prom("/api/v1/alerts")[1]["data"]["alerts"]
                  if a["state"] == "firing"]
        say(f"ok  Prometheus loaded the {len(names)} alert rules of alerts.yml, all healthy; firing: {firing or 'none'}")
        done = run(["docker", "exec", self.containers["prometheus"], "promtool", "check", "config",
                    "/etc/prometheus/prometheus.yml"], check=False)
        if done.returncode != 0:
            raise Failed(f"promtool check config in the Prometheus container: {done.stdout}{done.stderr}")

        queries = [("alert", n, e) for n, e in monitoring.alert_rules()] + \
                  [("dashboard", f"{t} [{r}]", q) for t, r, q in monitoring.dashboard_queries()]
        # Panels that may rightly be empty here: nothing failed, nothing was rejected.
        may_be_empty = ("Failed config loads and polls", "Poll time p99")
        result = {}

        def every_panel_has_data():
            # rate() over the traffic needs two scrapes after it: asked again until they came.
            empty_dashboard, rows = [], []
            for source, name, expr in queries:
                status, doc = self.prom("/api/v1/query", query=expr)
                if status != 200 or doc.get("status") != "success":
                    raise Failed(f"Prometheus rejects the {source} query {name!r}: {doc.get('error')}\n  {expr}")
                n = len(doc["data"]["result"])
                rows.append(f"      {n:3d} series  {source:9s} {name}")
                if source == "dashboard" and n == 0:
                    empty_dashboard.append(name)
            result.update(rows=rows, empty=empty_dashboard,
                          unexpected=[n for n in empty_dashboard if not n.startswith(may_be_empty)])
            return not result["unexpected"]

        try:
            wait_for("data in every dashboard query after the traffic", every_panel_has_data, 60, interval=2)
        except Failed as e:
            if "timed out" not in str(e):
                raise  # a query Prometheus rejects
            raise Failed(f"dashboard queries with no data after traffic: {result.get('unexpected')}") from e
        print("\n".join(result["rows"]))
        empty_dashboard = result["empty"]
        say(f"ok  Prometheus ran all {len(queries)} PromQL expressions (alerts.yml and the dashboard): every one parses; "
            f"{len(queries) - len(empty_dashboard) - len(names)} dashboard queries returned data"
            + (f", empty as expected here: {empty_dashboard}" if empty_dashboard else ""))

    def check_grafana(self):
        problems = monitoring.provisioning_problems()
        if problems:
            raise Failed("Grafana provisioning: " + "; ".join(problems))
        n = len(monitoring.dashboard_queries())
        say(f"ok  Grafana provisioning: datasource and dashboard parse, every panel uses the provisioned datasource, "
            f"and its {n} queries are those Prometheus ran above")
        if self.with_grafana:
            def ds_ok():
                status, body = request("GET", self.url("grafana", "/api/dashboards/uid/mutex-edge"))
                return status == 200
            wait_for("Grafana to serve the provisioned dashboard", ds_ok, 60, 1)
            say("ok  Grafana serves the provisioned dashboard")

    def stop_and_down(self):
        t = time.monotonic()
        self.dc("stop", "-t", "20", timeout=180)
        codes = {}
        for s, cid in self.containers.items():
            codes[s] = int(run(["docker", "inspect", "-f", "{{.State.ExitCode}}", cid]).stdout.strip())
        bad = {s: c for s, c in codes.items() if s in ("mutex-mgmt", "edge", "sidecar") and c != 0}
        if bad:
            raise Failed(f"servers did not exit 0 on SIGTERM: {bad}")
        say(f"ok  docker-compose stop: exit codes {codes} (tini forwards SIGTERM; the servers drain and exit 0)")
        self.down()
        self.timings["stop and down"] = time.monotonic() - t
        label = f"label=com.docker.compose.project={PROJECT}"
        left = {
            "containers": run(["docker", "ps", "-aq", "--filter", label]).stdout.split(),
            "volumes": run(["docker", "volume", "ls", "-q", "--filter", label]).stdout.split(),
            "networks": run(["docker", "network", "ls", "-q", "--filter", label]).stdout.split(),
        }
        if any(left.values()):
            raise Failed(f"docker-compose down -v left {left}")
        say("ok  docker-compose down -v: no container, volume or network of the project is left")

    def down(self):
        if self.up:
            self.up = False
            self.dc("down", "-v", "--remove-orphans", "-t", "20", timeout=180, check=False)

    def logs(self):
        if self.up:
            done = self.dc("logs", "--no-color", "--tail", "40", timeout=60, check=False)
            print(done.stdout[-8000:])

    def cleanup(self):
        if self.source_build is not None and self.source_build.poll() is None:
            os.killpg(self.source_build.pid, signal.SIGKILL)  # the daemon cancels the build
            self.source_build.wait(timeout=30)
        try:
            if os.environ.get("MUTEX_STACK_KEEP") == "1" and self.up:
                say(f"MUTEX_STACK_KEEP=1: the stack stays up (docker-compose -p {PROJECT} "
                    f"--env-file {self.env_file} {' '.join(self.files)} down -v)")
                return
            self.down()
        finally:
            if not (os.environ.get("MUTEX_STACK_KEEP") == "1" and self.up):
                self.stop_dockerd()
                shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    def on_signal(signum, _frame):
        raise Failed(f"interrupted by signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stack = Stack()
    result = 1
    try:
        stack.engine()
        stack.images()
        stack.start()
        stack.check_image()
        stack.check_assignments()
        stack.check_new_group()
        stack.check_persisted()
        stack.check_prometheus()
        stack.check_grafana()
        if os.environ.get("MUTEX_STACK_KEEP") != "1":
            stack.stop_and_down()
        stack.check_from_source()
        stack.remove_superseded()
        result = 0
    except Skip as e:
        if CI:
            print(f"stack test: FAILED: CI=true and {e}")
        else:
            print(f"stack test: SKIPPED: {e}")
            result = 77
    except BaseException as e:  # noqa: BLE001 - every failure, reported and cleaned up
        say(f"FAILED: {type(e).__name__}: {e}")
        if not isinstance(e, (Failed, subprocess.TimeoutExpired, OSError, ValueError, KeyError)):
            import traceback
            traceback.print_exc()
        try:
            stack.logs()
        except Exception as log_error:  # noqa: BLE001 - the failure above matters more
            say(f"(no logs: {log_error})")
    finally:
        stack.cleanup()
    if result == 0 and stack.up:
        print(f"stack test: passed; the stack stays up (MUTEX_STACK_KEEP=1)")
    elif result == 0:
        total = time.monotonic() - T0
        print("stack test: passed in %.0f s (%s); image %s %.1f MB" % (
            total, ", ".join(f"{k} {v:.0f} s" for k, v in stack.timings.items()), IMAGE, stack.image_size))
        for n in stack.notes:
            print(f"  note: {n}")
    return result


if __name__ == "__main__":
    sys.exit(main())
