#!/usr/bin/env python3
"""Small jobs of load/run.sh that are clearer in Python than in bash (standard library only).

    run_helper.py keys URL OUT              the group keys a running mutex-edge serves, one a line
    run_helper.py sample SCENARIO KEYS OUT  one sample request of a scenario: prints
                                            "METHOD PATH", writes its body (maybe empty) to OUT
    run_helper.py nginx-conf TEMPLATE DIR PORT WORKERS
                                            writes DIR/nginx.conf serving DIR/body.json
    run_helper.py churn --url URL --groups N --seed S --interval 0.1 --seconds T --out F
                        [--vary experiments|mixed]
                                            edits a group of mutex-mgmt every interval (the
                                            bearer key from MUTEX_MGMT_KEY) until T seconds or
                                            SIGTERM; writes its counts to F as JSON. --vary
                                            mixed (load/soak.sh) rotates through experiments,
                                            individuals, holdouts and the description

Every network call has a timeout and every loop a bound.
"""
import http.client
import json
import os
import random
import signal
import sys
import time
import urllib.parse

SAMPLE_USER = {"user_id": "user-17", "device_id": "dev-4242"}
BATCH_USERS, BATCH_GROUPS = 100, 10  # the defaults of load/scenarios/batch.lua


def keys(url, out):
    """Pages through GET URL/api/1/mutexes (at most 1,000 pages of 1,000)."""
    base = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(base.hostname, base.port or 80, timeout=10)
    found, cursor = [], None
    for _ in range(1000):
        query = "limit=1000" + (f"&cursor={urllib.parse.quote(str(cursor))}" if cursor else "")
        conn.request("GET", f"/api/1/mutexes?{query}")
        reply = conn.getresponse()
        page = reply.read()
        if reply.status != 200:
            sys.exit(f"run_helper.py: GET {url}/api/1/mutexes answered {reply.status}: {page[:200]!r}")
        doc = json.loads(page)
        found += [g["key"] for g in doc["mutexes"]]
        cursor = doc.get("nextCursor")
        if not cursor:
            break
    if not found:
        sys.exit(f"run_helper.py: {url} serves no groups")
    with open(out, "w", encoding="utf-8") as f:
        f.write("".join(k + "\n" for k in found))


def sample(scenario, keys_file, out):
    """The request whose answer nginx serves as its constant, shaped like the scenario's."""
    with open(keys_file, encoding="utf-8") as f:
        names = [line.strip() for line in f if line.strip()]
    query = "/assign?" + urllib.parse.urlencode({"device_id": SAMPLE_USER["device_id"],
                                                 "user_id": SAMPLE_USER["user_id"]})
    body = ""
    if scenario in ("get-one", "get-one-close"):
        method, path = "GET", f"{query}&mutex={urllib.parse.quote(names[0])}"
    elif scenario == "get-all":
        method, path = "GET", query
    elif scenario == "post-one":
        method, path = "POST", "/assign"
        body = json.dumps({"user": SAMPLE_USER, "mutexes": names[:1]})
    elif scenario == "batch":
        method, path = "POST", "/assign/batch"
        users = [{"user_id": f"user-{i}", "device_id": f"dev-{i}"} for i in range(1, BATCH_USERS + 1)]
        body = json.dumps({"users": users, "mutexes": names[:BATCH_GROUPS]})
    else:
        sys.exit(f"run_helper.py: no sample for scenario '{scenario}'")
    with open(out, "w", encoding="utf-8") as f:
        f.write(body)
    print(method, path)


STATIC_ANSWER = """      root {dir};
      try_files /body.json =500;
      etag off;
      max_ranges 0;
      add_header Last-Modified "";
      # The static handler answers POST with 405; this serves the same file to it instead.
      error_page 405 =200 $uri;"""


def nginx_conf(template, directory, port, workers):
    """nginx's configuration token buffer is 4 KB, and `$` would start a variable."""
    with open(os.path.join(directory, "body.json"), "rb") as f:
        body = f.read().decode("utf-8")
    if len(body.encode()) <= 3500 and "$" not in body:
        escaped = body.replace("\\", "\\\\").replace("'", "\\'")
        answer = f"      return 200 '{escaped}';"
    else:
        answer = STATIC_ANSWER.format(dir=directory)
    with open(template, encoding="utf-8") as f:
        text = f.read()
    for k, v in (("@PORT@", port), ("@WORKERS@", workers), ("@DIR@", directory),
                 ("\n@ANSWER@\n", f"\n{answer}\n")):  # the line, not the comment naming it
        text = text.replace(k, v)
    with open(os.path.join(directory, "nginx.conf"), "w", encoding="utf-8") as f:
        f.write(text)
    print("return" if answer.startswith("      return") else "file")


def mixed_edit(rng, seed, n):
    """The n-th edit of --vary mixed: (path suffix, body), each different from all before it."""
    kind, slot = n % 4, rng.randint(1, 2)  # every generated group has at least 2 slots
    if kind == 0:
        return f"/slots/{slot}", {"experiments": [seed, n]}
    if kind == 1:
        return f"/slots/{slot}", {"individuals": [f"soak-{seed}-{n}-{i}" for i in range(rng.randint(1, 8))]}
    if kind == 2:
        return f"/slots/{slot}", {"holdouts": [seed, n]}
    return "", {"description": f"soak edit {seed}-{n}"}


def churn(argv):
    """PATCH /api/1/mutexes/K/slots/1 with new experiments, K drawn from the seed (give each
    run its own seed); with --vary mixed, the edits of mixed_edit."""
    opts = dict(zip(argv[::2], argv[1::2]))
    if opts.get("--vary", "experiments") not in ("experiments", "mixed"):
        sys.exit(f"run_helper.py: --vary is experiments or mixed, not {opts['--vary']!r}")
    mixed = opts.get("--vary") == "mixed"
    url = urllib.parse.urlsplit(opts["--url"])
    groups, interval = int(opts["--groups"]), float(opts["--interval"])
    rng = random.Random(int(opts["--seed"]))
    headers = {"Content-Type": "application/json",
               "Authorization": f"Bearer {os.environ.get('MUTEX_MGMT_KEY', '')}"}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    counts = {"edits": 0, "failed": 0, "max_ms": 0.0, "errors": []}
    start = time.monotonic()
    end = start + float(opts["--seconds"])
    conn = None
    n = 0
    while not stop and time.monotonic() < end:
        k = rng.randint(1, groups)
        # (seed, n) is new in every edit of every run: each edit changes the group.
        body = json.dumps({"experiments": [int(opts["--seed"]), n]})
        path = f"/api/1/mutexes/{k}/slots/1"
        if mixed:
            suffix, edit = mixed_edit(rng, int(opts["--seed"]), n)
            path, body = f"/api/1/mutexes/{k}{suffix}", json.dumps(edit)
        t = time.monotonic()
        try:
            conn = conn or http.client.HTTPConnection(url.hostname, url.port, timeout=2)
            conn.request("PATCH", path, body, headers)
            reply = conn.getresponse()
            text = reply.read()
            ok = reply.status == 200
            if not ok and len(counts["errors"]) < 5:
                counts["errors"].append(f"{reply.status} {text[:200]!r}")
        except (OSError, http.client.HTTPException) as e:
            ok, conn = False, None
            if len(counts["errors"]) < 5:
                counts["errors"].append(repr(e))
        counts["edits" if ok else "failed"] += 1
        counts["max_ms"] = max(counts["max_ms"], (time.monotonic() - t) * 1000)
        n += 1
        time.sleep(max(0.0, start + n * interval - time.monotonic()))
    cpu = os.times()
    counts["cpu_s"] = cpu.user + cpu.system
    with open(opts["--out"], "w", encoding="utf-8") as f:
        json.dump(counts, f)


if __name__ == "__main__":
    cmd, args = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if cmd == "keys" and len(args) == 2:
        try:
            keys(*args)
        except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
            sys.exit(f"run_helper.py: cannot list the groups of {args[0]}: {e!r}")
    elif cmd == "sample" and len(args) == 3:
        sample(*args)
    elif cmd == "nginx-conf" and len(args) == 4:
        nginx_conf(*args)
    elif cmd == "churn" and (len(args) == 12 or (len(args) == 14 and "--vary" in args[::2])):
        churn(args)
    else:
        sys.exit(__doc__)
