-- catalog.lua — every action a plan can contain, and who carries it out.
--
-- For each action:
--   department    the team whose work queue receives it
--   channel       how the customer is reached (email, phone, sms, social, mail, in_person)
--   cooldown_days the action is not repeated within this many days of the last time the
--                 customer got it (read from the contact history)
--   group         at most one action of the same group goes into a plan
--   eligible      an extra yes/no check that applies whichever policy proposes the action
--   starts, ends  campaign dates (inclusive): outside them the action is not taken
--   value         what the action is worth for this customer (when the policy does not say);
--                 the score that orders a plan is propensity x value x levers (contact_policy.lua)

-- Cities where the sales team runs in-person customer events this season.
local EVENT_CITIES = { "Chicago", "Boston", "Austin", "Seattle" }

-- Invitations (at most one per plan) ---------------------------------------------------------

action "invite_webinar" {
  department = "marketing", channel = "email",
  description = "Invite to the monthly product webinar (online, 45 minutes)",
  cooldown_days = 30,
  group = "invitations",
}

action "invite_event" {
  department = "sales", channel = "phone",
  description = "Account manager calls to invite the customer to our customer event in their city",
  cooldown_days = 60,
  group = "invitations",
  -- The events take place on 26 November: invitations go out from 1 October up to that day
  -- (inclusive) and never after it.
  starts = "2026-10-01", ends = "2026-11-26",
  -- Only customers in a city where an event takes place this season.
  eligible = function(c) return one_of(c.city, EVENT_CITIES) end,
  -- Seats: of the 40 seats per event, 3 are still free for this run's invitations. They go to
  -- the customers with the highest priority across the whole run (not the first in the file);
  -- the others get their next action (usually the webinar) with "action invite_event is at
  -- capacity (3)" among the suppressed.
  capacity = 3,
}

-- Retention (at most one per plan) ------------------------------------------------------------

-- Lever: retention is worth 20% more this quarter (every action of the group scores x 1.2).
group "retention" { weight = 20, description = "Retention actions, a priority this quarter" }

action "retention_call" {
  department = "customer_service", channel = "phone",
  description = "Retention team calls with a personal offer",
  cooldown_days = 30,
  group = "retention",
}

action "retention_offer_email" {
  department = "customer_service", channel = "email",
  description = "Email with a loyalty discount code",
  cooldown_days = 30,
  group = "retention",
}

-- Service -------------------------------------------------------------------------------------

action "service_recovery_call" {
  department = "customer_service", channel = "phone",
  description = "Senior agent calls to sort out all open tickets in one go",
  cooldown_days = 14,
  -- 85, plus 3 per open ticket beyond two (up to 94).
  value = function(c)
    local open = c.open_tickets or count(c.tickets, function(t) return t.status ~= "closed" end)
    return 85 + 3 * clamp(open - 2, 0, 3)
  end,
}

action "feedback_survey_sms" {
  department = "customer_service", channel = "sms",
  description = "Text with a two-question 'what went wrong?' survey and a callback link",
  cooldown_days = 90,
  -- The lower the score, the more we want to hear from them: 50 for a 6, 62 for a 0.
  value = function(c) return 50 + 2 * (6 - c.nps) end,
}

action "social_reply" {
  department = "social_care", channel = "social",
  description = "Care team answers the customer's post publicly and offers to take it to a direct message",
  cooldown_days = 3,
}

-- Growth --------------------------------------------------------------------------------------

action "cross_sell_email" {
  department = "sales", channel = "email",
  description = "Email recommending the product line the customer does not buy from us yet",
  cooldown_days = 30,
  -- Worth more the lower our share of the customer's spend and the higher their growth potential.
  value = function(c) return 40 + 30 * (1 - c.share_of_wallet) + 10 * (c.growth_potential or 0) end,
  -- Never try to sell more while the customer is waiting on an open ticket (the export's
  -- count, or else the tickets in the list that are not closed).
  eligible = function(c)
    local open = c.open_tickets or count(c.tickets, function(t) return t.status ~= "closed" end)
    return open == 0
  end,
}

action "account_review_visit" {
  department = "sales", channel = "in_person",
  description = "Account manager visits for a yearly business review",
  cooldown_days = 90,
  value = function(c) return 60 + 20 * c.growth_potential end,
}

-- Win-back (at most one per plan) -------------------------------------------------------------

action "winback_email" {
  department = "marketing", channel = "email",
  description = "'We miss you' email with a voucher",
  cooldown_days = 45,
  group = "winback",
}

action "winback_mail" {
  department = "marketing", channel = "mail",
  description = "Printed catalogue with a voucher, by post",
  cooldown_days = 90,
  group = "winback",
}

-- Onboarding ----------------------------------------------------------------------------------

action "onboarding_email" {
  department = "customer_success", channel = "email",
  description = "Next step of the digital onboarding series (app tour, self-service portal)",
  cooldown_days = 7,
  -- The newer the customer, the more it is worth: 75 in month 0, 65 in month 2.
  value = function(c) return 60 + 5 * (3 - clamp(c.tenure_months, 0, 3)) end,
}

action "welcome_call" {
  department = "customer_success", channel = "phone",
  description = "Customer success manager calls to welcome the customer and set up the account",
  cooldown_days = 30,
  value = function(c) return 60 + 5 * (3 - clamp(c.tenure_months, 0, 3)) end,
}

-- Fallback (contact_policy.lua) ---------------------------------------------------------------

action "newsletter_signup" {
  department = "marketing", channel = "email",
  description = "Invite to sign up for the monthly newsletter (for customers nothing else fits)",
  cooldown_days = 180,
  -- Only customers who are not subscribed yet.
  eligible = function(c) return not c.newsletter, "already subscribed to the newsletter" end,
}
