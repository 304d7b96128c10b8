-- service_recovery.lua — fix things for unhappy customers before they leave.
--
-- 1. "service-recovery": a customer with two or more open tickets who is also unhappy
--    (an NPS detractor, or a satisfaction score of 2 or less out of 5 on the last ticket)
--    gets a call from a senior agent who sorts out all tickets at once.
--    Value 85 (catalog.lua), plus 3 per extra open ticket (up to 94).
-- 2. "detractor-follow-up": a detractor without a pile of open tickets gets a short
--    survey by text message, so we learn what went wrong (customer service reads it).

-- Open tickets: the export's count, or else the tickets in the list not yet closed.
local function open_tickets(c)
  return c.open_tickets or count(c.tickets, function(t) return t.status ~= "closed" end)
end

policy "service-recovery" {
  description = "Two or more open tickets and unhappy: senior agent calls",
  segments = { "repeated_tickets" },
  when = function(c, ctx)
    return ctx.segments.detractor or (c.satisfaction or 5) <= 2
  end,
  action = "service_recovery_call",
  reason = function(c, ctx)
    local open = open_tickets(c)
    if ctx.segments.detractor then
      return string.format("%d open tickets and NPS %d", open, c.nps)
    end
    return string.format("%d open tickets and satisfaction %d/5", open, c.satisfaction)
  end,
}

policy "detractor-follow-up" {
  description = "Detractors without repeated tickets: ask what went wrong by text",
  segments = { "detractor" },
  when = function(c, ctx) return not ctx.segments.repeated_tickets end,
  action = "feedback_survey_sms",
  reason = "NPS detractor",
}
