-- service_recovery_test.lua — service_recovery.lua: a senior agent calls customers with two or
-- more open tickets who are unhappy; other detractors get a survey by text.

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

test "two open tickets and a detractor score: service recovery call" {
  customer = customer({ id = "T-SR-1", open_tickets = 2, nps = 4 }),
  now = "2026-11-01",
  expect = {
    actions = { "service_recovery_call" },
    segments = { "repeated_tickets", "detractor" },
    excludes = { "feedback_survey_sms" },   -- the call covers it
    departments = { "customer_service" },
  },
  check = function(plan)
    local a = find(plan, "service_recovery_call")
    assert(a.reason == "2 open tickets and NPS 4", "reason was: " .. tostring(a.reason))
    assert(near(a.priority, 85))
    assert(a.policy == "service-recovery")
  end,
}

test "good NPS but a low satisfaction score also triggers the call" {
  customer = customer({ id = "T-SR-2", open_tickets = 3, nps = 8, satisfaction = 2 }),
  now = "2026-11-01",
  expect = { actions = { "service_recovery_call" } },
  check = function(plan)
    local a = find(plan, "service_recovery_call")
    assert(a.reason == "3 open tickets and satisfaction 2/5", "reason was: " .. tostring(a.reason))
    assert(near(a.priority, 88), "85 + 3 for the third ticket")
  end,
}

test "the more open tickets, the higher the priority, up to 94" {
  customer = customer({ id = "T-SR-3", open_tickets = 7, nps = 2 }),
  now = "2026-11-01",
  check = function(plan) assert(near(find(plan, "service_recovery_call").priority, 94)) end,
}

test "open tickets but a happy customer: no call" {
  customer = customer({ id = "T-SR-4", open_tickets = 2, nps = 9, satisfaction = 4 }),
  now = "2026-11-01",
  expect = { segments = { "repeated_tickets" }, actions = {} },
}

test "ticket list without a count: open tickets are counted from the list" {
  customer = customer({ id = "T-SR-5", nps = 5, tickets = {
    { id = "T1", opened = "2026-10-01", topic = "late delivery", status = "open" },
    { id = "T2", opened = "2026-10-12", topic = "damaged goods", status = "open" },
    { id = "T3", opened = "2026-10-28", topic = "invoice error", status = "open" },
    { id = "T4", opened = "2026-03-01", topic = "wrong item", status = "closed" },
  } }, { "open_tickets" }),
  now = "2026-11-01",
  expect = { actions = { "service_recovery_call" } },
  check = function(plan)
    local a = find(plan, "service_recovery_call")
    assert(near(a.priority, 88) and a.reason == "3 open tickets and NPS 5")
  end,
}

test "recovery call made 5 days ago: not repeated within 14 days" {
  customer = customer({ id = "T-SR-6", open_tickets = 2, nps = 3,
                        contacts = { { action = "service_recovery_call", channel = "phone", days_ago = 5 } } }),
  now = "2026-11-01",
  expect = {
    actions = {},
    suppressed = { service_recovery_call = "cooldown: last contact 5 days ago, cooldown is 14 days" },
  },
}

test "no phone consent: the call is suppressed" {
  customer = customer({ id = "T-SR-7", open_tickets = 2, nps = 3, consent = { phone = false } }),
  now = "2026-11-01",
  expect = { actions = {}, suppressed = { service_recovery_call = "no consent for phone" } },
}

test "detractor with no ticket pile gets the feedback survey by text" {
  customer = customer({ id = "T-SR-8", open_tickets = 1, nps = 3 }),
  now = "2026-11-01",
  expect = {
    actions = { "feedback_survey_sms" },
    segments = { "detractor" },
    departments = { "customer_service" },
  },
  check = function(plan)
    local a = find(plan, "feedback_survey_sms")
    assert(a.channel == "sms" and near(a.priority, 56), "50 + 2 * (6 - 3) = 56")
  end,
}

test "detractor who opted out of text messages: survey suppressed" {
  customer = customer({ id = "T-SR-9", nps = 5, consent = { email = true, sms = false } }),
  now = "2026-11-01",
  expect = { actions = {}, suppressed = { feedback_survey_sms = "no consent for sms" } },
}
