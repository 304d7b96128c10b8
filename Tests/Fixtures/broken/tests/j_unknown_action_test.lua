-- Broken on purpose: the test names an action the set does not declare.
test "gold customer gets a webinar" {
  customer = { id = "T1", annual_revenue = 90000, churn_risk = 0.1 },
  expect = { includes = { "invite_seminar" } },
}
