-- A small set that reads nested fields, lists and consent, so the fuzzer reaches the driver too.
action "call" { department = "sales", channel = "phone", cooldown_days = 10 }
action "mail" { department = "marketing", channel = "email" }
segment "big" { when = function(c) return type(c.score) == "number" and c.score > 1 end }
policy "p" { segments = { "big" }, action = "call", priority = 1 }
policy "q" { propose = function(c)
  local n = 0
  if type(c.tags) == "table" then for _, t in ipairs(c.tags) do n = n + 1 end end
  return { action = "mail", priority = n, params = { tags = c.tags } }
end }
