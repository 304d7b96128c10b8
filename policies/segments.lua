-- segments.lua — who the customer is.
--
-- A segment is a yes/no question about one customer. Every segment is checked once per
-- customer; the plan lists the segments the customer is in, and policies use them either
-- as a gate (`segments = { "high_value" }`) or inside their logic (`ctx.segments.tech_savvy`).
--
-- Thresholds live here, in one place, so marketing, sales and service all mean the same
-- thing by "high value" or "at risk".
--
-- Profile fields: `annual_revenue`, `tenure_months` and `churn_risk` are in every export;
-- everything else may be missing (the CSV export, for instance, has no lists), so each
-- rule below says what a missing field counts as.

-- Value ------------------------------------------------------------------------------------

segment "high_value" {
  description = "Spends 50,000 or more a year with us",
  when = function(c) return c.annual_revenue >= 50000 end,
}

segment "high_growth" {
  description = "Account team rates the growth potential 0.6 or more (0 = none, 1 = very high)",
  when = function(c) return (c.growth_potential or 0) >= 0.6 end,
}

segment "low_share_of_wallet" {
  description = "We get less than 30% of what the customer spends in our categories",
  -- Unknown share of wallet: not in the segment (we do not push offers on a guess).
  when = function(c) return c.share_of_wallet ~= nil and c.share_of_wallet < 0.3 end,
}

-- Behaviour and preferences ----------------------------------------------------------------

segment "tech_savvy" {
  description = "Comfortable with digital channels: tech affinity 0.6 or more",
  when = function(c) return (c.tech_affinity or 0) >= 0.6 end,
}

segment "new_customer" {
  description = "Customer for less than 3 months",
  when = function(c) return c.tenure_months < 3 end,
}

segment "dormant" {
  description = "Last purchase more than 180 days ago",
  -- Customers who never bought have no last_purchase: they are not dormant, just new.
  when = function(c)
    return c.last_purchase ~= nil and days_since(c.last_purchase) > 180
  end,
}

-- Risk and satisfaction -------------------------------------------------------------------

segment "churn_risk" {
  description = "The churn model gives a risk of 0.6 or more of leaving in the next 6 months",
  when = function(c) return c.churn_risk >= 0.6 end,
}

segment "detractor" {
  description = "Answered the NPS survey with 0 to 6",
  -- No NPS answer: not a detractor.
  when = function(c) return c.nps ~= nil and c.nps <= 6 end,
}

segment "repeated_tickets" {
  description = "Two or more support tickets still open",
  -- Exports give the open ticket count; when only the ticket list is there, we count it.
  when = function(c)
    local open = c.open_tickets
    if open == nil then
      open = count(c.tickets, function(t) return t.status ~= "closed" end)
    end
    return open >= 2
  end,
}

segment "negative_social" {
  description = "Wrote about us negatively on social media in the last 14 days",
  -- sentiment runs from -1 (very negative) to +1 (very positive).
  when = function(c)
    return any(c.social_mentions, function(m)
      return (m.sentiment or 0) <= -0.3 and m.at ~= nil and days_since(m.at) <= 14
    end)
  end,
}
