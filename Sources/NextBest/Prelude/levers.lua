-- Levers (policy-language.md §8.1, §8.4, §8.5, §8.6): value × propensity × context × levers, capacity blocks, campaign dates, fallback and holdouts.
local natives, M = ...
local type, ipairs, pairs, next, tostring, rawget = type, ipairs, pairs, next, tostring, rawget
type = natives.type  -- type() with its answers kept, not interned again each call (state.c)
local huge = math.huge
local sformat, smatch = string.format, string.match
local V = M.values
local list, EMPTY, type_name, suggest = V.list, V.EMPTY, V.type_name, V.suggest
local bad_proposal = M.errors.bad_proposal
local parse_time = M.time.parse
local bucket = M.helpers.bucket
local json_decode = natives.json_decode
local problem = M.language.problem

local levers = {}

--- The name a fallback action's plan entry gives as its policy.
levers.FALLBACK_POLICY = "fallback"
--- The reason a fallback action carries.
levers.FALLBACK_REASON = "fallback: no other action"

local function finite(x) return type(x) == "number" and x == x and x ~= huge and x ~= -huge end

local function warn(set, rec, msg) set.warnings[#set.warnings + 1] = { file = rec.file, line = rec.line, message = msg } end

-- Load time -------------------------------------------------------------------------------

--- A campaign date (§8.6): seconds since the epoch of its start, and whether it held a time.
local function campaign_date(set, rec, label, key, text)
  if text == nil then return nil end
  local t = type(text) == "string" and parse_time(text)
  if not t then
    problem(set, rec.file, rec.line, sformat('%s: %s must be a date like "2026-11-01" or a date-time like "2026-11-01T09:00:00Z", not %s', label, key, type_name(text)))
    return nil
  end
  return t, smatch(text, "^%d%d%d%d%-%d%d%-%d%d$") == nil
end

--- Checks an action's value, propensity, weight (§8.1) and campaign dates (§8.6).
function levers.action(set, rec, spec, label)
  local v, p, w = spec.value, spec.propensity, spec.weight
  if type(v) == "number" and not finite(v) then problem(set, rec.file, rec.line, label .. ": value must be a finite number") end
  if type(p) == "number" and not (p >= 0 and p <= 1) then
    problem(set, rec.file, rec.line, sformat("%s: propensity must be a number from 0 to 1 (a likelihood), not %s", label, tostring(p)))
  end
  if w ~= nil and not finite(w) then problem(set, rec.file, rec.line, label .. ": weight must be a finite number (a lever in percent, like 10 for +10%)") end
  rec.value, rec.propensity, rec.weight = v, p, w
  local starts, _ = campaign_date(set, rec, label, "starts", spec.starts)
  local ends, ends_timed = campaign_date(set, rec, label, "ends", spec.ends)
  if starts and ends and starts > (ends_timed and ends or ends + 86399) then
    problem(set, rec.file, rec.line, sformat("%s: ends (%s) is before starts (%s)", label, spec.ends, spec.starts))
  end
  if starts or ends then
    -- ends is inclusive: a date lasts the whole day (UTC), a date-time up to that instant.
    rec.dates = { starts = starts, starts_text = spec.starts, ends = ends and (ends_timed and ends or ends + 86400),
                  ends_timed = ends_timed, ends_text = spec.ends }
  end
end

--- Checks a policy's holdout: a share, or { share = ..., salt = ... } (§8.5).
function levers.policy(set, rec, spec, label)
  local h = spec.holdout
  if h == nil then return end
  local share, salt = h, rec.name
  if type(h) == "table" then
    for k in pairs(h) do
      if k ~= "share" and k ~= "salt" then
        problem(set, rec.file, rec.line, sformat("%s: holdout has an unknown field '%s' (it may have share, salt)", label, tostring(k)))
      end
    end
    share, salt = rawget(h, "share"), rawget(h, "salt") or rec.name
  end
  if not (finite(share) and share >= 0 and share <= 1) then
    problem(set, rec.file, rec.line, sformat("%s: holdout must be a share from 0 to 1 (0.10 leaves 10%% of its customers alone), not %s", label, type_name(share)))
  elseif type(salt) ~= "string" then
    problem(set, rec.file, rec.line, sformat("%s: holdout salt must be text, not %s", label, type_name(salt)))
  else
    rec.holdout = { name = rec.name, share = share, salt = salt }
  end
end

--- Checks a `group` declaration: its lever `weight` (§8.1).
function levers.group(set, rec, spec, label)
  if spec.weight ~= nil and not finite(spec.weight) then problem(set, rec.file, rec.line, label .. ": weight must be a finite number (a lever in percent)") end
  rec.weight, rec.description = spec.weight, spec.description
  set.groups = set.groups or {}
  set.groups[#set.groups + 1] = rec
end

--- Checks a `holdout` declaration: customers who get no action at all (§8.5).
function levers.holdout(set, rec, spec, label)
  local share = spec.share
  if not (finite(share) and share >= 0 and share <= 1) then
    problem(set, rec.file, rec.line, sformat("%s: needs share, a number from 0 to 1 (0.05 holds out 5%% of customers), not %s", label, type_name(share)))
    return
  end
  rec.share, rec.salt, rec.description = share, spec.salt or rec.name, spec.description
  set.holdouts = set.holdouts or {}
  set.holdouts[#set.holdouts + 1] = rec
end

--- Reads contact_policy's arbitration, context_weights and fallback (§8.1, §8.5) into `contact`.
function levers.contact_policy(set, contact, spec, file, line)
  local at = { file = file, line = line }
  local a = spec.arbitration
  if a ~= nil then
    if a == "priority" or a == "pcvl" then contact.arbitration = a
    else problem(set, file, line, sformat('contact_policy: arbitration must be "priority" (the default: each proposal gives its priority) or "pcvl" (propensity × context × value × levers), not %s', type_name(a))) end
  end
  local cw = spec.context_weights
  if type(cw) == "table" then
    local ok = true
    for k, by_value in pairs(cw) do
      if type(k) ~= "string" or type(by_value) ~= "table" then
        problem(set, file, line, "contact_policy: context_weights must look like { channel = { web = 1.5, call_center = 0.8 } }"); ok = false
      else
        for v, w in pairs(by_value) do
          if type(v) ~= "string" or not finite(w) or w < 0 then
            problem(set, file, line, sformat("contact_policy: context_weights.%s.%s must be a number, 0 or more", k, tostring(v))); ok = false
          end
        end
      end
    end
    if ok then contact.context_weights = cw end
  end
  local fb = spec.fallback
  if type(fb) == "table" then
    local names = list()
    for i, name in ipairs(fb) do
      if type(name) ~= "string" then problem(set, file, line, sformat("contact_policy: fallback[%d] must be an action name in quotes", i))
      else names[#names + 1] = name end
    end
    contact.fallback, contact.fallback_at = names, at
  end
end

--- After every file has loaded: checks names and the forms arbitration asks for, and works out
--- each action's lever L = 1 + (action weight + group weight) / 100.
function levers.resolve(set)
  local contact, pcvl = set.contact, set.contact.arbitration == "pcvl"
  local groups = {}
  for _, g in ipairs(set.groups or EMPTY) do groups[g.name] = g end
  for _, p in ipairs(set.policies) do
    if p.action ~= nil and p.propose == nil then
      if pcvl and p.priority ~= nil then
        problem(set, p.file, p.line, sformat("policy '%s': with arbitration = \"pcvl\" a policy gives no priority (the score is propensity × context × value × levers): set value and propensity on the action instead", p.name))
      elseif not pcvl and p.priority == nil then
        problem(set, p.file, p.line, sformat("policy '%s': the short form needs a 'priority' (a number, or a function returning one)", p.name))
      end
    end
    if p.name == levers.FALLBACK_POLICY and contact.fallback then
      problem(set, p.file, p.line, sformat("policy '%s': the name is taken by contact_policy's fallback actions (rename the policy)", p.name))
    end
  end
  for _, a in ipairs(set.actions) do
    local gw = type(a.group) == "string" and groups[a.group] and groups[a.group].weight or 0
    local aw = finite(a.weight) and a.weight or 0
    a.lever = 1 + (aw + (finite(gw) and gw or 0)) / 100
    if not pcvl and (a.value ~= nil or a.propensity ~= nil or a.weight ~= nil) then
      warn(set, a, sformat("action '%s': value, propensity and weight count only with contact_policy { arbitration = \"pcvl\" }: this set arbitrates by priority", a.name))
    end
  end
  if not pcvl then
    for _, g in ipairs(set.groups or EMPTY) do
      if g.weight ~= nil then warn(set, g, sformat("group '%s': weight counts only with contact_policy { arbitration = \"pcvl\" }", g.name)) end
    end
    if contact.context_weights then
      warn(set, set.contact_decl, "contact_policy: context_weights count only with arbitration = \"pcvl\"")
    end
  end
  for _, name in ipairs(contact.fallback or EMPTY) do
    if not set.decl.action[name] then
      problem(set, contact.fallback_at.file, contact.fallback_at.line,
              sformat("contact_policy: fallback names an unknown action '%s'%s", name, suggest(name, set.decl.action)))
    end
  end
  if set.holdouts then table.sort(set.holdouts, function(a, b) return a.name < b.name end) end
end

-- Run time --------------------------------------------------------------------------------

--- C: the product of the context weights that match the request's context (`ctx.context`).
local function context_factor(weights, context)
  local f = 1
  for k, by_value in next, weights do
    local v = context[k]
    if v ~= nil then
      local w = by_value[tostring(v)]
      if w then f = f * w end
    end
  end
  return f
end

--- A number `x` from a proposal or action (`fn(c, ctx)` when a function), checked as `what`:
--- the number, or nil and an error of policy p.
local function factor(x, default, p, cand, what, c, ctx, call)
  if x == nil then return default end
  if type(x) == "function" then
    local ok, r = call(x, c, ctx)
    if not ok then return nil, r end
    x = r
    if x == nil then x = default end
  end
  if not finite(x) then
    return nil, bad_proposal(p, sformat("for '%s' has a %s that is %s (a finite number is needed)", cand.action, what, type_name(x)), what)
  end
  if what == "propensity" and (x < 0 or x > 1) then
    return nil, bad_proposal(p, sformat("for '%s' has a propensity of %s (it must be from 0 to 1: a likelihood)", cand.action, tostring(x)), what)
  end
  return x
end

--- Scores one candidate of policy p under "pcvl": priority = P × C × V × L, factors kept.
local function score(set, p, cand, c, ctx, call)
  local a = cand.spec
  local pr, err = factor(cand.propensity ~= nil and cand.propensity or a.propensity, 1, p, cand, "propensity", c, ctx, call)
  if err then return err end
  local v
  v, err = factor(cand.value ~= nil and cand.value or a.value, 1, p, cand, "value", c, ctx, call)
  if err then return err end
  local weights = set.contact.context_weights
  local cf = weights and context_factor(weights, ctx.context) or 1
  local l = a.lever or 1
  cand.priority = pr * cf * v * l
  cand.factors = { p = pr, c = cf, v = v, l = l }
  cand.propensity, cand.value = nil, nil
  return nil
end

--- The function the pipeline runs each policy with: `run_policy` itself under "priority";
--- under "pcvl", run_policy followed by scoring every candidate it returned.
function levers.runner(set, run_policy)
  if set.contact.arbitration ~= "pcvl" then return run_policy end
  return function(set_, p, c, ctx, call)
    local props, err = run_policy(set_, p, c, ctx, call)
    if not props then return props, err end
    if props.action then
      err = score(set_, p, props, c, ctx, call)
      if err then return nil, err end
    else
      for i = 1, #props do
        err = score(set_, p, props[i], c, ctx, call)
        if err then return nil, err end
      end
    end
    return props
  end
end

--- Checks a proposal's priority, value and propensity against the set's arbitration:
--- nil when they fit, else why not (for bad_proposal).
function levers.check_proposal(set, name, pr, value, propensity)
  if set.contact.arbitration == "pcvl" then
    if pr ~= nil then
      return sformat("for '%s' gives a priority, but this set arbitrates by \"pcvl\": give value and propensity instead (or set them on the action)", name)
    end
    return nil
  end
  if value ~= nil or propensity ~= nil then
    return sformat("for '%s' gives %s, which counts only with contact_policy { arbitration = \"pcvl\" }: give a priority", name, value ~= nil and "a value" or "a propensity")
  end
  if type(pr) ~= "number" or pr ~= pr or pr == huge or pr == -huge then
    return sformat("for '%s' has priority %s (a finite number is needed)", name, type_name(pr))
  end
  return nil
end

--- §8.6: why action `a` is outside its campaign dates at `epoch`, or nil.
function levers.outside_dates(a, epoch)
  local d = a.dates
  if d.starts and epoch < d.starts then return sformat("outside its dates (starts %s)", d.starts_text) end
  if d.ends and (d.ends_timed and epoch > d.ends or not d.ends_timed and epoch >= d.ends) then
    return sformat("outside its dates (ended %s)", d.ends_text)
  end
  return nil
end

--- Errors a second pass of choose found in actions' eligible checks, added to `errs` once.
local function action_errors(errs, more)
  for i = 1, more and #more or 0 do
    local e = more[i]
    if e.action ~= nil then
      local seen = false
      for j = 1, errs and #errs or 0 do
        if errs[j].action == e.action and errs[j].message == e.message then seen = true; break end
      end
      if not seen then errs = errs or list(); errs[#errs + 1] = e end
    end
  end
  return errs
end

--- The step after arbitration (§8.5), or nil when the set has neither holdouts nor a fallback:
--- after(id, data, c, cands, actions, suppressed, errs, call) -> actions, suppressed, errs, holdout, held_out.
--- `choose` is the pipeline's eligibility and arbitration, run again on what is left.
function levers.after(set, choose)
  local holdouts, fallback = set.holdouts, set.contact.fallback
  local policy_holdouts = false
  for _, p in ipairs(set.policies) do if p.holdout then policy_holdouts = true end end
  if not holdouts and not policy_holdouts and not (fallback and #fallback > 0) then return nil end
  local by_name, FALLBACK = set.decl.policy, {}
  for i, name in ipairs(fallback or EMPTY) do FALLBACK[i] = set.decl.action[name] end
  local REASON, POLICY = levers.FALLBACK_REASON, levers.FALLBACK_POLICY

  --- Per-policy holdouts: the plan without the proposals of the policies holding this customer out.
  local function without_held(id, data, c, cands, actions, suppressed, errs, call)
    local out = nil  -- policy name -> whether it holds the customer out
    for i = 1, #cands do
      local p = by_name[cands[i].policy]
      local h = p and p.holdout
      if h and (out == nil or out[p.name] == nil) then
        out = out or {}
        out[p.name] = bucket(id, h.salt) < h.share
      end
    end
    if not out then return actions, suppressed, errs, nil end
    local held = nil
    for j = 1, #actions do
      local a = actions[j]
      if out[a.policy] then held = held or list(); held[#held + 1] = { action = a.action, policy = a.policy, holdout = a.policy } end
    end
    if held then  -- what the others get without them
      local rest = {}
      for i = 1, #cands do if not out[cands[i].policy] then rest[#rest + 1] = cands[i] end end
      local more
      actions, suppressed, more = choose(data, c, rest, nil, call)
      return actions, suppressed, action_errors(errs, more), held
    end
    local any = false
    for j = 1, #suppressed do if out[suppressed[j].policy] then any = true; break end end
    if not any then return actions, suppressed, errs, nil end
    local kept = {}
    for j = 1, #suppressed do if not out[suppressed[j].policy] then kept[#kept + 1] = suppressed[j] end end
    return actions, #kept > 0 and kept or EMPTY, errs, nil
  end

  --- The first fallback action that passes eligibility, when the plan is empty.
  local function with_fallback(data, c, actions, errs, held, call)
    for i = 1, #FALLBACK do
      local a = FALLBACK[i]
      local is_held = false
      for j = 1, held and #held or 0 do if held[j].action == a.name then is_held = true end end
      if not is_held then
        local cand = { action = a.name, priority = 0, reason = REASON, params = EMPTY, policy = POLICY,
                       department = a.department, channel = a.channel, spec = a }
        local acts, _, more = choose(data, c, { cand }, nil, call)
        errs = action_errors(errs, more)
        if #acts > 0 then return acts, errs end
      end
    end
    return actions, errs
  end

  return function(id, data, c, cands, actions, suppressed, errs, call)
    local held = nil
    if policy_holdouts then actions, suppressed, errs, held = without_held(id, data, c, cands, actions, suppressed, errs, call) end
    if #actions == 0 and FALLBACK[1] then actions, errs = with_fallback(data, c, actions, errs, held, call) end
    if holdouts then
      for i = 1, #holdouts do
        local h = holdouts[i]
        if bucket(id, h.salt) < h.share then  -- a universal holdout: what they would have had, and nothing
          held = held or list()
          for j = 1, #actions do local a = actions[j]; held[#held + 1] = { action = a.action, policy = a.policy, holdout = h.name } end
          return EMPTY, EMPTY, errs, h.name, held
        end
      end
    end
    return actions, suppressed, errs, nil, held
  end
end

--- Capacity across customers (§8.4), or nil when no department or action has one. The host
--- decides the whole population, then hands each customer who lost an action to capacity
--- the actions they are now blocked from, each with its reason (`set`).
function levers.capacity(set)
  local any = false
  for _, d in ipairs(set.departments) do if d.capacity then any = true end end
  for _, a in ipairs(set.actions) do if a.capacity then any = true end end
  if not any then return nil end
  local cap = { byid = nil }

  --- Sets the blocks of the customers decided next from JSON text
  --- `{"id":{"now":{"action":"reason",...},"plan":{...}}}`: the actions blocked now and, in a
  --- round, the plan counted for the customer so far, which their new plan replaces; "" clears them.
  function cap.set(json)
    cap.byid = nil
    if json == nil or json == "" then return end
    local byid = {}
    for id, e in pairs(json_decode(json)) do byid[id] = { new = e.now or {}, plan = e.plan } end
    cap.byid = byid
  end

  --- This customer's blocks { new, plan }, or nil when the host blocked them from nothing.
  function cap.blocked(id)
    local byid = cap.byid
    return byid and byid[id]
  end

  --- Why candidate `p` is suppressed by `b` (one of a customer's blocks), or nil.
  function cap.why(b, p) return b[p.action] end

  -- The reason an action is blocked with when it lost every capacity it claims: its
  -- department's, else its own (the host's CapacityKeys.reason, departments first).
  local BY_DEPARTMENT, BY_ACTION = {}, {}
  for _, d in ipairs(set.departments) do
    if d.capacity then BY_DEPARTMENT[d.name] = sformat("department %s is at capacity (%d)", d.name, d.capacity) end
  end
  for _, a in ipairs(set.actions) do
    if a.capacity then BY_ACTION[a.name] = sformat("action %s is at capacity (%d)", a.name, a.capacity) end
  end

  --- The blocks of a customer who loses every capacity `actions` (a plan's) claim, as `cap.why`
  --- reads them, or nil when they claim none.
  function cap.all_lost(actions)
    local b = nil
    for i = 1, #actions do
      local a = actions[i]
      local why = BY_DEPARTMENT[a.department] or BY_ACTION[a.action]
      if why then b = b or {}; b[a.action] = why end
    end
    return b
  end
  return cap
end

return levers
