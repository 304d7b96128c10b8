-- catalog_test.lua — catalog.lua: departments and channels, the eligible checks, groups and
-- cooldowns read from the contact history.

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

-- Where each action must land, as agreed with the departments.
local ROUTING = {
  invite_webinar = { "marketing", "email" },          invite_event = { "sales", "phone" },
  retention_call = { "customer_service", "phone" },   retention_offer_email = { "customer_service", "email" },
  service_recovery_call = { "customer_service", "phone" }, feedback_survey_sms = { "customer_service", "sms" },
  social_reply = { "social_care", "social" },         cross_sell_email = { "sales", "email" },
  account_review_visit = { "sales", "in_person" },    winback_email = { "marketing", "email" },
  winback_mail = { "marketing", "mail" },             onboarding_email = { "customer_success", "email" },
  welcome_call = { "customer_success", "phone" },
}

test "every action is routed to its department and channel" {
  customer = customer({ id = "T-CAT-1", annual_revenue = 150000, growth_potential = 0.9, share_of_wallet = 0.2,
                        churn_risk = 0.65, nps = 6, tech_affinity = 0.9,
                        social_mentions = { { platform = "twitter", sentiment = -0.5, at = "2026-10-31" } } }),
  now = "2026-11-01",
  check = function(plan)
    assert(#plan.actions > 0, "expected some actions")
    for _, a in ipairs(plan.actions) do
      local want = ROUTING[a.action]
      assert(want, "unexpected action " .. a.action)
      assert(a.department == want[1] and a.channel == want[2],
             a.action .. " went to " .. a.department .. "/" .. a.channel)
    end
  end,
}

test "the event invitation is only offered in event cities" {
  customer = customer({ id = "T-CAT-2", annual_revenue = 70000, city = "Honolulu", region = "islands" }),
  now = "2026-11-01",
  expect = {
    actions = { "invite_webinar" },
    suppressed = { invite_event = "not eligible" },
  },
}

test "a plan never holds two invitations" {
  customer = customer({ id = "T-CAT-3", annual_revenue = 70000, city = "Seattle" }),
  now = "2026-11-01",
  expect = {
    actions = { "invite_event" },
    suppressed = { invite_webinar = "group 'invitations' already has invite_event" },
  },
}

test "the cross-sell check also sees open tickets in the ticket list" {
  customer = customer({ id = "T-CAT-4", share_of_wallet = 0.2, tickets = {
    { id = "T9", opened = "2026-10-30", topic = "portal login", status = "open" },
  } }, { "open_tickets" }),
  now = "2026-11-01",
  expect = { actions = {}, suppressed = { cross_sell_email = "not eligible" } },
}

test "a cooldown that has passed no longer blocks the action" {
  customer = customer({ id = "T-CAT-5", annual_revenue = 70000, tech_affinity = 0.9,
                        contacts = { { action = "invite_webinar", channel = "email", at = "2026-09-30" } } }),
  now = "2026-11-01",
  expect = { actions = { "invite_webinar" } },  -- 32 days ago, cooldown 30
}

test "contact dates may carry a time of day" {
  customer = customer({ id = "T-CAT-6", tenure_months = 1, tech_affinity = 0.9,
                        contacts = { { action = "onboarding_email", channel = "email", at = "2026-10-28T15:30:00Z" } } }),
  now = "2026-11-01",
  expect = { actions = {}, suppressed = { onboarding_email = "cooldown is 7 days" } },
}

test "only contacts with the same action count for its cooldown" {
  customer = customer({ id = "T-CAT-7", annual_revenue = 70000, tech_affinity = 0.9,
                        contacts = { { action = "winback_email", channel = "email", days_ago = 2 },
                                     { action = "cross_sell_email", channel = "email", at = "2026-10-31" } } }),
  now = "2026-11-01",
  expect = { actions = { "invite_webinar" } },
}
