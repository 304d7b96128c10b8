-- service_recovery_test.lua — service_recovery.lua: a senior agent calls customers with two or
-- more open tickets who are unhappy; other detractors get a survey by text.

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
