-- Run statistics: counters of plans, actions, departments, segment sizes, suppressions and errors, kept per state across customers.
local _natives, M = ...
local error_text = M.errors.text

local stats = {}

--- Empty counters.
function stats.new()
  return { plans = 0, with_errors = 0, actions = {}, departments = {}, segments = {}, suppressed = {},
           errors = {}, distinct_errors = 0 }
end

--- How many distinct error texts are counted one by one; the rest count as "(other errors)".
local DISTINCT_ERRORS = 200

--- Counts one plan into `s`.
function stats.count(s, plan, has_errors)
  s.plans = s.plans + 1
  if has_errors then
    s.with_errors = s.with_errors + 1
    local counted, errors = s.errors, plan.errors
    for i = 1, #errors do
      local key = error_text(errors[i])
      if counted[key] == nil and s.distinct_errors >= DISTINCT_ERRORS then key = "(other errors)" end
      if counted[key] == nil then s.distinct_errors = s.distinct_errors + 1 end
      counted[key] = (counted[key] or 0) + 1
    end
  end
  local by_action, by_dept, actions = s.actions, s.departments, plan.actions
  for i = 1, #actions do
    local a = actions[i]
    by_action[a.action] = (by_action[a.action] or 0) + 1
    by_dept[a.department] = (by_dept[a.department] or 0) + 1
  end
  local sizes, seglist = s.segments, plan.segments
  for i = 1, #seglist do sizes[seglist[i]] = (sizes[seglist[i]] or 0) + 1 end
  local sup, suppressed = s.suppressed, plan.suppressed
  for i = 1, #suppressed do local a = suppressed[i].action; sup[a] = (sup[a] or 0) + 1 end
end

return stats
