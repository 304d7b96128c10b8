-- retention_test.lua — retention.lua: a call for high-value customers at risk, an email
-- with a discount for the others, at most one of them, priority growing with the risk.

-- A quiet, ordinary customer who is in no segment and gets no action. Each test below
-- starts from it and changes only what the test is about.
local base = {
  id = "T-BASE", name = "Maple Print Shop", city = "Denver", region = "west",
  annual_revenue = 20000, growth_potential = 0.3, share_of_wallet = 0.6, tech_affinity = 0.3,
  churn_risk = 0.1, tenure_months = 24, last_purchase = "2026-10-01",
  nps = 9, satisfaction = 4, open_tickets = 0, tickets = {}, social_mentions = {},
  products = { "office_supplies", "furniture" },
  consent = { email = true, phone = true, sms = true, social = true, mail = true },
  contacts = {},
}

-- base with some fields replaced, and the fields listed in `without` left out.
local function customer(overrides, without)
  local c = {}
  for k, v in pairs(base) do c[k] = v end
  for k, v in pairs(overrides or {}) do c[k] = v end
  for _, k in ipairs(without or {}) do c[k] = nil end
  return c
end

-- The plan's action with this name, or nil.
local function find(plan, name)
  for _, a in ipairs(plan.actions) do
    if a.action == name then return a end
  end
  return nil
end

-- Priorities are computed with decimals: compare them with a small tolerance.
local function near(x, y) return math.abs(x - y) < 1e-6 end

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
    assert(near(a.priority, 94), "priority should be 70 + 30 * 0.8 = 94, got " .. tostring(a.priority))
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
    assert(near(a.priority, 76), "priority should be 55 + 30 * 0.7 = 76, got " .. tostring(a.priority))
    -- A/B test: group A gets 10%, group B 15%.
    assert(a.params.test_group == "A" or a.params.test_group == "B")
    assert(a.params.discount_pct == (a.params.test_group == "A" and 10 or 15))
  end,
}

test "priority grows with the risk" {
  customer = customer({ id = "T-RET-3", annual_revenue = 12000, churn_risk = 0.95 }),
  now = "2026-11-01",
  check = function(plan)
    local a = find(plan, "retention_offer_email")
    assert(near(a.priority, 83.5), "priority should be 55 + 30 * 0.95 = 83.5, got " .. tostring(a.priority))
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
