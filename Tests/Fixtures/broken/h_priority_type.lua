-- Broken on purpose: a priority must be a number (or a function returning one).
policy "eager-cross-sell" { action = "cross_sell",
  priority = "high" }
