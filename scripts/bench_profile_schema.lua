-- The reference profiles' schema, strict (policy-language.md §3.1): scripts/bench adds it to the bench set
-- to measure the cost of the schema check and of strict names against the same set without.
profile {
  region = "string", annual_revenue = "number", growth_potential = "number", share_of_wallet = "number",
  tech_affinity = "number", tenure_months = "integer", last_purchase_days = "integer", purchases_12m = "integer",
  avg_order_value = "number", open_tickets = "integer", nps = "integer", churn_risk = "number",
  preferred_channel = "string", interactions = "list", contacts = "list",
  consent = { email = "boolean", phone = "boolean", sms = "boolean", social = "boolean", in_person = "boolean" },
  strict = true,
}
