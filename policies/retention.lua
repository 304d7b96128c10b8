-- retention.lua — keep customers the churn model says may leave.
--
-- Who:  customers in the "churn_risk" segment (churn risk 0.6 or more).
-- What: high-value customers get a personal call from the retention team (phone);
--       everybody else gets a loyalty discount by email. High-value customers we cannot
--       call (no phone consent, called recently) get the email instead: both actions are
--       in the group "retention", so a plan holds at most one of them.
-- Score = propensity x value x lever (contact_policy.lua arbitrates by "pcvl"): the propensity
-- is the churn risk (how likely we lose the customer without the action), the value what keeping
-- the customer is worth to us: 90 for the call (high-value customers), 75 for the email; the
-- group "retention" is worth 20% more this quarter (catalog.lua). So the call scores
-- 0.6 x 90 x 1.2 = 64.8 up to 108, the email 54 up to 90.
-- Discount: an A/B test runs this quarter — half the email customers get 10%, half 15%
-- (split by customer id, so the same customer always lands in the same half).

local function discount_test_group(c)
  if bucket(c.id, "retention-discount-2026Q4") < 0.5 then return "A" end
  return "B"
end

policy "retention" {
  description = "Retention offer by churn risk and value: a call for high value, an email otherwise",
  segments = { "churn_risk" },
  propose = function(c, ctx)
    local risk = c.churn_risk
    local group = discount_test_group(c)
    local email = {
      action = "retention_offer_email",
      value = 75, propensity = risk,
      reason = string.format("churn risk %.0f%%", risk * 100),
      params = { discount_pct = group == "A" and 10 or 15, test_group = group },
    }
    if not ctx.segments.high_value then
      return email
    end
    return {
      { action = "retention_call",
        value = 90, propensity = risk,
        reason = string.format("high-value customer with churn risk %.0f%%", risk * 100),
        params = { annual_revenue = c.annual_revenue, discount_pct = 20 } },
      email,  -- only used when the call cannot be made
    }
  end,
}
