-- _shared.lua — what every test file here starts from. Test files load in sorted path order,
-- so this file (its name starts with "_") is read before the others.

-- A quiet, ordinary customer who is in no segment and gets no action (not even the newsletter
-- fallback: they are subscribed already). Each test
-- starts from it and changes only what the test is about.
ordinary_customer = {
  id = "T-BASE", name = "Maple Print Shop", city = "Denver", region = "west",
  annual_revenue = 20000, growth_potential = 0.3, share_of_wallet = 0.6, tech_affinity = 0.3,
  churn_risk = 0.1, tenure_months = 24, last_purchase = "2026-10-01",
  nps = 9, satisfaction = 4, open_tickets = 0, tickets = {}, social_mentions = {},
  products = { "office_supplies", "furniture" },
  consent = { email = true, phone = true, sms = true, social = true, mail = true },
  contacts = {},
  newsletter = true,  -- already subscribed, so the newsletter fallback (contact_policy.lua) does not apply
}

-- ordinary_customer with some fields replaced, and the fields listed in `without` left out.
function customer(overrides, without)
  local c = {}
  for k, v in pairs(ordinary_customer) do c[k] = v end
  for k, v in pairs(overrides or {}) do c[k] = v end
  for _, k in ipairs(without or {}) do c[k] = nil end
  return c
end

-- The plan's action with this name, or nil.
function find(plan, name)
  for _, a in ipairs(plan.actions) do
    if a.action == name then return a end
  end
  return nil
end

-- Priorities are computed with decimals: compare them with a small tolerance.
function near(x, y) return math.abs(x - y) < 1e-6 end
