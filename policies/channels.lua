-- channels.lua — how customers are reached, and the teams whose work queues receive actions.
--
-- Every channel and department an action names must be declared here: a typo such as
-- department = "marketting" is then a load error instead of a new, silent work queue.
--
-- Consent is opt-in: an action on a channel that needs consent is taken only when the
-- customer's consent entry for it (consent.email, consent.phone, ...) is exactly true.

channel "email"  {}                                 -- consent.email
channel "phone"  {}                                 -- consent.phone
channel "sms"    {}                                 -- consent.sms
channel "social" {}                                 -- consent.social: answering in public
channel "mail"   {}                                 -- consent.mail: printed post
channel "in_person" { requires_consent = false }    -- a visit the account manager agrees with the customer

-- What each team sees of the customer beside the action (copied into its work queue).
department "marketing"        { fields = { "name", "email", "city" } }
department "sales"            { fields = { "name", "email", "phone", "city" } }
-- The contact centre handles at most 80 calls and messages a day (one run is one day's plan): the
-- 80 highest priorities across all customers get them, the rest their next action.
department "customer_service" { fields = { "name", "email", "phone" }, capacity = 80 }
department "customer_success" { fields = { "name", "email", "phone" } }
department "social_care"      { fields = { "name", "city" } }
