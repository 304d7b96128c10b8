-- win_back.lua — bring back customers who stopped buying.
--
-- Who:  customers in "dormant" (no purchase for more than 180 days), except those
--       already handled by retention (churn_risk) — one save attempt at a time.
-- What: dormant for up to a year: a "we miss you" email with a voucher.
--       Dormant for more than a year (email no longer works for them), or no email
--       consent: a printed catalogue with the voucher, by post.
--       Both are in the group "winback": a plan holds at most one.
-- Voucher: an A/B test — half get 15% off, half free delivery (split by customer id).
-- Value 35-55: higher for customers who used to spend more.

local function voucher(c)
  if bucket(c.id, "winback-voucher") < 0.5 then return "15_percent_off" end
  return "free_delivery"
end

policy "win-back" {
  description = "Dormant customers: voucher by email, or by post after a year",
  segments = { "dormant" },
  propose = function(c, ctx)
    if ctx.segments.churn_risk then return nil end
    local days = math.floor(days_since(c.last_purchase))
    local value = 35 + 20 * clamp(c.annual_revenue / 100000, 0, 1)
    local params = { voucher = voucher(c), days_since_last_purchase = days }
    local reason = string.format("no purchase for %d days", days)

    if days > 365 then
      return { action = "winback_mail", value = value, reason = reason, params = params }
    end
    return {
      { action = "winback_email", value = value, reason = reason, params = params },
      -- Fallback by post, used only when the email cannot be sent.
      { action = "winback_mail", value = value - 5, reason = reason, params = params },
    }
  end,
}
