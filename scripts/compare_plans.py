#!/usr/bin/env python3
"""Checks that two plan files chose the same actions for every customer, in the same order.

usage: compare_plans.py BASELINE.jsonl NEXTBEST.jsonl
Compares customer, then each action's action, department, channel and priority (within 1e-9).
Prints the number of plans and mismatches (and the first few); exits 1 on any mismatch."""
import json
import sys


def actions(plan):
    return [(a.get("action"), a.get("department"), a.get("channel"), a.get("priority")) for a in plan.get("actions", [])]


def same(a, b):
    if a["customer"] != b.get("customer"):
        return False
    xa, xb = actions(a), actions(b)
    if len(xa) != len(xb):
        return False
    for (n1, d1, c1, p1), (n2, d2, c2, p2) in zip(xa, xb):
        if (n1, d1, c1) != (n2, d2, c2) or p1 is None or p2 is None or abs(p1 - p2) > 1e-9:
            return False
    return True


def main():
    n = bad = 0
    with open(sys.argv[1]) as fa, open(sys.argv[2]) as fb:
        for la, lb in zip(fa, fb):
            n += 1
            a, b = json.loads(la), json.loads(lb)
            if not same(a, b):
                bad += 1
                if bad <= 3:
                    print(f"  mismatch at plan {n}:\n    baseline: {la.strip()}\n    nextbest: {lb.strip()[:400]}")
        extra = sum(1 for _ in fa) + sum(1 for _ in fb)
    print(f"  compared {n} plans: {bad} mismatches{f', {extra} lines in one file only' if extra else ''}")
    sys.exit(1 if bad or extra else 0)


if __name__ == "__main__":
    main()
