#!/usr/bin/env python3
"""Tests of the Spark job on a real local[2] Spark: its plans equal one `nextbest run` on the same
profiles (byte for byte, in input order), error records included; a policy set that does not load
stops the job with nextbest's file:line message; a partition whose nextbest cannot run fails the
job with that message. Ends with `N passed, M failed`; exits 1 when any failed.

usage: python3 integrations/spark/test_nextbest_spark.py [--nextbest PATH] [--profiles N]
"""
import argparse
import glob
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
JOB = os.path.join(HERE, "nextbest_spark.py")
BENCH = os.path.join(os.path.dirname(ROOT), "shared", "bench")
NOW = "2026-11-01"

results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(("ok    " if ok else "FAIL  ") + name + ("" if ok or not detail else "\n      " + detail), flush=True)


def make_profiles(path, n):
    """n generated profiles, with bad records and blank lines mixed in at fixed places.
    Returns (records, error records)."""
    gen = subprocess.run([sys.executable, os.path.join(BENCH, "gen_profiles.py"), str(n), "17"],
                         check=True, capture_output=True, text=True).stdout.splitlines()
    bad = ['{"id":"BROKEN", "annual_revenue": 10 "x": 1}', '{"no_id": true}', "[1,2]", '{"id": 2.5}',
           "{bad", '{"id":""}', "", "   "]
    r = random.Random(5)
    places = sorted(r.sample(range(len(gen)), 24), reverse=True)
    for k, at in enumerate(places):
        gen.insert(at, bad[k % len(bad)])
    with open(path, "w") as f:
        f.write("\n".join(gen) + "\n")
    return sum(1 for line in gen if line.strip(" \t\r")), sum(1 for k in range(len(places)) if bad[k % len(bad)].strip())


def spark_job(args, extra=()):
    """Runs the job; returns (exit code, stderr)."""
    cmd = [sys.executable, JOB, "--nextbest", args.nextbest, "--master", "local[2]"] + list(extra)
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    return r.returncode, r.stderr


def read_parts(out):
    lines = []
    for part in sorted(glob.glob(os.path.join(out, "part-*"))):
        with open(part) as f:
            lines += f.read().splitlines()
    return lines


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--nextbest", default=os.path.join(ROOT, ".build", "debug", "nextbest"))
    p.add_argument("--profiles", type=int, default=100_000)
    args = p.parse_args()
    args.nextbest = os.path.abspath(args.nextbest)
    policies = os.path.join(BENCH, "policies")
    work = tempfile.mkdtemp(prefix="nextbest-spark-test-")
    try:
        profiles = os.path.join(work, "profiles.jsonl")
        records, bad = make_profiles(profiles, args.profiles)

        t = time.time()
        # Policy error locations name the set by its folder name (`policies/x.lua:3`), as the job does.
        one = subprocess.run([args.nextbest, "run", "--policies", "policies", "--profiles", profiles, "--now", NOW, "--quiet"],
                             capture_output=True, text=True, cwd=BENCH)
        expected = one.stdout.splitlines()
        print("one nextbest run: %d lines in %.1f s (exit %d)" % (len(expected), time.time() - t, one.returncode), flush=True)
        check("one nextbest run gives one line per record and exit 1 for the error records",
              len(expected) == records and one.returncode == 1, "%d lines for %d records, exit %d" % (len(expected), records, one.returncode))

        out = os.path.join(work, "plans")
        t = time.time()
        code, err = spark_job(args, ["--policies", policies, "--profiles", profiles, "--out", out, "--now", NOW, "--partitions", "4"])
        print("spark job on local[2]: %.1f s (exit %d)\n%s" % (time.time() - t, code, err.strip()), flush=True)
        got = read_parts(out)
        check("the job ran (exit 1: some records are error records)", code == 1, err[-2000:])
        check("the job wrote several part files", len(glob.glob(os.path.join(out, "part-*"))) >= 2)
        check("the plans are those of one nextbest run, byte for byte, in input order", got == expected,
              "first difference: %r" % (next(((i, a, b) for i, (a, b) in enumerate(zip(got, expected)) if a != b), (len(got), len(expected))),))
        errors = [line for line in got if line.startswith('{"input":')]
        check("error records stay error records, with their input number and line", len(errors) == bad and
              errors == [line for line in expected if line.startswith('{"input":')], "%d error records" % len(errors))
        check("the job's summary counts them", ("%d records -> %d plans + %d error records" % (records, records - bad, bad)) in err, err[-500:])

        out2 = os.path.join(work, "numbered")
        small = os.path.join(work, "small.jsonl")
        with open(profiles) as f, open(small, "w") as g:
            g.writelines(f.readlines()[:3000])
        code, err = spark_job(args, ["--policies", policies, "--profiles", small, "--out", out2, "--now", NOW,
                                     "--partitions", "3", "--with-input-number"])
        numbered = subprocess.run([args.nextbest, "run", "--policies", "policies", "--profiles", small, "--now", NOW, "--quiet",
                                   "--with-input-number"], capture_output=True, text=True, cwd=BENCH)
        check("--with-input-number gives plans their global input number",
              code == numbered.returncode and read_parts(out2) == numbered.stdout.splitlines(), err[-1000:])

        broken = os.path.join(ROOT, "Tests", "Fixtures", "broken")
        t = time.time()
        code, err = spark_job(args, ["--policies", broken, "--profiles", small, "--out", os.path.join(work, "never")])
        check("a policy set that does not load stops the job with exit 2", code == 2, err[-1000:])
        check("... and nextbest's file:line message", "a_syntax_error.lua:" in err and "does not load" in err, err[-1000:])
        check("... not a Java stack trace", "Py4JJavaError" not in err and "\tat " not in err and "Traceback" not in err, err[-1000:])
        check("... and writes nothing", not os.path.exists(os.path.join(work, "never")))
        print("broken set refused in %.1f s" % (time.time() - t), flush=True)

        # A nextbest that cannot run on the executors (here: refuses the shipped copy of the set)
        # fails the job with its own message.
        fake = os.path.join(work, "nextbest-fails-on-executors")
        with open(fake, "w") as f:
            f.write('#!/bin/sh\ncase "$(pwd)" in *userFiles*) echo "policies/x.lua:3: cannot run here" >&2; exit 2;; esac\n'
                    'exec "%s" "$@"\n' % args.nextbest)
        os.chmod(fake, 0o755)
        err = subprocess.run([sys.executable, JOB, "--nextbest", fake, "--master", "local[2]", "--policies", policies,
                              "--profiles", small, "--out", os.path.join(work, "failed")],
                             capture_output=True, text=True, cwd=ROOT)
        check("a partition whose nextbest exits 2 fails the job with exit 2", err.returncode == 2, err.stderr[-1000:])
        check("... and its message", "policies/x.lua:3: cannot run here" in err.stderr, err.stderr[-1000:])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    passed = sum(results)
    failed = len(results) - passed
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
