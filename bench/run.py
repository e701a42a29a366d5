#!/usr/bin/env python3
"""Benchmark of `baseline plan` over every emulator region.

Starts the project's emulator twice on loopback, without and with a fixed added latency
per request, warms each up (moto builds a region's backend on first use), then times
`baseline plan` and prints: wall time without and with latency, the number of AWS
requests one plan makes, the peak memory of the process, and the depth:

    depth = (wall with latency - wall without) / latency

i.e. how many round trips a user waits for in sequence. It prints figures; it asserts
nothing. Usage: bench/run.py [--latency-ms 50] [--runs 3] [--baseline FILE] [--release]
"""

import argparse
import json
import os
import statistics
import subprocess
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


def run_plan(binary, port, baseline, concurrency):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true", "NO_COLOR": "1",
    }
    args = [binary, "plan", "--baseline", baseline, "--quiet"]
    if concurrency:
        args += ["--concurrency", str(concurrency)]
    start = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 2):
        sys.exit(f"baseline plan failed: {proc.stderr.read().decode()}")
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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--latency-ms", type=float, default=50.0)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--baseline", default=os.path.join(ROOT, "baselines/minimal.toml"))
    p.add_argument("--concurrency", type=int, default=0, help="default: the tool's own")
    p.add_argument("--release", action="store_true", help="build and time the release binary")
    p.add_argument("--binary", help="time this binary instead of building one (to compare builds)")
    a = p.parse_args()

    subprocess.run([os.path.join(ROOT, "scripts/install-emulator.sh")], check=True)
    if a.binary:
        binary, kind = os.path.abspath(a.binary), a.binary
    else:
        profile = ["--release"] if a.release else []
        subprocess.run(["cargo", "build", "--quiet", "--bin", "baseline", *profile], cwd=ROOT, check=True)
        binary = os.path.join(ROOT, "target", "release" if a.release else "debug", "baseline")
        kind = f"{'release' if a.release else 'debug'} build"

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
