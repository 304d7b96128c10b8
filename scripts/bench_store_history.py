#!/usr/bin/env python3
"""Past tasks and outcomes for scripts/bench-store: CSV files for decisions, tasks and outcomes
(half of HISTORY rows are tasks, half outcomes, every other outcome naming its task), spread over
the reference profiles' customers C0000000...; or, with --sqlite DB, loads those files into a store.
usage: bench_store_history.py PROFILES HISTORY DIR | bench_store_history.py --sqlite DB DIR"""
import csv, random, sqlite3, sys

if sys.argv[1] == "--sqlite":
    db, tmp = sqlite3.connect(sys.argv[2]), sys.argv[3]
    db.executemany("INSERT INTO decisions (id, run, customer, revision, at, plan) VALUES (?,?,?,?,?,?)",
                   csv.reader(open(tmp + "/decisions.csv")))
    db.executemany("INSERT INTO tasks (id, decision, customer, action, department, channel, priority, created_at, status, status_at) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?)", csv.reader(open(tmp + "/tasks.csv")))
    db.executemany("INSERT INTO outcomes (id, task, customer, action, channel, outcome, at) VALUES (?,NULLIF(?,''),?,?,?,?,?)",
                   csv.reader(open(tmp + "/outcomes_hist.csv")))
    db.commit()
    sys.exit(0)

n, h, tmp = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = random.Random(11)
actions = [("invite_webinar", "email", "marketing"), ("invite_event", "in_person", "marketing"),
           ("retention_offer", "phone", "customer_service"), ("service_recovery", "phone", "customer_service"),
           ("cross_sell", "email", "sales"), ("win_back", "email", "marketing"),
           ("onboarding", "email", "customer_service"), ("social_care", "social", "customer_service")]
outcomes = ["accepted", "declined", "ignored", "converted", "bounced"]
with open(tmp + "/decisions.csv", "w", newline="") as d, open(tmp + "/tasks.csv", "w", newline="") as t, \
        open(tmp + "/outcomes_hist.csv", "w", newline="") as o:
    dw, tw, ow = csv.writer(d), csv.writer(t), csv.writer(o)
    for i in range(h // 2):
        c = "C%07d" % (i % n)
        a, ch, dep = rng.choice(actions)
        at = "2026-%02d-%02dT10:00:00Z" % (rng.randint(8, 11), rng.randint(1, 28))
        did = "D%09d" % i
        dw.writerow([did, "history", "%s-%d" % (c, i // n), "r", at, "{}"])
        tw.writerow([did + "-1", did, c, a, dep, ch, 1.0, at, "open", at])
        ow.writerow(["o%d" % i, did + "-1" if i % 2 == 0 else "", c, a, ch, rng.choice(outcomes), at])
