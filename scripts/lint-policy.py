#!/usr/bin/env python3
"""Lints IAM policies that `baseline permissions` generated, with parliament (pinned in
scripts/install-emulator.sh), an IAM linter independent of this project.

    lint-policy.py [--read-only] POLICY.json...

Fails (exit 1, one JSON line per problem) on any parliament finding but two kinds that
describe what the tool is for:
  - RESOURCE_STAR: actions AWS authorizes on "*" only, or reads that are not scoped;
  - RESOURCE_POLICY_PRIVILEGE_ESCALATION: the tool writes its own log buckets' policies.
and one documented exception: kms:CreateAlias is authorized on the alias and on the key
separately (KMS developer guide, "Controlling access to aliases"), so the policy grants it
in two statements (its aliases by name; keys only when tagged as its own), and parliament,
which checks each statement alone, reports each half as a resource mismatch. The script
checks that both halves are there instead.

--read-only: every action must have the List or Read access level in parliament's copy of
the Service Authorization Reference (what `--for plan` promises).
"""
import json
import sys

import parliament

ALLOWED = {"RESOURCE_STAR", "RESOURCE_POLICY_PRIVILEGE_ESCALATION"}
ALIAS = "arn:*:kms:*:*:alias/*"
KEY = "arn:*:kms:*:*:key/*"


def as_list(v):
    return v if isinstance(v, list) else [v]


def create_alias_halves(doc):
    """The statements granting kms:CreateAlias: one on aliases only, one on keys only."""
    halves = set()
    for s in doc["Statement"]:
        if "kms:CreateAlias" not in as_list(s["Action"]):
            continue
        resources = as_list(s["Resource"])
        if all(":alias/" in r for r in resources):
            halves.add(KEY)  # the finding this half raises names the missing key format
        elif all(":key/" in r for r in resources) and "aws:ResourceTag/managed-by" in json.dumps(
            s.get("Condition", {})
        ):
            halves.add(ALIAS)
    return halves


def main(args):
    read_only = "--read-only" in args
    files = [a for a in args if a != "--read-only"]
    levels = {
        s["prefix"]: {p["privilege"]: p["access_level"] for p in s["privileges"]}
        for s in parliament.iam_definition
    }
    problems = []
    for path in files:
        text = open(path).read()
        doc = json.loads(text)
        halves = create_alias_halves(doc)
        for f in parliament.analyze_policy_string(text).findings:
            if f.issue in ALLOWED:
                continue
            if (
                f.issue == "RESOURCE_MISMATCH"
                and len(f.detail) == 1
                and f.detail[0]["action"] == "kms:CreateAlias"
                and f.detail[0]["required_format"] in halves
            ):
                continue
            problems.append({"file": path, "issue": f.issue, "detail": str(f.detail)})
        if read_only:
            for s in doc["Statement"]:
                for action in as_list(s["Action"]):
                    prefix, name = action.split(":", 1)
                    level = levels.get(prefix, {}).get(name)
                    if level not in ("List", "Read"):
                        problems.append(
                            {"file": path, "issue": "NOT_READ_ONLY", "detail": f"{action}: {level}"}
                        )
    for p in problems:
        print(json.dumps(p))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
