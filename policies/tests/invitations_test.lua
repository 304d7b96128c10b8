-- invitations_test.lua — invitations.lua: webinar for tech-savvy high-value customers, in-person
-- event for the others (where there is an event), never both.

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
