-- segments_test.lua — the segment definitions in segments.lua: thresholds, missing fields.

test "a quiet customer is in no segment and gets nothing" {
  customer = customer({ id = "T-SEG-1" }),
  now = "2026-11-01",
  expect = { segments = {}, actions = {} },
}

test "exactly 50k revenue is high value, growth 0.6 is high growth" {
  customer = customer({ id = "T-SEG-2", annual_revenue = 50000, growth_potential = 0.6 }),
  now = "2026-11-01",
  expect = { segments = { "high_value", "high_growth" } },
}

test "a bare profile with only the required fields is in no segment and causes no error" {
  customer = { id = "T-SEG-3", name = "Bare Minimum LLC", city = "Denver",
               annual_revenue = 10000, tenure_months = 12, churn_risk = 0.2 },
  now = "2026-11-01",
  expect = { segments = {}, actions = {} },
  check = function(plan) assert(#plan.errors == 0, "a missing optional field must not be an error") end,
}

test "open tickets are counted from the ticket list when the export has no count" {
  customer = customer({ id = "T-SEG-4", tickets = {
    { id = "T1", opened = "2026-10-20", topic = "late delivery", status = "open" },
    { id = "T2", opened = "2026-10-25", topic = "wrong item", status = "open" },
    { id = "T3", opened = "2026-06-02", topic = "invoice error", status = "closed" },
  } }, { "open_tickets" }),
  now = "2026-11-01",
  expect = { segments = { "repeated_tickets" } },
}

test "dormant after 181 days without a purchase" {
  customer = customer({ id = "T-SEG-5", last_purchase = "2026-05-04" }),  -- 181 days
  now = "2026-11-01",
  expect = { segments = { "dormant" } },
}

test "not yet dormant at exactly 180 days" {
  customer = customer({ id = "T-SEG-6", last_purchase = "2026-05-05" }),  -- 180 days
  now = "2026-11-01",
  expect = { segments = {} },
}

test "old or mild social posts do not make a customer negative_social" {
  customer = customer({ id = "T-SEG-7", social_mentions = {
    { platform = "twitter", sentiment = -0.9, at = "2026-10-10" },   -- 22 days ago
    { platform = "facebook", sentiment = -0.2, at = "2026-10-30" },  -- only mildly negative
  } }),
  now = "2026-11-01",
  expect = { segments = {}, excludes = { "social_reply" } },
}

test "new customer below 3 months, churn risk from 0.6, detractor up to NPS 6" {
  customer = customer({ id = "T-SEG-8", tenure_months = 2, churn_risk = 0.6, nps = 6 }),
  now = "2026-11-01",
  expect = { segments = { "new_customer", "churn_risk", "detractor" } },
}

test "3 months of tenure is no longer new; NPS 7 is not a detractor" {
  customer = customer({ id = "T-SEG-9", tenure_months = 3, nps = 7 }),
  now = "2026-11-01",
  expect = { segments = {} },
}

test "low share of wallet below 30%; unknown share is not low" {
  customer = customer({ id = "T-SEG-10", share_of_wallet = 0.29 }),
  now = "2026-11-01",
  check = function(plan)
    assert(#plan.segments == 1 and plan.segments[1] == "low_share_of_wallet",
           "expected only low_share_of_wallet")
  end,
}
