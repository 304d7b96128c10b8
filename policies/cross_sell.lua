-- cross_sell.lua — grow accounts where we get only a small part of the customer's spend.
--
-- 1. "cross-sell": customers in "low_share_of_wallet" (we have less than 30% of their
--    spend) who have been with us at least 6 months and are not about to leave get an
--    email from sales recommending the next product line for them. The action itself is
--    not eligible while a ticket is open (see catalog.lua).
--    Value 61-80 (catalog.lua): higher the lower our share and the higher the growth potential.
-- 2. "account-review": high-value customers with high growth potential get a visit from
--    their account manager (in person) unless we already have most of their spend.

-- The order in which we recommend product lines: the first one the customer does not buy
-- from us yet. Customers without a product list (e.g. the CSV export) get the first one.
local PRODUCT_LINES = { "office_supplies", "furniture", "it_equipment", "facility_services" }

local function next_product_line(c)
  local owned = {}
  for _, p in ipairs(c.products or {}) do owned[p] = true end
  for _, line in ipairs(PRODUCT_LINES) do
    if not owned[line] then return line end
  end
  return nil
end

policy "cross-sell" {
  description = "Low share of wallet: recommend the next product line by email",
  segments = { "low_share_of_wallet" },
  when = function(c, ctx)
    return c.tenure_months >= 6 and not ctx.segments.churn_risk and next_product_line(c) ~= nil
  end,
  action = "cross_sell_email",
  reason = function(c)
    return string.format("we have %.0f%% of the customer's spend", c.share_of_wallet * 100)
  end,
  params = function(c) return { product_line = next_product_line(c) } end,
}

policy "account-review" {
  description = "High value and high growth potential: the account manager visits",
  segments = { "high_value", "high_growth" },
  when = function(c) return (c.share_of_wallet or 0) < 0.6 end,
  action = "account_review_visit",
  reason = "high-value account with high growth potential",
  params = function(c) return { city = c.city, region = c.region } end,
}
