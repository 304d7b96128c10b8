#!/usr/bin/env python3
"""NextBest on Apache Spark: every partition of a profile file piped through `nextbest run`.

usage: python3 integrations/spark/nextbest_spark.py --policies DIR --profiles PATH --out DIR
           [--now T] [--master local[2]] [--nextbest PATH] [--partitions N]
           [--with-input-number] [--store URL --record [--run-id ID]]

Profiles are read as text lines (JSON Lines; any path or glob Spark reads). The policy folder is
shipped with the job (SparkContext.addFile). Each partition's lines go, in order, to the standard
input of one `nextbest run --profiles - --policies <shipped folder>` process on its executor, and
its standard output (one line per record: a plan or an error record) becomes the partition's
output. The plans are written as JSON Lines part files under --out; `cat DIR/part-*` lists them
in input order. Error records carry their input record number and line as in one `nextbest run`
over the whole input (the job renumbers them from partition-local to global).

Exit codes, as nextbest's: 0 every record has a plan; 1 the job ran but some records are error
records (or plans carry policy errors); 2 it could not run (the policy set does not load, which
is found on the driver before the job starts, with nextbest's file:line messages; bad usage;
a partition whose nextbest could not run).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

FAILURE_MARK = "nextbest_spark partition failure: "


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="nextbest_spark.py",
        description="Decide every profile of a (large) file on Apache Spark with nextbest run.")
    p.add_argument("--policies", required=True, metavar="DIR", help="the policy set: a folder of .lua files")
    p.add_argument("--profiles", required=True, metavar="PATH", help="JSON Lines profiles: a file, folder or glob Spark reads")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the plans (JSON Lines part files); must not exist")
    p.add_argument("--now", metavar="T", help="evaluation time (ISO-8601), passed to nextbest run")
    p.add_argument("--master", metavar="URL", help="Spark master, e.g. local[2] (default: what spark-submit or the Spark config says)")
    p.add_argument("--nextbest", metavar="PATH", help="the nextbest executable, at this path on every executor "
                   "(default: nextbest on PATH, else this repository's .build/release or .build/debug)")
    p.add_argument("--partitions", type=int, metavar="N", help="minimum number of input partitions (default: Spark's)")
    p.add_argument("--with-input-number", action="store_true", help="every plan carries its input record number (\"input\":N)")
    p.add_argument("--store", metavar="URL", help="passed to nextbest run (needs a build with the store)")
    p.add_argument("--record", action="store_true", help="passed to nextbest run with --store: record plans and tasks")
    p.add_argument("--run-id", metavar="ID", help="passed to nextbest run with --record")
    args = p.parse_args(argv)
    if args.record and not args.store:
        p.error("--record needs --store URL")
    if args.partitions is not None and args.partitions < 1:
        p.error("--partitions must be 1 or more")
    return args


def find_nextbest(given):
    """The nextbest executable as an absolute path, or None."""
    if given:
        path = shutil.which(given) or given
        return os.path.abspath(path) if os.path.isfile(path) and os.access(path, os.X_OK) else None
    found = shutil.which("nextbest")
    if found:
        return os.path.abspath(found)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for build in ("release", "debug"):
        candidate = os.path.join(root, ".build", build, "nextbest")
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def run_flags(args):
    """The nextbest run options every partition gets, past --policies and --profiles."""
    flags = ["--jobs", "1", "--quiet"]
    if args.now:
        flags += ["--now", args.now]
    if args.with_input_number:
        flags.append("--with-input-number")
    if args.store:
        flags += ["--store", args.store]
    if args.record:
        flags.append("--record")
    if args.run_id:
        flags += ["--run-id", args.run_id]
    return flags


def load_check(nextbest, policies, flags):
    """Runs nextbest on no profiles with the job's options: exit 2 means the set does not load."""
    r = subprocess.run([nextbest, "run", "--policies", policies, "--profiles", "-"] + flags,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return r.returncode, r.stderr.decode("utf-8", "replace")


def is_blank(line):
    """Blank as nextbest's JSON Lines reader sees it (spaces, tabs and CR only): no record."""
    return line.strip(" \t\r") == ""


def count_partition(index, lines):
    """(partition, lines, records) of one input partition."""
    n = records = 0
    for line in lines:
        n += 1
        if not is_blank(line):
            records += 1
    yield (index, n, records)


ERROR_INPUT = re.compile(r'^\{"input":(\d+),')
ERROR_LINE = re.compile(r'"error":"line (\d+)')
PLAN_INPUT = re.compile(r',"input":(\d+)\}$')


def renumber(line, first_line, first_record, plans_numbered):
    """A line of partition output with partition-local input and line numbers made global."""
    m = ERROR_INPUT.match(line)
    if m:
        line = '{"input":%d,' % (first_record + int(m.group(1))) + line[m.end():]
        e = ERROR_LINE.search(line)
        if e:
            line = line[:e.start(1)] + str(first_line + int(e.group(1))) + line[e.end(1):]
        return line
    m = PLAN_INPUT.search(line) if plans_numbered else None
    if m:
        line = line[:m.start(1)] + str(first_record + int(m.group(1))) + line[m.end(1):]
    return line


def make_partition_runner(nextbest, policy_name, flags, offsets, counters):
    """The function each partition runs on its executor: nextbest run over the partition's lines."""
    def run_partition(index, lines):
        from pyspark import SparkFiles
        # The shipped copy of the set, on this executor. nextbest runs beside it and names it by
        # its folder name, so policy error locations read `policies/file.lua:12` wherever it runs.
        shipped = SparkFiles.get(policy_name)
        first_line, first_record = offsets[index]
        numbered = "--with-input-number" in flags
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen([nextbest, "run", "--policies", policy_name, "--profiles", "-"] + flags,
                                    cwd=os.path.dirname(shipped), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
            failure = []

            def feed():
                try:
                    for line in lines:
                        proc.stdin.write(line.encode("utf-8") + b"\n")
                except BrokenPipeError:
                    pass  # nextbest stopped early: its exit code and message say why
                except BaseException as e:  # reading the input failed; report it from the main thread
                    failure.append(e)
                finally:
                    try:
                        proc.stdin.close()
                    except BrokenPipeError:
                        pass

            writer = threading.Thread(target=feed, daemon=True)
            writer.start()
            records = errors = policy_errors = 0
            for raw in proc.stdout:
                line = raw.decode("utf-8").rstrip("\n")
                records += 1
                if line.startswith('{"input":'):
                    errors += 1
                elif '"errors":[{' in line:
                    policy_errors += 1
                yield renumber(line, first_line, first_record, numbered)
            proc.wait()
            writer.join()
            if failure:
                raise failure[0]
            err.seek(0)
            message = err.read().decode("utf-8", "replace").strip()
            # 1 is "some records are error records / plans carry policy errors": the output is
            # complete, the counters say so. 2 (or a signal) is "could not run": fail the task.
            if proc.returncode not in (0, 1):
                raise RuntimeError("%snextbest run exited with %d on partition %d: %s"
                                   % (FAILURE_MARK, proc.returncode, index, message or "(no message)"))
            counters["records"].add(records)
            counters["errors"].add(errors)
            counters["policy_errors"].add(policy_errors)
    return run_partition


def failure_message(exc):
    """The nextbest message inside a failed Spark job's exception, if there is one."""
    text = str(exc)
    at = text.find(FAILURE_MARK)
    if at < 0:
        return None
    return text[at + len(FAILURE_MARK):].split("\n\tat ")[0].split("\n")[0].strip()


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    say = lambda text: print("nextbest_spark: " + text, file=sys.stderr, flush=True)
    nextbest = find_nextbest(args.nextbest)
    if not nextbest:
        say("cannot find the nextbest executable (give --nextbest PATH, or put nextbest on PATH)")
        return 2
    policies = os.path.abspath(args.policies.rstrip("/"))
    if not os.path.isdir(policies):
        say("the policy set %s is not a folder" % args.policies)
        return 2
    if os.path.exists(args.out):
        say("%s already exists: give a new folder for the plans" % args.out)
        return 2
    if args.store and "://" not in args.store:  # a SQLite file: the same file from any folder
        path = args.store[len("sqlite:"):] if args.store.startswith("sqlite:") else args.store
        args.store = "sqlite:" + os.path.abspath(path)
    flags = run_flags(args)

    # The set is loaded once here, before any executor starts: a set that does not load stops
    # the job with nextbest's own file:line messages, not a Java stack trace.
    code, message = load_check(nextbest, policies, flags)
    if code == 2:
        sys.stderr.write(message if message.endswith("\n") or not message else message + "\n")
        say("the policy set does not load; the job was not started")
        return 2

    from pyspark.sql import SparkSession
    builder = SparkSession.builder.appName("nextbest").config("spark.ui.showConsoleProgress", "false")
    if args.master:
        builder = builder.master(args.master)
    if (args.master or "").startswith("local"):
        # One machine: Spark talks to itself on the loopback address only, and needs no web UI.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = (builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
                   .config("spark.ui.enabled", "false"))
    spark = builder.getOrCreate()
    sc = spark.sparkContext
    sc.setLogLevel("ERROR")
    started = time.time()
    try:
        sc.addFile(policies, recursive=True)
        lines = sc.textFile(args.profiles, args.partitions) if args.partitions else sc.textFile(args.profiles)
        # Where each partition starts, in lines and records, to number error records globally.
        counts = sorted(lines.mapPartitionsWithIndex(count_partition).collect())
        offsets, line_at, record_at = {}, 0, 0
        for index, n, records in counts:
            offsets[index] = (line_at, record_at)
            line_at += n
            record_at += records
        counters = {k: sc.accumulator(0) for k in ("records", "errors", "policy_errors")}
        runner = make_partition_runner(nextbest, os.path.basename(policies), flags, offsets, counters)
        lines.mapPartitionsWithIndex(runner).saveAsTextFile(args.out)
    except Exception as exc:  # a failed job: show nextbest's message rather than only the JVM trace
        why = failure_message(exc)
        if why is None:
            raise
        say("the job failed: " + why)
        return 2
    finally:
        seconds = time.time() - started
        spark.stop()
    records, errors, policy_errors = (counters[k].value for k in ("records", "errors", "policy_errors"))
    say("%d records -> %d plans + %d error records in %.1f s (%d profiles/s); plans in %s/part-*"
        % (records, records - errors, errors, seconds, records / seconds if seconds > 0 else 0, args.out))
    if policy_errors:
        say("%d plans carry policy errors (their \"errors\" field says which)" % policy_errors)
    return 1 if errors or policy_errors else 0


if __name__ == "__main__":
    sys.exit(main())
