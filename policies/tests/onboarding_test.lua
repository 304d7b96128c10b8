-- onboarding_test.lua — onboarding.lua: digital onboarding emails for tech-savvy new customers,
-- a welcome call for the other new customers.

test "tech-savvy new customer gets the next onboarding email" {
  customer = customer({ id = "T-ON-1", tenure_months = 1, tech_affinity = 0.8 }),
  now = "2026-11-01",
  expect = {
    actions = { "onboarding_email" },
    segments = { "new_customer", "tech_savvy" },
    departments = { "customer_success" },
    excludes = { "welcome_call" },
  },
  check = function(plan)
    local a = find(plan, "onboarding_email")
    assert(a.params.series_step == 2, "month 1 of tenure is step 2 of the series")
    assert(near(a.priority, 70), "60 + 5 * (3 - 1) = 70")
  end,
}

test "new customer who is not tech-savvy gets a welcome call" {
  customer = customer({ id = "T-ON-2", tenure_months = 0, tech_affinity = 0.2 }),
  now = "2026-11-01",
  expect = { actions = { "welcome_call" }, departments = { "customer_success" } },
  check = function(plan)
    local a = find(plan, "welcome_call")
    assert(a.channel == "phone" and near(a.priority, 75), "60 + 5 * 3 = 75")
  end,
}

test "a new customer with no purchase yet and no tech score gets the welcome call" {
  customer = customer({ id = "T-ON-3", tenure_months = 0 }, { "last_purchase", "tech_affinity", "nps" }),
  now = "2026-11-01",
  expect = { actions = { "welcome_call" }, segments = { "new_customer" } },
}

test "after 3 months onboarding is over" {
  customer = customer({ id = "T-ON-4", tenure_months = 3, tech_affinity = 0.8 }),
  now = "2026-11-01",
  expect = { excludes = { "onboarding_email", "welcome_call" } },
}

test "onboarding email sent 3 days ago: the next one waits a week" {
  customer = customer({ id = "T-ON-5", tenure_months = 2, tech_affinity = 0.7,
                        contacts = { { action = "onboarding_email", channel = "email", at = "2026-10-29" } } }),
  now = "2026-11-01",
  expect = {
    actions = {},
    suppressed = { onboarding_email = "cooldown: last contact 3 days ago, cooldown is 7 days" },
  },
}

test "no phone consent: no welcome call" {
  customer = customer({ id = "T-ON-6", tenure_months = 1, consent = { phone = false } }),
  now = "2026-11-01",
  expect = { actions = {}, suppressed = { welcome_call = "no consent for phone" } },
}
