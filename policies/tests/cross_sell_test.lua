-- cross_sell_test.lua — cross_sell.lua: recommend the next product line where our share
-- of wallet is low; account manager visits for high-value, high-growth accounts.

test "low share of wallet: sales emails a recommendation for the next product line" {
  customer = customer({ id = "T-XS-1", share_of_wallet = 0.2, products = { "office_supplies" } }),
  now = "2026-11-01",
  expect = {
    actions = { "cross_sell_email" },
    segments = { "low_share_of_wallet" },
    departments = { "sales" },
  },
  check = function(plan)
    local a = find(plan, "cross_sell_email")
    assert(a.params.product_line == "furniture", "office_supplies is owned, furniture is next")
    assert(near(a.priority, 67), "40 + 30 * 0.8 + 10 * 0.3 = 67, got " .. tostring(a.priority))
    assert(a.reason == "we have 20% of the customer's spend")
  end,
}

test "no product list (CSV export): recommend the first product line" {
  customer = customer({ id = "T-XS-2", share_of_wallet = 0.1 }, { "products" }),
  now = "2026-11-01",
  check = function(plan)
    assert(find(plan, "cross_sell_email").params.product_line == "office_supplies")
  end,
}

test "customer already buys every product line: nothing to cross-sell" {
  customer = customer({ id = "T-XS-3", share_of_wallet = 0.2,
                        products = { "office_supplies", "furniture", "it_equipment", "facility_services" } }),
  now = "2026-11-01",
  expect = { actions = {}, excludes = { "cross_sell_email" } },
}

test "an open ticket blocks the cross-sell email" {
  customer = customer({ id = "T-XS-4", share_of_wallet = 0.2, open_tickets = 1 }),
  now = "2026-11-01",
  expect = { actions = {}, suppressed = { cross_sell_email = "not eligible" } },
}

test "customers at churn risk get a retention offer, not a sales pitch" {
  customer = customer({ id = "T-XS-5", share_of_wallet = 0.2, churn_risk = 0.7 }),
  now = "2026-11-01",
  expect = { includes = { "retention_offer_email" }, excludes = { "cross_sell_email" } },
}

test "customers of less than 6 months get no cross-sell yet" {
  customer = customer({ id = "T-XS-6", share_of_wallet = 0.2, tenure_months = 5 }),
  now = "2026-11-01",
  expect = { actions = {} },
}

test "high-value account with high growth potential: account manager visits" {
  customer = customer({ id = "T-XS-7", annual_revenue = 120000, growth_potential = 0.8,
                        share_of_wallet = 0.4, city = "Phoenix", region = "west" }),
  now = "2026-11-01",
  expect = {
    includes = { "account_review_visit" },
    segments = { "high_value", "high_growth" },
  },
  check = function(plan)
    local a = find(plan, "account_review_visit")
    assert(a.department == "sales" and a.channel == "in_person")
    assert(a.params.city == "Phoenix" and a.params.region == "west")
    assert(near(a.priority, 76), "60 + 20 * 0.8 = 76")
  end,
}

test "no visit when we already have most of the customer's spend" {
  customer = customer({ id = "T-XS-8", annual_revenue = 120000, growth_potential = 0.8,
                        share_of_wallet = 0.7 }),
  now = "2026-11-01",
  expect = { excludes = { "account_review_visit" } },
}

test "low share and high growth: visit and email together, visit first" {
  customer = customer({ id = "T-XS-9", annual_revenue = 150000, growth_potential = 0.9,
                        share_of_wallet = 0.1, tech_affinity = 0.2, city = "Denver" }),
  now = "2026-11-01",
  expect = {
    -- visit 78, cross-sell 40 + 27 + 9 = 76, webinar fallback 30 (no event in Denver)
    actions = { "account_review_visit", "cross_sell_email" },
    suppressed = { invite_event = "not eligible", invite_webinar = "channel email is full" },
  },
}
