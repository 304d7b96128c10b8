-- levers_test.lua — the rules around the policies: the newsletter fallback (contact_policy.lua),
-- the dated event invitation (catalog.lua) and the universal control group (holdouts.lua).

test "a customer nothing else fits is invited to the newsletter" {
  customer = customer({ id = "T-FB-1", newsletter = false }),
  now = "2026-11-01",
  expect = { actions = { "newsletter_signup" }, departments = { "marketing" } },
  check = function(plan)
    local a = find(plan, "newsletter_signup")
    assert(a.reason == "fallback: no other action" and a.policy == "fallback", "the fallback says why it was chosen")
  end,
}

test "a subscriber gets no fallback" {
  customer = customer({ id = "T-FB-2" }),
  now = "2026-11-01",
  expect = { actions = {} },
}

test "the fallback respects consent and its cooldown" {
  customer = customer({ id = "T-FB-3", newsletter = false,
                        consent = { email = false, phone = true, sms = true, social = true, mail = true } }),
  now = "2026-11-01",
  expect = { actions = {} },
}

test "the fallback is not repeated within 180 days" {
  customer = customer({ id = "T-FB-4", newsletter = false,
                        contacts = { { action = "newsletter_signup", channel = "email", at = "2026-08-01" } } }),
  now = "2026-11-01",
  expect = { actions = {} },
}

test "the fallback never replaces another action" {
  customer = customer({ id = "T-FB-5", newsletter = false, churn_risk = 0.7 }),
  now = "2026-11-01",
  expect = { actions = { "retention_offer_email" } },
}

test "no event invitations after the event on 26 November" {
  customer = customer({ id = "T-EV-3", annual_revenue = 90000, city = "Chicago", growth_potential = 0.5 }),
  now = "2026-12-01",
  expect = {
    includes = { "invite_webinar" },
    suppressed = { invite_event = "outside its dates (ended 2026-11-26)" },
  },
}

test "event invitations still go out on the day of the event" {
  customer = customer({ id = "T-EV-4", annual_revenue = 90000, city = "Chicago", growth_potential = 0.5 }),
  now = "2026-11-26T08:00:00Z",
  expect = { includes = { "invite_event" } },
}

test "a customer in the universal control group gets nothing, and the plan says what was held out" {
  customer = customer({ id = "T-HOLD-2", churn_risk = 0.7 }),
  now = "2026-11-01",
  expect = { actions = {} },
  check = function(plan)
    assert(bucket("T-HOLD-2", "2026") < 0.05, "T-HOLD-2 is in the 5% group")
    assert(plan.holdout == "universal", "the plan is marked with its holdout")
    local h = plan.held_out[1]
    assert(h and h.action == "retention_offer_email" and h.policy == "retention" and h.holdout == "universal")
  end,
}
