-- profile.lua — the fields a customer profile has, and their types.
--
-- A value of the wrong type (say "8.250,00" as text where a number belongs) is left out for
-- the policies and listed in the plan's errors, instead of failing somewhere else. With
-- strict = true, reading a field that is not listed here (c.revenue for c.annual_revenue)
-- is an error that suggests the right name.

profile {
  name = "string", email = "string", phone = "string", city = "string", region = "string",
  annual_revenue = "number", growth_potential = "number", share_of_wallet = "number",
  tech_affinity = "number", churn_risk = "number", tenure_months = "integer",
  last_purchase = "date", nps = "integer", satisfaction = "integer", open_tickets = "integer",
  tickets = "list", social_mentions = "list", products = "list", contacts = "list",
  newsletter = "boolean",
  consent = { email = "boolean", phone = "boolean", sms = "boolean", social = "boolean", mail = "boolean" },
  strict = true,
}
