#!/usr/bin/env python3
"""Writes the sample customer profiles for the NextBest sample policy set.

    python3 policies/samples/generate.py

Deterministic (fixed seed, fixed "today" of 2026-11-01): running it again gives the same
files. Writes, next to this script:

  customers.jsonl  300 business customers, one JSON object per line, with the full profile:
                   ticket list, social media mentions, product lines, consent and the
                   contact history.
  customers.csv    200 other customers as a flat CRM export: a column "consent.email"
                   becomes consent.email, empty cells are missing fields, and there are no
                   lists (no tickets, mentions, products or contact history).
  customers_excel.csv
                   the customers of customers.jsonl as Italian Excel saves them: a UTF-8
                   byte-order mark, ";" between cells, CRLF line ends, decimal commas
                   (150.500 and 0,46), VERO/FALSO, dates as dd/mm/yyyy and the lists as JSON
                   text. Read with --decimal-comma --date-format dd/mm/yyyy, it gives the same
                   plans as customers.jsonl. The last customers have ids with leading zeros.

The population is mixed on purpose so that every policy fires for some customers, and
some actions are suppressed for missing consent, cooldowns, the eligible checks, groups,
full channels and full plans. Python 3 standard library only.
"""
import csv
import datetime as dt
import json
import os
import random

SEED = 20261101
TODAY = dt.date(2026, 11, 1)
HERE = os.path.dirname(os.path.abspath(__file__))

CITIES = [  # (city, region); the first four host a customer event this season
    ("Chicago", "midwest"), ("Boston", "northeast"), ("Austin", "south"), ("Seattle", "west"),
    ("Denver", "west"), ("Atlanta", "south"), ("Phoenix", "west"), ("Portland", "west"),
    ("Columbus", "midwest"), ("Pittsburgh", "northeast"), ("Nashville", "south"),
    ("Minneapolis", "midwest"), ("Honolulu", "islands"),
]
NAME_FIRST = ["Lakeside", "Summit", "Harbor", "Pioneer", "Redwood", "Maple", "Granite", "Bluebird",
              "Northstar", "Riverside", "Cedar", "Beacon", "Keystone", "Silverline", "Prairie",
              "Oakridge", "Ironwood", "Sunrise", "Copper", "Evergreen"]
NAME_KIND = ["Dental Practice", "Logistics", "Bakery", "Law Office", "Architects", "Veterinary Clinic",
             "Print Shop", "Accounting", "Builders", "Pharmacy", "Hotel", "Consulting", "Auto Repair",
             "Florist", "Fitness Studio", "Engineering", "Insurance Agency", "Coffee Roasters"]
PRODUCT_LINES = ["office_supplies", "furniture", "it_equipment", "facility_services"]
PLATFORMS = ["twitter", "facebook", "linkedin", "instagram"]
TOPICS = ["late delivery", "wrong item", "invoice error", "damaged goods", "portal login",
          "missing parts", "return request"]
NEGATIVE_POSTS = ["Third late delivery this month. Not impressed.",
                  "Still waiting for a refund, nobody answers the phone.",
                  "Wrong order AGAIN. Looking at other suppliers.",
                  "Support closed my ticket without fixing anything."]
OTHER_POSTS = ["Quick delivery as always, thanks!", "New office chairs arrived, team loves them.",
               "Anyone else using their portal? Works fine for us."]
# The channel of each action in the catalog (for the contact history).
ACTION_CHANNEL = {
    "invite_webinar": "email", "invite_event": "phone", "retention_call": "phone",
    "retention_offer_email": "email", "service_recovery_call": "phone",
    "feedback_survey_sms": "sms", "social_reply": "social", "cross_sell_email": "email",
    "account_review_visit": "in_person", "winback_email": "email", "winback_mail": "mail",
    "onboarding_email": "email", "welcome_call": "phone",
}
CONSENT_CHANNELS = ["email", "phone", "sms", "social", "mail"]


def day(days_ago):
    return (TODAY - dt.timedelta(days=days_ago)).isoformat()


def company_name(rng):
    return f"{rng.choice(NAME_FIRST)} {rng.choice(NAME_KIND)}"


def core_profile(rng, cid):
    """The fields every export has, plus the optional scores (sometimes missing)."""
    city, region = rng.choice(CITIES)
    tier = rng.random()
    if tier < 0.28:                                     # key accounts
        revenue = rng.randrange(50_000, 250_000, 500)
    elif tier < 0.70:
        revenue = rng.randrange(8_000, 50_000, 250)
    else:
        revenue = rng.randrange(500, 8_000, 50)
    new = rng.random() < 0.12
    tenure = rng.randint(0, 2) if new else rng.randint(3, 144)
    churn = round(min(0.99, rng.betavariate(1.6, 3.2)), 2)
    p = {
        "id": cid,
        "name": company_name(rng),
        "city": city,
        "region": region,
        "annual_revenue": revenue,
        "growth_potential": round(rng.random(), 2),
        "share_of_wallet": round(rng.uniform(0.05, 0.95), 2),
        "tech_affinity": round(rng.random(), 2),
        "churn_risk": churn,
        "tenure_months": tenure,
    }
    # Last purchase: recent for new customers (some have not bought yet), else mostly
    # within half a year, with a tail of dormant customers up to two years back.
    if new:
        if rng.random() < 0.7:
            p["last_purchase"] = day(rng.randint(1, tenure * 30 + 20))
    else:
        r = rng.random()
        p["last_purchase"] = day(rng.randint(1, 170) if r < 0.78 else
                                 rng.randint(181, 365) if r < 0.9 else rng.randint(366, 720))
    # Scores from surveys: not every customer answered.
    if rng.random() < 0.75:
        p["nps"] = rng.choices(range(11), weights=[2, 1, 1, 2, 2, 3, 4, 6, 8, 7, 5])[0]
    if rng.random() < 0.6:
        p["satisfaction"] = rng.choices([1, 2, 3, 4, 5], weights=[1, 2, 3, 4, 3])[0]
    for k in ("growth_potential", "share_of_wallet", "tech_affinity"):
        if rng.random() < 0.05:                         # a few gaps in the scoring
            del p[k]
    return p


def consent(rng):
    c = {}
    for ch in CONSENT_CHANNELS:
        r = rng.random()
        if r < 0.12:
            c[ch] = False
        elif r < 0.9:
            c[ch] = True
        # else: no entry (counts as consented)
    return c


def add_lists(rng, p):
    """The parts only the JSON export has: tickets, mentions, products, contacts."""
    # Tickets: most customers have none open; some have a pile.
    n_open = rng.choices([0, 1, 2, 3, 4, 5], weights=[62, 20, 10, 5, 2, 1])[0]
    n_closed = rng.randint(0, 3)
    tickets = []
    for i in range(n_open + n_closed):
        opened = rng.randint(1, 60) if i < n_open else rng.randint(30, 300)
        tickets.append({"id": f"T{rng.randint(10000, 99999)}", "opened": day(opened),
                        "topic": rng.choice(TOPICS), "status": "open" if i < n_open else "closed"})
    p["tickets"] = tickets
    if rng.random() < 0.9:        # some exports leave the count out; policies count the list
        p["open_tickets"] = n_open
    # Social media: a few customers post about us, some negatively and recently.
    if rng.random() < 0.22:
        mentions = []
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.6:
                mentions.append({"platform": rng.choice(PLATFORMS), "sentiment": round(rng.uniform(-0.95, -0.3), 2),
                                 "at": day(rng.randint(0, 30)), "text": rng.choice(NEGATIVE_POSTS)})
            else:
                mentions.append({"platform": rng.choice(PLATFORMS), "sentiment": round(rng.uniform(0.1, 0.9), 2),
                                 "at": day(rng.randint(0, 60)), "text": rng.choice(OTHER_POSTS)})
        p["social_mentions"] = mentions
    # Product lines bought from us.
    p["products"] = sorted(rng.sample(PRODUCT_LINES, rng.randint(0 if p["tenure_months"] < 3 else 1, 4)),
                           key=PRODUCT_LINES.index)
    p["consent"] = consent(rng)
    # Contact history: what we did in the last months (drives the cooldowns).
    # Half the entries come from the last two weeks, so cooldowns often still run.
    recent = []
    for _ in range(rng.choices([0, 1, 2, 3], weights=[35, 30, 20, 15])[0]):
        recent.append((rng.choice(list(ACTION_CHANNEL)),
                       rng.choice([rng.randint(1, 14), rng.randint(15, 60), rng.randint(61, 180)])))
    # Some follow-ups already happened: the care team answered the post a day or two ago,
    # the onboarding series is under way.
    if "social_mentions" in p and rng.random() < 0.3:
        recent.append(("social_reply", rng.randint(1, 2)))
    if p["tenure_months"] < 3 and rng.random() < 0.4:
        recent.append(("onboarding_email", rng.randint(1, 10)))
    contacts = []
    for action, ago in recent:
        entry = {"action": action, "channel": ACTION_CHANNEL[action]}
        if rng.random() < 0.5:
            entry["at"] = day(ago)
        else:
            entry["days_ago"] = ago
        contacts.append(entry)
    p["contacts"] = contacts


def showcase(rng, cid):
    """A handful of customers that hit many policies at once, so limits and groups bite."""
    p = core_profile(rng, cid)
    p.update({"annual_revenue": rng.randrange(60_000, 200_000, 1000), "growth_potential": round(rng.uniform(0.6, 1), 2),
              "share_of_wallet": round(rng.uniform(0.05, 0.29), 2), "churn_risk": round(rng.uniform(0.6, 0.95), 2),
              "tenure_months": rng.randint(12, 96), "nps": rng.randint(0, 6), "last_purchase": day(rng.randint(5, 60))})
    p["tech_affinity"] = round(rng.uniform(0, 1), 2)
    add_lists(rng, p)
    p["open_tickets"] = rng.randint(2, 4)
    p["tickets"] = [{"id": f"T{rng.randint(10000, 99999)}", "opened": day(rng.randint(1, 30)),
                     "topic": rng.choice(TOPICS), "status": "open"} for _ in range(p["open_tickets"])]
    p["social_mentions"] = [{"platform": rng.choice(PLATFORMS), "sentiment": round(rng.uniform(-0.95, -0.5), 2),
                             "at": day(rng.randint(0, 10)), "text": rng.choice(NEGATIVE_POSTS)}]
    return p


def contact_fields(p, i):
    """Email and phone, made from the name and number (no random draw: the rest stays as it was)."""
    slug = "".join(ch for ch in p["name"].lower() if ch.isalnum())
    p["email"] = f"info{i}@{slug}.example"
    p["phone"] = f"+1 555 01{i % 10000:04d}"


def jsonl_profiles(rng, n):
    out = []
    for i in range(1, n + 1):
        cid = f"C{i:05d}"
        if i % 25 == 0:
            out.append(showcase(rng, cid))
        else:
            p = core_profile(rng, cid)
            add_lists(rng, p)
            out.append(p)
        contact_fields(out[-1], i)
    # A few customers whose CRM code has leading zeros (drawn apart, so the others stay as they were).
    extra = random.Random(SEED + 1)
    for i in range(1, 6):
        p = core_profile(extra, f"{i:06d}")
        add_lists(extra, p)
        contact_fields(p, n + i)
        out.append(p)
    return out


EXCEL_LISTS = ["tickets", "social_mentions", "products", "contacts"]


def excel_cell(v):
    """A value as Italian Excel writes it: decimal commas, thousands with dots, VERO/FALSO, dd/mm/yyyy."""
    if v is None:
        return ""
    if v is True:
        return "VERO"
    if v is False:
        return "FALSO"
    if isinstance(v, int):
        return f"{v:,}".replace(",", ".")
    if isinstance(v, float):
        return repr(v).replace(".", ",")
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    if len(v) == 10 and v[4] == "-" and v[7] == "-":
        return f"{v[8:10]}/{v[5:7]}/{v[0:4]}"
    return v


def write_excel(path, profiles):
    columns = []
    for p in profiles:
        for k in p:
            if k != "consent" and k not in columns:
                columns.append(k)
    columns += [f"consent.{ch}" for ch in CONSENT_CHANNELS]
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f, delimiter=";", lineterminator="\r\n")
        w.writerow(columns)
        for p in profiles:
            row = []
            for col in columns:
                if col.startswith("consent."):
                    row.append(excel_cell(p.get("consent", {}).get(col.split(".", 1)[1])))
                else:
                    row.append(excel_cell(p.get(col)))
            w.writerow(row)


CSV_COLUMNS = ["id", "name", "city", "region", "annual_revenue", "growth_potential", "share_of_wallet",
               "tech_affinity", "churn_risk", "tenure_months", "last_purchase", "nps", "satisfaction",
               "open_tickets"] + [f"consent.{ch}" for ch in CONSENT_CHANNELS]


def csv_rows(rng, n):
    rows = []
    for i in range(1, n + 1):
        p = core_profile(rng, f"K{i:05d}")
        p["open_tickets"] = rng.choices([0, 1, 2, 3, 4], weights=[55, 22, 12, 7, 4])[0]
        cons = consent(rng)
        row = {}
        for col in CSV_COLUMNS:
            if col.startswith("consent."):
                v = cons.get(col.split(".", 1)[1])
            else:
                v = p.get(col)
            row[col] = "" if v is None else ("true" if v is True else "false" if v is False else v)
        rows.append(row)
    return rows


def main():
    rng = random.Random(SEED)
    profiles = jsonl_profiles(rng, 300)
    with open(os.path.join(HERE, "customers.jsonl"), "w", encoding="utf-8", newline="\n") as f:
        for p in profiles:
            f.write(json.dumps(p, ensure_ascii=False, separators=(",", ":")) + "\n")
    write_excel(os.path.join(HERE, "customers_excel.csv"), profiles)
    rows = csv_rows(rng, 200)
    with open(os.path.join(HERE, "customers.csv"), "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {len(profiles)} profiles to customers.jsonl and customers_excel.csv, and {len(rows)} to customers.csv")


if __name__ == "__main__":
    main()
