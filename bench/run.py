#!/usr/bin/env python3
"""Benchmark of `baseline plan` over every emulator region.

Starts the project's emulator twice on loopback, without and with a fixed added latency
per request, warms each up (moto builds a region's backend on first use), then times
`baseline plan` and prints: wall time without and with latency, the number of AWS
requests one plan makes, the peak memory of the process, and the depth:

    depth = (wall with latency - wall without) / latency

i.e. how many round trips a user waits for in sequence. It prints figures; it asserts
nothing. Usage: bench/run.py [--latency-ms 50] [--runs 3] [--baseline FILE] [--release]

With --fleet N [--shards 8] it simulates the fleet deployment (examples/aws-fleet): two
emulators with an organization of N members each (+100 ms per request by default); on one,
a single process's apply; on the other, the organization step (--org-only), `accounts
--write-shards`, the shards as concurrent processes and `report merge`. It prints each
step's wall and peak memory, requests per account and in flight, task-seconds per account,
and whether the merged report holds the same changes and outcomes as the single run (it
exits 1 if not).

With --accounts N[,N…] it times an organization run instead: an emulated organization of
N member accounts besides the management account, the baseline with an enabled
[organization] table, one emulator with --latency-ms added (500 by default here), and
prints per N: requests (and per account), wall, peak memory and the average number of
requests in flight (the emulator's sum of request durations / wall).
"""

import argparse
import collections
import json
import os
import statistics
import subprocess
import tempfile
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start_emulator(latency_ms):
    proc = subprocess.Popen(
        [os.path.join(ROOT, ".venv-emulator/bin/python"), os.path.join(ROOT, "scripts/emulator.py"),
         "--port", "0", "--latency-ms", str(latency_ms)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    line = proc.stdout.readline()
    return proc, int(line.split()[-1])


def make_organization(port, members):
    """CreateOrganization and `members` CreateAccount calls, through the emulator's boto3."""
    code = f"""
import boto3
o = boto3.client("organizations", endpoint_url="http://127.0.0.1:{port}", region_name="us-east-1",
                 aws_access_key_id="testing", aws_secret_access_key="testing")
o.create_organization(FeatureSet="ALL")
for i in range({members}):
    o.create_account(AccountName=f"member-{{i}}", Email=f"member-{{i}}@example.com")
"""
    subprocess.run([os.path.join(ROOT, ".venv-emulator/bin/python"), "-c", code], check=True)


def measure_organization(binary, baseline, latency_ms, members, concurrency, account_concurrency):
    proc, port = start_emulator(latency_ms)
    try:
        make_organization(port, members)
        with open(baseline) as f:
            text = f.read()
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write(text + "\n[organization]\nenabled = true\n")
            org_baseline = f.name
        extra = ["--account-concurrency", str(account_concurrency)] if account_concurrency else []
        # A first plan warms the emulator up (moto builds each account's region backends,
        # default VPCs included, on first use: seconds of CPU each on this machine).
        run_plan(binary, port, org_baseline, concurrency, extra)
        requests(port, clear=True)
        wall, rss = run_plan(binary, port, org_baseline, concurrency, extra)
        seen = requests(port)
        busy = sum(r.get("seconds", 0.0) for r in seen)
        os.unlink(org_baseline)
        return wall, rss, seen, busy
    finally:
        proc.kill()
        proc.wait()


def run_plan(binary, port, baseline, concurrency, extra=()):
    env = binary_env(port)
    args = [binary, "plan", "--baseline", baseline, "--quiet"]
    if concurrency:
        args += ["--concurrency", str(concurrency)]
    args += list(extra)
    start = time.perf_counter()
    out = tempfile.TemporaryFile()
    proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 2):
        out.seek(0)
        failures = [line for line in out.read().decode().splitlines() if line.lstrip().startswith("!")]
        print(f"baseline plan exited {code}: {proc.stderr.read().decode()}", file=sys.stderr)
        print("\n".join(failures[:20]), file=sys.stderr)
        if not failures:
            sys.exit(1)
    return wall, usage.ru_maxrss  # KiB on Linux


def requests(port, clear=False):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/_baseline/requests", method="DELETE" if clear else "GET")
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def measure(binary, baseline, latency_ms, runs, concurrency):
    proc, port = start_emulator(latency_ms)
    try:
        # The first plan on a fresh emulator: the binary's pages may be cold, and moto
        # builds each region's backend on first use.
        cold, _ = run_plan(binary, port, baseline, concurrency)
        walls, peak, count = [], 0, 0
        for _ in range(runs):
            requests(port, clear=True)
            wall, rss = run_plan(binary, port, baseline, concurrency)
            walls.append(wall)
            peak = max(peak, rss)
            count = len(requests(port))
        return statistics.median(walls), peak, count, cold
    finally:
        proc.kill()
        proc.wait()


# The fleet test's baseline (tests/it/fleet.rs), with the tooling account named.
FLEET_ORGANIZATION = '\n[organization]\nenabled = true\ndelegated_admin = "{tooling}"\n'


def binary_env(port):
    return {
        "PATH": os.environ.get("PATH", ""),
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true", "NO_COLOR": "1",
    }


def measured(binary, port, args, what, ok=(0,)):
    """Runs `baseline ARGS`: (wall seconds, peak RSS in KiB); exits the benchmark if it fails."""
    err = tempfile.TemporaryFile()
    start = time.perf_counter()
    proc = subprocess.Popen([binary, *args], env=binary_env(port), stdout=subprocess.DEVNULL, stderr=err)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        err.seek(0)
        sys.exit(f"{what} exited {code}: {err.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss


def fleet_side(binary, latency_ms, members, shards, work, sharded):
    """One emulator with an organization of `members`: one process's apply, or the fleet
    flow (--org-only, accounts --write-shards, the shards at once, report merge)."""
    proc, port = start_emulator(latency_ms)
    try:
        make_organization(port, members)
        # The tooling account: the first member (ids differ between emulators).
        listing = subprocess.run([binary, "accounts", "--baseline", os.path.join(ROOT, "baselines/organization.toml")],
                                 env=binary_env(port), capture_output=True, text=True, check=True).stdout
        names = {json.loads(l)["account"]: json.loads(l)["name"] for l in listing.splitlines()}
        tooling = next(a for a, n in names.items() if n == "member-0")
        baseline = os.path.join(work, f"fleet-{'sharded' if sharded else 'one'}.toml")
        with open(os.path.join(ROOT, "bench/fleet.toml")) as f:
            text = f.read()
        with open(baseline, "w") as f:
            f.write(text + FLEET_ORGANIZATION.format(tooling=tooling))
        # Warm the emulator up (moto builds each account's region backends on first use).
        measured(binary, port, ["plan", "--quiet", "--baseline", baseline], "warm-up plan", ok=(0, 2))
        requests(port, clear=True)
        steps = {}
        if not sharded:
            report = os.path.join(work, "one.json")
            steps["one process"] = measured(
                binary, port, ["apply", "--auto-approve", "--quiet", "--baseline", baseline, "--report", report],
                "apply") + (members + 1,)
        else:
            reports = os.path.join(work, "reports")
            os.makedirs(reports, exist_ok=True)
            steps["organization step"] = measured(
                binary, port, ["apply", "--auto-approve", "--quiet", "--org-only", "--baseline", baseline,
                               "--report", os.path.join(reports, "organization.json")],
                "apply --org-only") + (2,)
            start = time.perf_counter()
            shard_dir = os.path.join(work, "shards")
            subprocess.run([binary, "accounts", "--quiet", "--baseline", baseline, "--shards", str(shards),
                            "--write-shards", shard_dir], env=binary_env(port), check=True,
                           stdout=subprocess.DEVNULL)
            steps["list shards"] = (time.perf_counter() - start, 0, 0)
            with open(os.path.join(shard_dir, "shards.json")) as f:
                items = json.load(f)
            start = time.perf_counter()
            running = {}
            for item in items:
                p = subprocess.Popen([binary, "apply", "--auto-approve", "--quiet", "--baseline", baseline,
                                      "--account-file", item["account_file"], "--report",
                                      os.path.join(reports, f"shard-{item['shard']}.json")],
                                     env=binary_env(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                running[p.pid] = (item, time.perf_counter())
            shard_stats = []
            while running:
                pid, status, usage = os.wait4(-1, 0)
                item, began = running.pop(pid)
                code = os.waitstatus_to_exitcode(status)
                if code != 0:
                    sys.exit(f"shard {item['shard']} exited {code}")
                shard_stats.append((time.perf_counter() - began, usage.ru_maxrss, item["accounts"]))
            steps["shards at once"] = (time.perf_counter() - start, max(s[1] for s in shard_stats),
                                       sum(s[2] for s in shard_stats))
            steps["shard task-seconds"] = (sum(s[0] for s in shard_stats), 0, sum(s[2] for s in shard_stats))
            start = time.perf_counter()
            subprocess.run([binary, "report", "merge", reports, "--report", os.path.join(work, "merged.json"),
                            "--quiet"], env=binary_env(port), check=True, stdout=subprocess.DEVNULL)
            steps["merge"] = (time.perf_counter() - start, 0, 0)
            report = os.path.join(work, "merged.json")
        seen = requests(port)
        with open(report) as f:
            doc = json.load(f)
        return steps, seen, doc, names
    finally:
        proc.kill()
        proc.wait()


def outcomes(doc, names):
    out = set()
    for c in doc["changes"]:
        address = c["address"]
        for account, name in names.items():
            address = address.replace(account, name)
        out.add((address, c["action"], c["status"]))
    return out


def fleet(binary, kind, latency_ms, members, shards):
    print(f"binary: {kind}; organization of {members} members + management; {shards} shards; "
          f"+{latency_ms:g} ms/request; regions us-east-1, eu-west-1; --concurrency 64 per process")
    with tempfile.TemporaryDirectory() as work:
        one_dir, fleet_dir = os.path.join(work, "one"), os.path.join(work, "fleet")
        os.makedirs(one_dir)
        os.makedirs(fleet_dir)
        one_steps, one_seen, one_doc, one_names = fleet_side(binary, latency_ms, members, shards, one_dir, False)
        steps, seen, merged, names = fleet_side(binary, latency_ms, members, shards, fleet_dir, True)
    a, b = outcomes(one_doc, one_names), outcomes(merged, names)
    same = a == b and one_doc["outcome"] == merged["outcome"]
    accounts = members + 1
    print(f"{'step':<22} {'wall s':>8} {'peak MiB':>9} {'accounts':>8}")
    for name, (wall, rss, n) in list(one_steps.items()) + list(steps.items()):
        print(f"{name:<22} {wall:>8.2f} {rss / 1024:>9.1f} {n:>8}")
    fleet_wall = sum(w for k, (w, _, _) in steps.items() if k != "shard task-seconds")
    one_wall = one_steps["one process"][0]
    print(f"wall: one process {one_wall:.2f} s; fleet (organization step + list + shards + merge) "
          f"{fleet_wall:.2f} s ({one_wall / fleet_wall:.2f}x)")
    for label, n, wall in [("one process", len(one_seen), one_wall), ("fleet", len(seen), fleet_wall)]:
        busy = sum(r.get("seconds", 0.0) for r in (one_seen if label == "one process" else seen))
        print(f"{label}: {n} requests, {n / accounts:.1f} per account, {busy / wall:.1f} in flight on average")
    count = lambda seen: collections.Counter(f"{r.get('service')}:{r.get('action') or r.get('method')}" for r in seen)
    a_counts, b_counts = count(one_seen), count(seen)
    differ = sorted(set(a_counts) | set(b_counts), key=lambda k: -abs(a_counts[k] - b_counts[k]))[:6]
    print("requests that differ (one process / fleet): " +
          ", ".join(f"{k} {a_counts[k]}/{b_counts[k]}" for k in differ if a_counts[k] != b_counts[k]))
    per_account_seconds = steps["shard task-seconds"][0] / steps["shard task-seconds"][2]
    print(f"per account (shards): {per_account_seconds:.2f} task-seconds, "
          f"{steps['shards at once'][1] / 1024 / (accounts / shards):.2f} MiB of a shard's peak")
    print(f"merged report equals one process's run (changes, actions, statuses, outcome): {same} "
          f"({len(a)} changes; differences: {sorted(a ^ b)[:5]})")
    if not same:
        sys.exit(1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--latency-ms", type=float, default=50.0)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--baseline", default=os.path.join(ROOT, "baselines/minimal.toml"))
    p.add_argument("--concurrency", type=int, default=0, help="default: the tool's own")
    p.add_argument("--release", action="store_true", help="build and time the release binary")
    p.add_argument("--binary", help="time this binary instead of building one (to compare builds)")
    p.add_argument("--accounts", help="organization run: member counts, comma-separated (1,10,50)")
    p.add_argument("--account-concurrency", type=int, default=0, help="default: the tool's own")
    p.add_argument("--fleet", type=int, help="fleet simulation: members of the emulated organization (200)")
    p.add_argument("--shards", type=int, default=8, help="with --fleet: shards run as concurrent processes")
    a = p.parse_args()

    subprocess.run([os.path.join(ROOT, "scripts/install-emulator.sh")], check=True)
    if a.binary:
        binary, kind = os.path.abspath(a.binary), a.binary
    else:
        profile = ["--release"] if a.release else []
        subprocess.run(["cargo", "build", "--quiet", "--bin", "baseline", *profile], cwd=ROOT, check=True)
        binary = os.path.join(ROOT, "target", "release" if a.release else "debug", "baseline")
        kind = f"{'release' if a.release else 'debug'} build"

    if a.fleet:
        latency = a.latency_ms if "--latency-ms" in sys.argv else 100.0
        fleet(binary, kind, latency, a.fleet, a.shards)
        return

    if a.accounts:
        latency = a.latency_ms if "--latency-ms" in sys.argv else 500.0
        concurrency = a.concurrency or 64
        print(f"binary: {kind}; baseline: {os.path.relpath(a.baseline, ROOT)}; +{latency:g} ms/request; "
              f"--concurrency {concurrency}; --account-concurrency {a.account_concurrency or 'default'}")
        print(f"{'members':>7} {'accounts':>8} {'requests':>8} {'per acct':>8} {'wall s':>7} "
              f"{'peak MiB':>8} {'in flight':>9} {'% of bound':>10}")
        _, _, single, _ = measure(binary, a.baseline, 0, 1, concurrency)
        print(f"one account, no [organization]: {single} requests per plan")
        for n in [int(x) for x in a.accounts.split(",")]:
            wall, rss, seen, busy = measure_organization(
                binary, a.baseline, latency, n, concurrency, a.account_concurrency)
            accounts = n + 1
            in_flight = busy / wall
            print(f"{n:>7} {accounts:>8} {len(seen):>8} {len(seen) / accounts:>8.1f} {wall:>7.2f} "
                  f"{rss / 1024:>8.1f} {in_flight:>9.1f} {100 * in_flight / concurrency:>9.0f}%")
        return

    wall0, mem0, req0, cold0 = measure(binary, a.baseline, 0, a.runs, a.concurrency)
    wall1, mem1, req1, _ = measure(binary, a.baseline, a.latency_ms, a.runs, a.concurrency)
    depth = (wall1 - wall0) / (a.latency_ms / 1000.0)
    print(f"binary:                 {kind} ({os.path.getsize(binary) / 1e6:.1f} MB)")
    print(f"first plan (cold):      {cold0:.3f} s (fresh emulator, binary just started)")
    print(f"baseline:               {os.path.relpath(a.baseline, ROOT)}")
    print(f"wall, no added latency: {wall0:.3f} s (median of {a.runs})")
    print(f"wall, +{a.latency_ms:g} ms/request: {wall1:.3f} s (median of {a.runs})")
    print(f"AWS requests per plan:  {req0} (with latency: {req1})")
    print(f"peak memory:            {max(mem0, mem1) / 1024:.1f} MiB")
    print(f"depth:                  {depth:.1f} round trips in sequence")


if __name__ == "__main__":
    main()
