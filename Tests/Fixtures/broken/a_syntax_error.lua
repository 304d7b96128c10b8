-- Broken on purpose: a missing closing brace.
policy "upsell" {
  when = function(c) return c.share_of_wallet < 0.3 end
  action = "cross_sell", priority = 30,
}
