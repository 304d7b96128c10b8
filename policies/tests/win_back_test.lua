-- win_back_test.lua — win_back.lua: a voucher for dormant customers, by email for up to a
-- year, by post after that or when email is not allowed.

test "dormant for 200 days: 'we miss you' email with a voucher" {
  customer = customer({ id = "T-WB-1", last_purchase = "2026-04-15" }),
  now = "2026-11-01",
  expect = {
    actions = { "winback_email" },
    segments = { "dormant" },
    suppressed = { winback_mail = "group 'winback' already has winback_email" },
    departments = { "marketing" },
  },
  check = function(plan)
    local a = find(plan, "winback_email")
    assert(a.params.days_since_last_purchase == 200)
    assert(a.params.voucher == "15_percent_off" or a.params.voucher == "free_delivery")
    assert(near(a.priority, 39), "35 + 20 * 20000 / 100000 = 39")
    assert(a.reason == "no purchase for 200 days")
  end,
}

test "dormant for more than a year: printed catalogue by post" {
  customer = customer({ id = "T-WB-2", last_purchase = "2025-09-27" }),  -- 400 days
  now = "2026-11-01",
  expect = { actions = { "winback_mail" }, excludes = { "winback_email" } },
  check = function(plan) assert(find(plan, "winback_mail").channel == "mail") end,
}

test "no email consent: the voucher goes by post" {
  customer = customer({ id = "T-WB-3", last_purchase = "2026-04-15",
                        consent = { email = false, mail = true } }),
  now = "2026-11-01",
  expect = {
    actions = { "winback_mail" },
    suppressed = { winback_email = "no consent for email" },
  },
}

test "no email and no post allowed: nothing is sent" {
  customer = customer({ id = "T-WB-4", last_purchase = "2026-04-15",
                        consent = { email = false, mail = false } }),
  now = "2026-11-01",
  expect = {
    actions = {},
    suppressed = { winback_email = "no consent for email", winback_mail = "no consent for mail" },
  },
}

test "win-back email sent 20 days ago: catalogue by post instead" {
  customer = customer({ id = "T-WB-5b", last_purchase = "2026-04-15",
                        contacts = { { action = "winback_email", channel = "email", days_ago = 20 } } }),
  now = "2026-11-01",
  expect = {
    actions = { "winback_mail" },
    suppressed = { winback_email = "cooldown: last contact 20 days ago, cooldown is 45 days" },
  },
}

test "dormant customers at churn risk are left to the retention team" {
  customer = customer({ id = "T-WB-6", last_purchase = "2026-04-15", churn_risk = 0.8 }),
  now = "2026-11-01",
  expect = { actions = { "retention_offer_email" }, excludes = { "winback_email", "winback_mail" } },
}

test "a big customer who also gets the webinar email: the voucher goes by post" {
  customer = customer({ id = "T-WB-7", last_purchase = "2026-04-15", annual_revenue = 250000,
                        tech_affinity = 0.9 }),
  now = "2026-11-01",
  expect = {
    -- The webinar invitation (62) takes the one email slot before the win-back email (55).
    actions = { "invite_webinar", "winback_mail" },
    suppressed = { winback_email = "channel email is full (at most 1 per plan)" },
  },
  check = function(plan)
    assert(near(find(plan, "winback_mail").priority, 50), "55 for 250k revenue, minus 5 for the post fallback")
  end,
}

test "the voucher A/B group follows the customer id" {
  customer = customer({ id = "C00007", last_purchase = "2026-04-15" }),
  now = "2026-11-01",
  check = function(plan)
    local expected = bucket("C00007", "winback-voucher") < 0.5 and "15_percent_off" or "free_delivery"
    assert(find(plan, "winback_email").params.voucher == expected)
  end,
}

test "last purchase 100 days ago is not dormant" {
  customer = customer({ id = "T-WB-8", last_purchase = "2026-07-24" }),
  now = "2026-11-01",
  expect = { segments = {}, actions = {} },
}
