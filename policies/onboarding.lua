-- onboarding.lua — help new customers (less than 3 months) get started.
--
-- 1. "onboarding-digital": tech-savvy new customers get the next email of the digital
--    onboarding series (app tour, self-service portal). Customer success sends it.
-- 2. "onboarding-welcome-call": the other new customers get a welcome call from a
--    customer success manager, who sets up the account with them.
-- Value 65-75 (catalog.lua): the newer the customer, the higher (75 in month 0, 65 in month 2).

policy "onboarding-digital" {
  description = "New tech-savvy customers: digital onboarding email series",
  segments = { "new_customer", "tech_savvy" },
  action = "onboarding_email",
  reason = "new customer, comfortable with digital self-service",
  params = function(c)
    -- One email per month of tenure: month 0 gets step 1, and so on.
    return { series_step = math.floor(clamp(c.tenure_months, 0, 2)) + 1 }
  end,
}

policy "onboarding-welcome-call" {
  description = "New customers who are not tech-savvy: a welcome call",
  segments = { "new_customer" },
  when = function(c, ctx) return not ctx.segments.tech_savvy end,
  action = "welcome_call",
  reason = "new customer who prefers a personal start",
}
