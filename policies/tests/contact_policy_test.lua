-- contact_policy_test.lua — contact_policy.lua: at most 3 actions, one per channel, consent.

-- A key account where everything goes wrong at once: at churn risk, a pile of open tickets,
-- a detractor, an angry post — and still a big growth opportunity.
local troubled = {
  annual_revenue = 150000, growth_potential = 0.9, share_of_wallet = 0.1, tech_affinity = 0.9,
  churn_risk = 0.9, nps = 2, open_tickets = 3,
  social_mentions = { { platform = "twitter", sentiment = -0.9, at = "2026-10-31" } },
}

local function with(t, more)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  for k, v in pairs(more) do out[k] = v end
  return out
end

test "at most 3 actions per plan, one per channel, highest score first" {
  customer = customer(with(troubled, { id = "T-CP-1" })),
  now = "2026-11-01",
  expect = {
    -- retention call 97.2 (0.9 x 90 x 1.2), social reply 97.1, (recovery call 88: phone taken), webinar 86
    actions = { "retention_call", "social_reply", "invite_webinar" },
    suppressed = {
      service_recovery_call = "channel phone is full (at most 1 per plan)",
      retention_offer_email = "group 'retention' already has retention_call",
      account_review_visit = "plan is full (at most 3 actions)",
    },
    departments = { "customer_service", "social_care", "marketing" },
  },
  check = function(plan)
    assert(#plan.actions == 3)
    for i = 2, #plan.actions do
      assert(plan.actions[i - 1].priority >= plan.actions[i].priority, "actions are ordered by priority")
    end
  end,
}

test "the phone slot goes to the most urgent call; retention falls back to email" {
  customer = customer({ id = "T-CP-2", annual_revenue = 90000, churn_risk = 0.6, open_tickets = 5, nps = 1 }),
  now = "2026-11-01",
  expect = {
    -- recovery call 94 beats the retention call 88 for the phone; the retention email (73) remains
    actions = { "service_recovery_call", "retention_offer_email" },
    suppressed = { retention_call = "channel phone is full (at most 1 per plan)" },
  },
}

test "opted out of phone calls: no call at all" {
  customer = customer(with(troubled, { id = "T-CP-3", consent = { email = true, phone = false, sms = true, social = true } })),
  now = "2026-11-01",
  check = function(plan)
    for _, a in ipairs(plan.actions) do assert(a.channel ~= "phone", a.action .. " uses the phone") end
    local reasons = {}
    for _, s in ipairs(plan.suppressed) do reasons[s.action] = s.reason end
    assert(reasons.retention_call == "no consent for phone")
    assert(reasons.service_recovery_call == "no consent for phone")
  end,
}

test "a channel without a consent entry is not used (consent is opt-in)" {
  customer = customer({ id = "T-CP-4", annual_revenue = 90000, churn_risk = 0.8, consent = { email = true } }),
  now = "2026-11-01",
  expect = {
    excludes = { "retention_call" },
    suppressed = { retention_call = "no consent recorded for phone" },
  },
}

test "a profile without consent gets nothing that needs consent, and no error" {
  customer = customer({ id = "T-CP-5", annual_revenue = 90000, churn_risk = 0.8 }, { "consent", "contacts" }),
  now = "2026-11-01",
  expect = { actions = {}, suppressed = { retention_call = "no consent recorded for phone" } },
  check = function(plan) assert(#plan.errors == 0) end,
}

test "consent written as text is never read as consent, and is an error" {
  customer = customer({ id = "T-CP-6", annual_revenue = 90000, churn_risk = 0.8,
                        consent = { email = true, phone = "FALSE", sms = true, social = true, mail = true } }),
  now = "2026-11-01",
  expect = { excludes = { "retention_call" }, errors = { 'consent.phone\': expected true or false, got the text "FALSE"' } },
  check = function(plan)
    for _, s in ipairs(plan.suppressed) do
      if s.action == "retention_call" then assert(s.reason:find('"FALSE"', 1, true), s.reason) end
    end
  end,
}
