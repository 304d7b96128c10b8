-- social_care.lua — answer customers who complain about us on social media.
--
-- Who:  customers in "negative_social" (a negative post in the last 14 days).
-- What: the social care team replies on the platform where the customer posted
--       (channel "social"); the plan carries the platform and the date of the post.
-- Value: 75 for a mildly negative post, up to 95 for a very negative one; +5 for
-- high-value customers (capped at 100). Recent posts first: the reply is about the most
-- recent negative post.

policy "social-care" {
  description = "Negative social media post: the care team replies on the same platform",
  segments = { "negative_social" },
  propose = function(c, ctx)
    -- The most recent negative post of the last 14 days.
    local latest
    for _, m in ipairs(c.social_mentions) do
      if (m.sentiment or 0) <= -0.3 and m.at ~= nil and days_since(m.at) <= 14 then
        if latest == nil or days_since(m.at) < days_since(latest.at) then latest = m end
      end
    end
    local severity = clamp(-latest.sentiment, 0, 1)  -- 0.3 .. 1
    local value = 75 + 20 * (severity - 0.3) / 0.7
    if ctx.segments.high_value then value = value + 5 end
    local negatives = count(c.social_mentions, function(m) return (m.sentiment or 0) <= -0.3 end)
    return {
      action = "social_reply",
      value = clamp(value, 0, 100),
      reason = string.format("negative post on %s %d days ago", latest.platform or "social media",
                             math.floor(days_since(latest.at))),
      params = { platform = latest.platform or "unknown", posted_at = latest.at,
                 negative_posts = negatives },
    }
  end,
}
