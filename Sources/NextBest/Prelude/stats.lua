-- Run statistics: counters of plans, actions, channels, segment sizes, each policy's funnel, suppressions by reason and errors, kept per state across customers.
local natives, M = ...
local type, tostring = type, tostring
type = natives.type  -- type() with its answers kept, not interned again each call (state.c)
local sfind, smatch = string.find, string.match
local error_text = M.errors.text

local stats = {}

--- Empty counters.
function stats.new()
  return { plans = 0, with_errors = 0, no_action = 0, actions = {}, departments = {}, channels = {},
           department_channels = {}, segments = {}, suppressed = {}, errors = {}, distinct_errors = 0,
           field_errors = {}, field_examples = {}, policies = {}, distinct_reasons = 0 }
end

--- How many distinct error texts are counted one by one; the rest count as "(other errors)".
local DISTINCT_ERRORS = 200
--- How many (action or policy, reason) pairs are counted one by one; the rest as "(other reasons)".
local DISTINCT_REASONS = 20000

--- Suppression reasons as counted: a cooldown's reason names its days, so all count as one.
local REASON_KEYS, REASON_KEYS_SIZE = {}, 0
local function reason_key(s, reason)
  local key = REASON_KEYS[reason]
  if key then return key end
  key = type(reason) == "string" and reason or tostring(reason)
  if sfind(key, "^cooldown:") then key = "cooldown (contacted too recently)" end
  local paused = smatch(key, "^(.-): paused until ")  -- outcome pauses (§8.3) name their end date
  if paused then key = paused .. ": paused" end
  local scope, window, most = smatch(key, "^(%a+ [^:]+): %d+ contacts? in the last (.-) %(at most (%d+)%)$")  -- caps (§8.2) name their count
  if scope then key = scope .. ": frequency cap (at most " .. most .. " in " .. window .. ")" end
  if REASON_KEYS_SIZE >= 4096 then REASON_KEYS, REASON_KEYS_SIZE = {}, 0 end  -- bounded
  REASON_KEYS[reason], REASON_KEYS_SIZE = key, REASON_KEYS_SIZE + 1
  return key
end

--- Adds one to counts[key], counting at most DISTINCT_ERRORS distinct keys (the rest as `other`).
local function bump(s, counts, key, other)
  local n = counts[key]
  if n == nil then
    if s.distinct_reasons >= DISTINCT_REASONS then key = other; n = counts[key] or 0
    else s.distinct_reasons = s.distinct_reasons + 1; n = 0 end
  end
  counts[key] = n + 1
end

--- The funnel of the policy named `name`.
local function funnel(s, name)
  local f = s.policies[name]
  if f == nil then
    f = { ran = 0, proposals = 0, taken = 0, suppressed = {} }
    s.policies[name] = f
  end
  return f
end

--- Counts one plan into `s`; `ran` (the pipeline's `ran()`) lists the policies that ran for
--- this customer and how many proposals each made.
function stats.count(s, plan, has_errors, ran)
  s.plans = s.plans + 1
  if has_errors then
    s.with_errors = s.with_errors + 1
    local counted, errors = s.errors, plan.errors
    for i = 1, #errors do
      local e = errors[i]
      if e.field ~= nil and e.policy == nil and e.segment == nil and e.action == nil then
        -- a data problem (schema type, consent value, contact history): counted by field
        local f = tostring(e.field)
        local fe = s.field_errors
        if fe[f] == nil and s.distinct_errors >= DISTINCT_ERRORS then f = "(other fields)" end
        if fe[f] == nil then s.distinct_errors = s.distinct_errors + 1; s.field_examples[f] = tostring(e.message) end
        fe[f] = (fe[f] or 0) + 1
      else
        local key = error_text(e)
        if counted[key] == nil and s.distinct_errors >= DISTINCT_ERRORS then key = "(other errors)" end
        if counted[key] == nil then s.distinct_errors = s.distinct_errors + 1 end
        counted[key] = (counted[key] or 0) + 1
      end
    end
  end
  local by_action, by_dept, by_channel, by_dc, actions = s.actions, s.departments, s.channels, s.department_channels, plan.actions
  if #actions == 0 then s.no_action = s.no_action + 1 end
  for i = 1, #actions do
    local a = actions[i]
    local dept, ch = a.department, a.channel
    by_action[a.action] = (by_action[a.action] or 0) + 1
    by_dept[dept] = (by_dept[dept] or 0) + 1
    by_channel[ch] = (by_channel[ch] or 0) + 1
    local dc = by_dc[dept]
    if dc == nil then dc = {}; by_dc[dept] = dc end
    dc[ch] = (dc[ch] or 0) + 1
    local f = s.policies[a.policy] or funnel(s, a.policy)
    f.taken = f.taken + 1
  end
  local sizes, seglist = s.segments, plan.segments
  for i = 1, #seglist do sizes[seglist[i]] = (sizes[seglist[i]] or 0) + 1 end
  local sup, suppressed = s.suppressed, plan.suppressed
  for i = 1, #suppressed do
    local x = suppressed[i]
    local key = REASON_KEYS[x.reason] or reason_key(s, x.reason)
    local by_reason = sup[x.action]
    if by_reason == nil then by_reason = {}; sup[x.action] = by_reason end
    local n = by_reason[key]
    if n then by_reason[key] = n + 1 else bump(s, by_reason, key, "(other reasons)") end
    local fs = (s.policies[x.policy] or funnel(s, x.policy)).suppressed
    n = fs[key]
    if n then fs[key] = n + 1 else bump(s, fs, key, "(other reasons)") end
  end
  if ran then
    local policies, counts, n = ran()
    local by_policy = s.policies
    for i = 1, n do
      local name = policies[i].name
      local f = by_policy[name] or funnel(s, name)
      f.ran = f.ran + 1
      f.proposals = f.proposals + counts[i]
    end
  end
end

--- Adds `sign` (1 or -1) to `counts[key]`; a count back at 0 is removed.
local function add(counts, key, sign)
  local n = (counts[key] or 0) + sign
  if n == 0 then n = nil end
  counts[key] = n
end

--- What a plan's choice counts (actions, channels, departments, suppressions, funnels' taken
--- and suppressed), added with `sign`.
local function count_choice(s, plan, sign)
  local actions = plan.actions
  if #actions == 0 then s.no_action = s.no_action + sign end
  for i = 1, #actions do
    local a = actions[i]
    add(s.actions, a.action, sign)
    add(s.departments, a.department, sign)
    add(s.channels, a.channel, sign)
    local dc = s.department_channels[a.department]
    if dc == nil then dc = {}; s.department_channels[a.department] = dc end
    add(dc, a.channel, sign)
    local f = funnel(s, a.policy)
    f.taken = f.taken + sign
  end
  local suppressed = plan.suppressed
  for i = 1, #suppressed do
    local x = suppressed[i]
    local key = REASON_KEYS[x.reason] or reason_key(s, x.reason)
    local by_reason = s.suppressed[x.action]
    if by_reason == nil then by_reason = {}; s.suppressed[x.action] = by_reason end
    add(by_reason, key, sign)
    add(funnel(s, x.policy).suppressed, key, sign)
  end
end

--- Counts a customer decided again after losing an action to capacity (§8.4): the choice of
--- their plan `before` is taken back and the new `plan`'s counted; the rest was counted once.
function stats.recount(s, before, plan)
  count_choice(s, before, -1)
  count_choice(s, plan, 1)
end

--- Adds the choice of `plan` (its actions and suppressed list) to the counters `n` times (negative: takes it out).
function stats.adjust(s, plan, n) count_choice(s, plan, n) end

return stats
