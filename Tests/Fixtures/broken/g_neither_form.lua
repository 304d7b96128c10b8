-- Broken on purpose: neither propose nor action.
policy "forgotten" {
  description = "proposes nothing at all",
  when = function(c) return true end,
}
