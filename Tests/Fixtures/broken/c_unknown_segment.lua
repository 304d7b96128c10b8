-- Broken on purpose: no such segment.
policy "vip-retention" {
  segments = { "vip" },
  action = "retention_call",
  priority = 90,
}
