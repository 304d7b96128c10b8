-- holdouts.lua — a control group, so we can tell whether our actions work.
--
-- 5% of customers get no action at all: their plan is empty and marked "holdout": "universal",
-- and it lists under "held_out" what they would have received. Reports compare the outcomes
-- of these customers with everybody else's (the lift of the whole programme).
--
-- Who is in the group depends only on the customer id and the salt (bucket(id, "2026") < 0.05),
-- so a customer stays in or out as the customer base grows. Change the salt to draw a new group
-- (say, once a year).

holdout "universal" {
  share = 0.05, salt = "2026",
  description = "Universal control group for 2026: no actions at all",
}
