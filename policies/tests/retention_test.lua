-- retention_test.lua — retention.lua: a call for high-value customers at risk, an email
-- with a discount for the others, at most one of them, the score growing with the risk
-- (propensity = churn risk, value 90 for the call and 75 for the email, +20% retention lever).

test "high-value customer at churn risk gets a retention call, not the email" {
  customer = customer({ id = "T-RET-1", annual_revenue = 90000, churn_risk = 0.8 }),
  now = "2026-11-01",
  expect = {
    includes = { "retention_call" },
    excludes = { "retention_offer_email" },
    suppressed = { retention_offer_email = "group 'retention' already has retention_call" },
  },
  check = function(plan)
    local a = find(plan, "retention_call")
    assert(a.department == "customer_service" and a.channel == "phone")
    assert(near(a.priority, 86.4), "score should be 0.8 x 90 x 1.2 = 86.4, got " .. tostring(a.priority))
    assert(a.factors.p == 0.8 and a.factors.v == 90 and near(a.factors.l, 1.2), "the factors are in the plan")
    assert(a.params.discount_pct == 20)
  end,
}

test "customer at churn risk who is not high value gets the discount email" {
  customer = customer({ id = "T-RET-2", annual_revenue = 12000, churn_risk = 0.7 }),
  now = "2026-11-01",
  expect = {
    actions = { "retention_offer_email" },
    segments = { "churn_risk" },
    departments = { "customer_service" },
  },
  check = function(plan)
    local a = find(plan, "retention_offer_email")
    assert(near(a.priority, 63), "score should be 0.7 x 75 x 1.2 = 63, got " .. tostring(a.priority))
    -- A/B test: group A gets 10%, group B 15%.
    assert(a.params.test_group == "A" or a.params.test_group == "B")
    assert(a.params.discount_pct == (a.params.test_group == "A" and 10 or 15))
  end,
}

test "the score grows with the risk" {
  customer = customer({ id = "T-RET-3", annual_revenue = 12000, churn_risk = 0.95 }),
  now = "2026-11-01",
  check = function(plan)
    local a = find(plan, "retention_offer_email")
    assert(near(a.priority, 85.5), "score should be 0.95 x 75 x 1.2 = 85.5, got " .. tostring(a.priority))
    assert(a.reason == "churn risk 95%")
  end,
}

test "high-value customer who cannot be called gets the email instead" {
  customer = customer({ id = "T-RET-4", annual_revenue = 90000, churn_risk = 0.8,
                        consent = { email = true, phone = false } }),
  now = "2026-11-01",
  expect = {
    includes = { "retention_offer_email" },
    excludes = { "retention_call" },
    suppressed = { retention_call = "no consent for phone" },
  },
}

test "called by the retention team 10 days ago: email instead of a second call" {
  customer = customer({ id = "T-RET-5", annual_revenue = 90000, churn_risk = 0.8,
                        contacts = { { action = "retention_call", channel = "phone", days_ago = 10 } } }),
  now = "2026-11-01",
  expect = {
    includes = { "retention_offer_email" },
    suppressed = { retention_call = "cooldown: last contact 10 days ago, cooldown is 30 days" },
  },
}

test "churn risk below 0.6: no retention action" {
  customer = customer({ id = "T-RET-6", annual_revenue = 90000, churn_risk = 0.59 }),
  now = "2026-11-01",
  expect = { excludes = { "retention_call", "retention_offer_email" } },
}

test "the A/B group of a customer never changes" {
  customer = customer({ id = "C00042", annual_revenue = 12000, churn_risk = 0.75 }),
  now = "2026-11-01",
  check = function(plan)
    local a = find(plan, "retention_offer_email")
    local expected = bucket("C00042", "retention-discount-2026Q4") < 0.5 and "A" or "B"
    assert(a.params.test_group == expected, "group must follow bucket(id, 'retention-discount-2026Q4')")
  end,
}
