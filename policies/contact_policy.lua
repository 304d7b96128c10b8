-- contact_policy.lua — how much contact is too much.
--
-- Applies to every plan, whichever policies proposed the actions:
--   * at most 3 actions per customer per run, the highest scores first (arbitration "pcvl":
--     propensity x value x levers, shown as "factors" in each planned action);
--   * at most 1 action per channel (one email, one call, one text ... per run), so that a
--     customer is never called twice on the same day by two departments;
--   * consent is opt-in: a channel is used only when the customer's entry for it is true
--     (consent.email = true, ...); a missing entry or anything else ("FALSE", 0) is no;
--   * the contact history used for cooldowns is the profile's `contacts` list, e.g.
--     { action = "retention_call", channel = "phone", at = "2026-10-20" } or
--     { action = "winback_email", channel = "email", days_ago = 12 }.
--   * fallback: a customer whose plan would otherwise be empty is invited to the newsletter
--     (when they can be emailed, are not subscribed and were not invited in the last 180
--     days); the fallback never replaces another action.

contact_policy {
  max_actions = 3,
  max_per_channel = 1,
  consent = "opt_in",
  history = "contacts",
  fallback = { "newsletter_signup" },
  -- Score = propensity x context x value x levers (see retention.lua and catalog.lua): a
  -- proposal gives its value (and, when known, a propensity) instead of a priority.
  arbitration = "pcvl",
}
