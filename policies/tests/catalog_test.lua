-- catalog_test.lua — catalog.lua: departments and channels, the eligible checks, groups and
-- cooldowns read from the contact history.

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
