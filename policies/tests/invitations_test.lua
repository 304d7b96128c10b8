-- invitations_test.lua — invitations.lua: webinar for tech-savvy high-value customers, in-person
-- event for the others (where there is an event), never both.

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

test "tech-savvy high-value customer is invited to the webinar" {
  customer = customer({ id = "T-INV-1", annual_revenue = 80000, tech_affinity = 0.8 }),
  now = "2026-11-01",
  expect = {
    segments = { "high_value", "tech_savvy" },
    actions = { "invite_webinar" },
    excludes = { "invite_event" },
    departments = { "marketing" },
  },
}

test "webinar priority grows with growth potential" {
  customer = customer({ id = "T-INV-2", annual_revenue = 80000, tech_affinity = 0.8, growth_potential = 0.5 }),
  now = "2026-11-01",
  check = function(plan)
    local a = find(plan, "invite_webinar")
    assert(a, "expected a webinar invitation")
    assert(near(a.priority, 70), "priority should be 50 + 40 * 0.5 = 70, got " .. tostring(a.priority))
    assert(a.channel == "email" and a.department == "marketing")
  end,
}

test "high-value customer in an event city who is not tech-savvy gets the event invitation" {
  customer = customer({ id = "T-INV-3", annual_revenue = 80000, city = "Boston" }),
  now = "2026-11-01",
  expect = {
    actions = { "invite_event" },
    suppressed = { invite_webinar = "group 'invitations' already has invite_event" },
    departments = { "sales" },
  },
  check = function(plan)
    local a = find(plan, "invite_event")
    assert(a and a.params.city == "Boston", "the event invitation names the customer's city")
    assert(a.channel == "phone")
  end,
}

test "no event in the customer's city: webinar invitation instead" {
  customer = customer({ id = "T-INV-4", annual_revenue = 80000, city = "Denver" }),
  now = "2026-11-01",
  expect = {
    actions = { "invite_webinar" },
    suppressed = { invite_event = "not eligible" },
  },
  check = function(plan)
    assert(find(plan, "invite_webinar").reason == "high-value customer, no in-person event possible")
  end,
}

test "no phone consent: no event call, webinar invitation instead" {
  customer = customer({ id = "T-INV-5", annual_revenue = 80000, city = "Chicago",
                        consent = { email = true, phone = false } }),
  now = "2026-11-01",
  expect = {
    actions = { "invite_webinar" },
    suppressed = { invite_event = "no consent for phone" },
  },
}

test "invited to the event a month ago: not again for 60 days" {
  customer = customer({ id = "T-INV-6", annual_revenue = 80000, city = "Austin",
                        contacts = { { action = "invite_event", channel = "phone", at = "2026-10-02" } } }),
  now = "2026-11-01",
  expect = {
    includes = { "invite_webinar" },
    suppressed = { invite_event = "cooldown: last contact 30 days ago, cooldown is 60 days" },
  },
}

test "customers below 50k get no invitation" {
  customer = customer({ id = "T-INV-7", annual_revenue = 49999, tech_affinity = 0.9, city = "Seattle" }),
  now = "2026-11-01",
  expect = { actions = {}, excludes = { "invite_webinar", "invite_event" } },
}
