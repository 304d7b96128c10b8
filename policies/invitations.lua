-- invitations.lua — invite our best customers to meet us.
--
-- Who:  high-value customers (50k+ a year).
-- What: tech-savvy customers get the online product webinar (marketing, email).
--       The others get a call from their account manager inviting them to the customer
--       event in their city (sales, phone). Where there is no event in their city (the
--       event action is not eligible there), they get the webinar invitation instead.
-- Both invitations are in the group "invitations", so a plan never holds both.
-- Value: 50 to 95, higher for customers with more growth potential (the score is this value:
-- invitations give no propensity, so it is 1).

policy "invitations" {
  description = "High-value customers: webinar if tech-savvy, otherwise an in-person event",
  segments = { "high_value" },
  propose = function(c, ctx)
    local growth = c.growth_potential or 0

    if ctx.segments.tech_savvy then
      return {
        action = "invite_webinar",
        value = 50 + 40 * growth,
        reason = "tech-savvy high-value customer",
      }
    end

    return {
      -- First choice: meet in person.
      { action = "invite_event",
        value = 55 + 40 * growth,
        reason = "high-value customer who prefers meeting in person",
        params = { city = c.city } },
      -- Fallback, only used when the event cannot be offered (no event in their city,
      -- no phone consent, recently invited, or the phone slot is taken).
      { action = "invite_webinar",
        value = 30,
        reason = "high-value customer, no in-person event possible" },
    }
  end,
}
