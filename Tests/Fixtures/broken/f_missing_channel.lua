-- Broken on purpose: how is the customer reached?

action "loyalty_call" {
  department = "sales",
}
