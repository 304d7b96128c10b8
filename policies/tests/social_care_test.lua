-- social_care_test.lua — social_care.lua: the care team answers negative posts on the
-- platform where they were written.

test "negative post two days ago: the care team replies on the same platform" {
  customer = customer({ id = "T-SC-1", social_mentions = {
    { platform = "twitter", sentiment = -0.8, at = "2026-10-30", text = "Third late delivery this month." },
  } }),
  now = "2026-11-01",
  expect = {
    actions = { "social_reply" },
    segments = { "negative_social" },
    departments = { "social_care" },
  },
  check = function(plan)
    local a = find(plan, "social_reply")
    assert(a.channel == "social")
    assert(a.params.platform == "twitter" and a.params.posted_at == "2026-10-30")
    assert(a.reason == "negative post on twitter 2 days ago", "reason was: " .. tostring(a.reason))
    assert(near(a.priority, 75 + 20 * 0.5 / 0.7), "sentiment -0.8 gives 75 + 20 * (0.8 - 0.3) / 0.7")
  end,
}

test "the reply is about the most recent negative post" {
  customer = customer({ id = "T-SC-2", social_mentions = {
    { platform = "facebook", sentiment = -0.5, at = "2026-10-22" },
    { platform = "linkedin", sentiment = -0.4, at = "2026-10-31" },
    { platform = "instagram", sentiment = 0.6, at = "2026-11-01" },   -- positive: ignored
  } }),
  now = "2026-11-01",
  check = function(plan)
    local a = find(plan, "social_reply")
    assert(a and a.params.platform == "linkedin", "expected the reply on linkedin")
    assert(a.params.negative_posts == 2)
  end,
}

test "very negative post from a high-value customer: top priority, capped at 100" {
  customer = customer({ id = "T-SC-3", annual_revenue = 100000, social_mentions = {
    { platform = "twitter", sentiment = -1, at = "2026-10-31" },
  } }),
  now = "2026-11-01",
  expect = { includes = { "social_reply" } },
  check = function(plan)
    assert(plan.actions[1].action == "social_reply", "the reply comes first in the plan")
    assert(near(plan.actions[1].priority, 100))
  end,
}

test "positive or old posts need no reply" {
  customer = customer({ id = "T-SC-4", social_mentions = {
    { platform = "twitter", sentiment = 0.7, at = "2026-10-31" },
    { platform = "facebook", sentiment = -0.9, at = "2026-09-15" },
  } }),
  now = "2026-11-01",
  expect = { actions = {}, segments = {} },
}

test "replied yesterday: no second reply within 3 days" {
  customer = customer({ id = "T-SC-5",
    social_mentions = { { platform = "twitter", sentiment = -0.6, at = "2026-10-30" } },
    contacts = { { action = "social_reply", channel = "social", days_ago = 1 } } }),
  now = "2026-11-01",
  expect = {
    actions = {},
    suppressed = { social_reply = "cooldown: last contact 1 days ago, cooldown is 3 days" },
  },
}

test "a mention without a platform still gets a reply" {
  customer = customer({ id = "T-SC-6",
    social_mentions = { { sentiment = -0.6, at = "2026-10-28" } } }),
  now = "2026-11-01",
  check = function(plan)
    local a = find(plan, "social_reply")
    assert(a and a.params.platform == "unknown" and a.reason == "negative post on social media 4 days ago")
  end,
}

test "customer who opted out of social contact: reply suppressed" {
  customer = customer({ id = "T-SC-7", consent = { social = false },
    social_mentions = { { platform = "facebook", sentiment = -0.7, at = "2026-10-31" } } }),
  now = "2026-11-01",
  expect = { actions = {}, suppressed = { social_reply = "no consent for social" } },
}
