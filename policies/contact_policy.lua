-- contact_policy.lua — how much contact is too much.
--
-- Applies to every plan, whichever policies proposed the actions:
--   * at most 3 actions per customer per run, the highest priorities first;
--   * at most 1 action per channel (one email, one call, one text ... per run), so that a
--     customer is never called twice on the same day by two departments;
--   * a channel the customer opted out of (consent.email = false, ...) is never used;
--   * the contact history used for cooldowns is the profile's `contacts` list, e.g.
--     { action = "retention_call", channel = "phone", at = "2026-10-20" } or
--     { action = "winback_email", channel = "email", days_ago = 12 }.

contact_policy {
  max_actions = 3,
  max_per_channel = 1,
  respect_consent = true,
  history = "contacts",
}
