-- The decision for one customer, top-down as policy-language.md §5: segments, proposals, eligibility, arbitration, plan.
local natives, M = ...
local type, rawget, rawlen, tostring = type, rawget, rawlen, tostring
type = natives.type  -- type() with its answers kept, not interned again each call (state.c)
local math_type, huge = math.type, math.huge
local sort, concat, unpack = table.sort, table.concat, table.unpack
local sformat, smatch = string.format, string.match
local direct = natives.direct                -- direct(fn, c, ctx): a policy call with a budget, unprotected
local direct_select = natives.direct_select  -- direct_select(fns, c, ctx, hits) -> n: which are true
local V, errors, sandbox = M.values, M.errors, M.sandbox
local memo, EMPTY, type_name, suggest = V.memo, V.EMPTY, V.type_name, V.suggest
local failure, bad_proposal, add_error = errors.failure, errors.bad_proposal, errors.add
local unview, has_metatable, check_params = sandbox.unview, sandbox.has_metatable, sandbox.check_params
local next = next
local proposal_fields, flat_params = natives.proposal_fields, natives.flat_params  -- the common cases' checks in C (propose.c)
local levers = M.levers
local PCVL = false   -- whether the set arbitrates by value and levers (§8.1; set by pipeline.new)

local pipeline = {}

--- Checks one record before it is decided: its id, or nil, a message and the id when known.
local function record_id(c)
  if type(c) ~= "table" then return nil, sformat("the record is %s, not a JSON object", type_name(c)) end
  local id = rawget(c, "id")
  if type(id) == "string" then
    if id == "" then return nil, '"id" is empty' end  -- an empty id names nobody: no "customer" in the error
    return id
  end
  if math_type(id) ~= "integer" then
    if id == nil then return nil, 'the profile has no "id"' end
    return nil, sformat('"id" must be a string or a whole number, not %s', type_name(id))
  end
  return tostring(id)  -- ids are text (§3); JSON ids arrive as written
end

--- Checks one proposal from policy p; returns a candidate, or nil and an error.
--- `name`, `pr`, `reason`, `params`, `dept`, `channel` are the proposal's fields (nil when absent).
local function candidate(set, p, name, pr, reason, params, dept, channel, value, propensity)
  local spec = set.decl.action[name]
  if not spec then
    if name == nil then return nil, bad_proposal(p, "has no 'action'") end
    return nil, bad_proposal(p, sformat("names an unknown action %s%s", type_name(name), type(name) == "string" and suggest(name, set.decl.action) or ""), "action", name)
  end
  if PCVL or type(pr) ~= "number" or pr ~= pr or pr == huge or pr == -huge then
    local why = levers.check_proposal(set, name, pr, value, propensity)  -- priority, or value and propensity (§8.1)
    if why then return nil, bad_proposal(p, why, "priority", pr) end
  end
  if reason == nil then reason = p.default_reason
  elseif type(reason) ~= "string" then return nil, bad_proposal(p, sformat("for '%s' has a reason that is %s, not text", name, type_name(reason)), "reason") end
  if params == nil then params = EMPTY
  elseif flat_params(params) then  -- plain text keys and values: nothing below could refuse them
  elseif type(params) ~= "table" then return nil, bad_proposal(p, sformat("for '%s' has params that are %s, not a table", name, type_name(params)), "params")
  elseif has_metatable(unview(params)) and not rawequal(params, EMPTY) then  -- raw: no policy __eq runs here
    return nil, bad_proposal(p, sformat("for '%s' has params with a metatable (use a plain table)", name), "params")
  elseif not rawequal(params, EMPTY) then
    local why = check_params(params)
    if why then return nil, bad_proposal(p, sformat("for '%s' cannot be written: %s", name, why), "params") end
  end
  if dept == nil then dept = spec.department
  elseif type(dept) ~= "string" or not smatch(dept, "^[%w_%-]+$") then
    return nil, bad_proposal(p, sformat("for '%s' has an unusable department %s (letters, digits, '_' and '-')", name, type_name(dept)), "department", dept)
  elseif set.declares_department and not set.decl.department[dept] then
    return nil, bad_proposal(p, sformat("for '%s' names an unknown department '%s'%s", name, dept, suggest(dept, set.decl.department)), "department", dept)
  end
  if channel == nil then channel = spec.channel
  elseif type(channel) ~= "string" then return nil, bad_proposal(p, sformat("for '%s' has a channel that is %s, not text", name, type_name(channel)), "channel")
  elseif set.declares_channel and not set.decl.channel[channel] then
    return nil, bad_proposal(p, sformat("for '%s' names an unknown channel '%s'%s", name, channel, suggest(channel, set.decl.channel)), "channel", channel)
  end
  local cand = { action = name, priority = pr, reason = reason, params = params, policy = p.name,
                 department = dept, channel = channel, spec = spec }
  if PCVL then cand.value, cand.propensity = value, propensity end  -- scored by levers.runner
  return cand
end

-- The keys a proposal may have (§2); a list of proposals has whole-number keys.
local PROPOSAL_KEYS = { action = true, priority = true, reason = true, params = true, department = true, channel = true }
local PROPOSAL_KEY_LIST = "action, priority, reason, params, department, channel"  -- under "pcvl": see pipeline.new

--- A key of proposal (or list of proposals) `r` that a proposal may not have, or nil.
local function unknown_key(r)
  for k in next, r do
    if not PROPOSAL_KEYS[k] and math_type(k) ~= "integer" then return k end
  end
  return nil
end

--- The error for a proposal key it may not have (`reasn`), at the line that writes it.
local function key_error(p, key)
  if key == "value" or key == "propensity" then  -- not under "pcvl" (§8.1)
    return bad_proposal(p, sformat("gives '%s', which counts only with contact_policy { arbitration = \"pcvl\" }: give a priority", key), key)
  end
  return bad_proposal(p, sformat("has a key '%s' it may not have%s (a proposal may have %s)", tostring(key),
                                 type(key) == "string" and suggest(key, PROPOSAL_KEYS) or "", PROPOSAL_KEY_LIST), key)
end

--- Runs policy p for customer c; returns one candidate or a list of them, or nil and an error.
local function run_policy(set, p, c, ctx, call)
  if p.propose then
    local ok, r = call(p.propose, c, ctx)
    if not ok then return nil, r end
    if r == nil then return EMPTY end
    local one, action, pr, reason, params, dept, channel = proposal_fields(r)  -- one plain proposal: no key to check
    if one then return candidate(set, p, action, pr, reason, params, dept, channel) end
    if type(r) ~= "table" then return nil, bad_proposal(p, sformat("is %s (return a table, a list of tables, or nil)", type_name(r))) end
    r = unview(r)  -- read raw: a metatable on the result must not run outside the policy's budget
    if has_metatable(r) then return nil, bad_proposal(p, "is a table with a metatable (return plain tables)") end
    local bad = unknown_key(r)
    if bad then return nil, key_error(p, bad) end
    if rawget(r, "action") ~= nil then  -- one proposal
      return candidate(set, p, rawget(r, "action"), rawget(r, "priority"), rawget(r, "reason"), rawget(r, "params"),
                       rawget(r, "department"), rawget(r, "channel"), PCVL and rawget(r, "value") or nil, PCVL and rawget(r, "propensity") or nil)
    end
    local out = {}
    for i = 1, rawlen(r) do
      local q = rawget(r, i)
      if type(q) ~= "table" then return nil, bad_proposal(p, sformat("is %s, not a table", type_name(q))) end
      q = unview(q)
      if has_metatable(q) then return nil, bad_proposal(p, "is a table with a metatable (return plain tables)") end
      bad = unknown_key(q)
      if bad then return nil, key_error(p, bad) end
      local cand, err = candidate(set, p, rawget(q, "action"), rawget(q, "priority"), rawget(q, "reason"), rawget(q, "params"),
                                  rawget(q, "department"), rawget(q, "channel"), PCVL and rawget(q, "value") or nil, PCVL and rawget(q, "propensity") or nil)
      if not cand then return nil, err end
      out[i] = cand
    end
    return out
  end
  local priority, reason, params = p.priority, p.reason, p.params
  local computed = p.computed  -- whether any of the three is a function (found on first use)
  if computed == nil then
    computed = type(priority) == "function" or type(reason) == "function" or type(params) == "function"
    p.computed = computed
  end
  if not computed then  -- the same candidate for every customer: made once (pcvl scores each customer's own)
    local cand = p.static_candidate
    if cand then return cand end
    local err
    cand, err = candidate(set, p, p.action, priority, reason, params)
    if cand and not PCVL then p.static_candidate = cand end
    return cand, err
  end
  if type(priority) == "function" then
    local ok, r = call(priority, c, ctx)
    if not ok then return nil, r end
    priority = r
  end
  if type(reason) == "function" then
    local ok, r = call(reason, c, ctx)
    if not ok then return nil, r end
    reason = r
  end
  if type(params) == "function" then
    local ok, r = call(params, c, ctx)
    if not ok then return nil, r end
    params = r
  end
  return candidate(set, p, p.action, priority, reason, params)  -- one candidate (it has .action)
end

--- Keeps a candidate unless the same action already has one with at least its priority
--- (on a tie, the one from the policy first in name order stays). `trace` (explain) is
--- told which proposal lost.
local function keep_best(best, cands, cand, trace)
  local prev = best[cand.action]
  if prev == nil then cands[#cands + 1] = cand; best[cand.action] = cand
  elseif cand.priority > prev.priority then
    for m = 1, #cands do if cands[m] == prev then cands[m] = cand end end
    best[cand.action] = cand
    if trace then trace:lost(prev, cand) end
  elseif trace then
    trace:lost(cand, prev)
  end
end

--- Keeps every candidate of one policy's result (one candidate, or a list of them).
local function keep_all(best, cands, props, trace)
  if props.action then keep_best(best, cands, props, trace)
  else for i = 1, #props do keep_best(best, cands, props[i], trace) end end
end


--- The decision driver of one state over the finished `set`, running policies in sandbox `sb`
--- with `reporter`'s protected calls, at the time of `clock`. Returns { decide, careful, traced, ctxdata }.
function pipeline.new(set, sb, reporter, clock)
  local SEGMENTS, POLICIES, CONTACT = set.segments, set.policies, set.contact
  local SCHEMA = M.schema.new_checker(set, reporter)  -- nil without a profile schema
  local HISTORY = M.contacts.new(set, sb, clock)      -- extra contacts, caps and outcome rules (§3, §8.2, §8.3)
  local HELD = SCHEMA and SCHEMA.held
  errors.read_sources(set.sources)
  PCVL = set.contact.arbitration == "pcvl"
  if PCVL then  -- proposals give value and propensity instead of a priority
    PROPOSAL_KEYS.value, PROPOSAL_KEYS.propensity = true, true
    PROPOSAL_KEY_LIST = "action, value, propensity, reason, params, department, channel"
  end
  local run_policy = levers.runner(set, run_policy)  -- under "pcvl", each candidate is scored (§8.1)
  local careful_call = reporter.call

  -- ctx and ctx.segments: one read-only view per state; what they show is set per customer.
  local SEGSET, CTXDATA = {}, {}
  -- Declared segments read false when the customer is not in them; any other name is an error (§6.1).
  for i = 1, #SEGMENTS do SEGSET[SEGMENTS[i].name] = false end
  natives.debug.setmetatable(SEGSET, { __index = function(_, k)
    error(sformat("ctx.segments.%s: there is no segment '%s'%s", tostring(k), tostring(k), type(k) == "string" and suggest(k, set.decl.segment) or ""), 2)
  end })
  CTXDATA.segments = sb.readonly_view(SEGSET, "ctx.segments")
  CTXDATA.now, CTXDATA.today = clock.iso, clock.today
  local CTX = sb.readonly_view(CTXDATA, "ctx")

  -- Scratch, reused from one customer to the next: the batch of segment conditions, which of
  -- a batch were true, the best candidate per action and the candidates, the last segments.
  local SEG_WHENS, HITS, BEST, CANDS = {}, {}, {}, {}
  for i = 1, #SEGMENTS do SEG_WHENS[i] = SEGMENTS[i].when end
  local LAST_SEGLIST = {}
  -- The policies that ran for the last customer and how many proposals each made (run statistics).
  local RAN, RAN_PROPOSALS, NRAN = {}, {}, 0
  local function ran(p, props)
    NRAN = NRAN + 1
    RAN[NRAN], RAN_PROPOSALS[NRAN] = p, props == nil and 0 or props.action and 1 or #props
  end

  local CAP = levers.capacity(set)  -- capacity across customers (§8.4); nil when nothing has one
  local BEFORE = nil                  -- the plan a customer had before their capacity block grew
  local NOT_IN_SEGMENT = memo(function(name) return "not in segment " .. name end)
  -- 3 and 4. Eligibility and arbitration (arbitration.lua); ARB.block: this customer's capacity block.
  local ARB = M.arbitration.new(set, clock, HISTORY, HELD, CAP, CTX)
  local choose = ARB.choose


  --- The policies to consider for a customer in `seglist` (the set `segs`): those without
  --- segments and those whose first segment is in the list, in name order (`order`, indices
  --- into POLICIES), with each one's condition for the fast path's batch (`whens`: the `when`
  --- function; true without one; false when another of its segments is missing, so it is not
  --- run). Customers share few segment combinations, so this is kept per combination.
  local POLICIES_FOR, POLICIES_FOR_SIZE = {}, 0
  local function policies_for(seglist, segs)
    local n = #seglist
    local key = n == 0 and "" or n == 1 and seglist[1] or concat(seglist, "\0")
    local hit = POLICIES_FOR[key]
    if hit then return hit end
    local order = set.ungated
    for j = 1, #seglist do
      local g = set.gated[seglist[j]]
      if g then
        if order == set.ungated then order = { unpack(set.ungated) } end
        for k = 1, #g do order[#order + 1] = g[k] end
      end
    end
    if order ~= set.ungated then sort(order) end
    local whens = {}
    for k = 1, #order do
      local p = POLICIES[order[k]]
      local w = p.when or true
      for j = 2, #p.segments do
        if not segs[p.segments[j]] then w = false; break end
      end
      whens[k] = w
    end
    if POLICIES_FOR_SIZE >= 1024 then POLICIES_FOR, POLICIES_FOR_SIZE = {}, 0 end  -- bounded
    POLICIES_FOR_SIZE = POLICIES_FOR_SIZE + 1
    hit = { order = order, whens = whens }
    POLICIES_FOR[key] = hit
    return hit
  end

  --- Clears what the last customer set in ctx.segments; starts this customer's list.
  local function start_segments(seglist)
    for i = 1, #LAST_SEGLIST do SEGSET[LAST_SEGLIST[i]] = false end
    LAST_SEGLIST = seglist
  end

  --- 1. Segments, fast: every `when` in one batch, unprotected.
  local function segments_fast(c)
    start_segments(EMPTY)
    local seglist = EMPTY
    local n = direct_select(SEG_WHENS, c, CTX, HITS)
    if n > 0 then seglist = {}; LAST_SEGLIST = seglist end
    for j = 1, n do
      local name = SEGMENTS[HITS[j]].name
      seglist[#seglist + 1] = name  -- listed before marked: start_segments clears every mark
      SEGSET[name] = true
    end
    return seglist
  end

  --- 1. Segments, carefully: each `when` in its own protected call; a failure is an error of the plan.
  local function segments_careful(c, errs, trace)
    local seglist = {}
    start_segments(seglist)
    for i = 1, #SEGMENTS do
      local s = SEGMENTS[i]
      local ok, r = careful_call(s.when, c, CTX)
      if not ok then
        errs = add_error(errs, failure("segment", s, r))
      elseif r then
        seglist[#seglist + 1] = s.name  -- listed before marked (out of memory in between)
        SEGSET[s.name] = true
      end
      if trace then trace:segment(s, ok and not not r, not ok and errs[#errs].message or nil) end
    end
    return seglist, errs
  end

  --- Empties the scratch candidates of the last customer.
  local function start_candidates()
    local best, cands = BEST, CANDS
    for i = #cands, 1, -1 do best[cands[i].action] = nil; cands[i] = nil end
    return best, cands
  end

  -- Step 2's fast path in C (propose.c): the same candidates in CANDS and policies in RAN, or
  -- nothing when a proposal is refused, and the Lua loop below runs instead. It empties BEST
  -- with the CANDS it replaces: a candidate made once (static_candidate) is the same table
  -- for every customer, and one left in BEST would pass for this customer's.
  local PROPOSE = natives.proposer(POLICIES, CANDS, BEST, RAN, RAN_PROPOSALS, run_policy, set, direct)

  --- 2. Proposals, fast: the gated policies' conditions in one batch, then the policies that pass.
  local function proposals_fast(c, seglist, errs)
    local plan_for = policies_for(seglist, SEGSET)
    local order = plan_for.order
    local n = PROPOSE(plan_for.whens, order, c, CTX)
    if n then NRAN = n; return CANDS, errs end
    NRAN = 0
    local best, cands = start_candidates()
    for j = 1, direct_select(plan_for.whens, c, CTX, HITS) do
      local p = POLICIES[order[HITS[j]]]
      local props, err = run_policy(set, p, c, CTX, direct)
      if err then errs = add_error(errs, failure("policy", p, err))
      elseif props then keep_all(best, cands, props) end
      NRAN = NRAN + 1  -- ran(p, props), inlined on the fast path
      RAN[NRAN], RAN_PROPOSALS[NRAN] = p, props == nil and 0 or props.action and 1 or #props
    end
    return cands, errs
  end

  --- 2. Proposals, carefully: each check in its own protected call; skips told to `trace`.
  local function proposals_careful(c, seglist, errs, trace)
    local order = policies_for(seglist, SEGSET).order
    local best, cands = start_candidates()
    if trace then trace:ungated(POLICIES, order) end
    for k = 1, #order do
      local p = POLICIES[order[k]]
      local gated, skip = p.segments, nil
      for j = 2, #gated do
        if not SEGSET[gated[j]] then skip = NOT_IN_SEGMENT[gated[j]]; break end
      end
      local ok, r = true, nil
      if not skip and p.when then
        ok, r = careful_call(p.when, c, CTX)
        if ok and not r then skip = "when returned false" end
      end
      local props, err
      if not ok then err = r
      elseif not skip then props, err = run_policy(set, p, c, CTX, careful_call) end
      if not skip then ran(p, props) end
      if err then errs = add_error(errs, failure("policy", p, err))
      elseif props then keep_all(best, cands, props, trace) end
      if trace then trace:policy(p, skip, props, err and errs[#errs].message or nil) end
    end
    return cands, errs
  end


  local AFTER = levers.after(set, choose)  -- holdouts and fallback (§8.5); nil when the set has neither
  local LEVERS = AFTER ~= nil or PCVL       -- plans may carry factors, a holdout, held_out

  --- 5. The plan, after holdouts and fallback when the set has them.
  local function plan_of(id, seglist, c, view, cands, actions, suppressed, errs, call)
    local holdout, held_out
    if AFTER then actions, suppressed, errs, holdout, held_out = AFTER(id, c, view, cands, actions, suppressed, errs, call) end
    return { customer = id, segments = seglist, actions = actions, suppressed = suppressed, errors = errs or EMPTY,
             levers = LEVERS or nil, holdout = holdout, held_out = held_out }, errs ~= nil
  end

  --- Capacity (§8.4): sets ARB.block for customer `id`, and BEFORE to the plan the host counted
  --- for them before this round (the host hands it over: none in a run's last pass).
  local function block_for(id)
    local b = CAP.blocked(id)
    BEFORE, ARB.block = b and b.plan, b and b.new
  end

  --- Capacity (§8.4), a run's first pass: the plan customer `id` would get if they lost every
  --- capacity their `plan` (without errors) claims, also without errors; else nil. Most who
  --- lose do, and the host then takes this plan instead of deciding them again.
  local SPECULATE = false
  local function if_all_lost(id, seglist, c, view, cands, plan, call)
    local block = CAP.all_lost(plan.actions)
    if not block then return nil end
    ARB.block = block
    local actions, suppressed, errs = choose(c, view, cands, nil, call)
    local spec, bad = plan_of(id, seglist, c, view, cands, actions, suppressed, errs, call)
    ARB.block = nil
    if not bad then return spec end
  end

  local d = { ctxdata = CTXDATA, contacts = HISTORY, capacity = CAP }
  function d.before() return BEFORE end  -- the plan counted for the last customer before their capacity block grew, or nil
  --- Plans carry `if_all_lost` (when the set has capacities) while `on`.
  function d.speculate(on) SPECULATE = on and CAP ~= nil end

  --- The policies that ran for the last customer decided, the proposals each made, and their number.
  function d.ran() return RAN, RAN_PROPOSALS, NRAN end

  --- Decides one customer, fast: policy functions run unprotected, so any error unwinds the
  --- whole call, and the host decides the customer again with d.careful, where each error
  --- stays in its policy. Returns plan, has_errors; or nil, message, customer for a bad record.
  function d.fast(c)
    local id, why, known = record_id(c)
    if not id then return nil, why, known end
    HISTORY.merge(c, id)                                       -- the host's contacts join the profile's (§3)
    local view = sb.profile_view(c)
    local errs = SCHEMA and SCHEMA.check(c, nil)               -- the profile schema (§3.1)
    NRAN = 0
    local seglist = segments_fast(view)                        -- 1. segments
    local cands
    cands, errs = proposals_fast(view, seglist, errs)          -- 2. proposals
    if CAP then block_for(id) end
    local actions, suppressed                                  -- 3. eligibility, 4. arbitration
    actions, suppressed, errs = choose(c, view, cands, errs, direct)
    if SPECULATE and not ARB.block and not errs then
      local plan = plan_of(id, seglist, c, view, cands, actions, suppressed, errs, direct)
      if #plan.errors == 0 then plan.if_all_lost = if_all_lost(id, seglist, c, view, cands, plan, direct) end
      return plan, #plan.errors > 0
    end
    if LEVERS then return plan_of(id, seglist, c, view, cands, actions, suppressed, errs, direct) end  -- 5. plan
    return { customer = id, segments = seglist, actions = actions, suppressed = suppressed, errors = errs or EMPTY }, errs ~= nil
  end

  --- Decides one customer carefully: every policy call protected, each error kept in its
  --- policy. With `trace` (explain.new_trace), every step is also told to it.
  function d.careful(c, trace)
    local id, why, known = record_id(c)
    if not id then return nil, why, known end
    HISTORY.merge(c, id)
    local view = sb.profile_view(c)
    if trace then view = trace:watch(view) end  -- explain: note each field a step reads
    NRAN = 0
    local errs = SCHEMA and SCHEMA.check(c, nil)                      -- the profile schema (§3.1)
    local seglist
    seglist, errs = segments_careful(view, errs, trace)               -- 1. segments
    local cands                                                       -- 2. proposals
    cands, errs = proposals_careful(view, seglist, errs, trace)
    if CAP then block_for(id) end
    local actions, suppressed                                         -- 3. eligibility, 4. arbitration
    actions, suppressed, errs = choose(c, view, cands, errs, careful_call)
    local plan, has_errors = plan_of(id, seglist, c, view, cands, actions, suppressed, errs, careful_call)  -- 5. plan
    if SPECULATE and not ARB.block and not has_errors and not trace then
      plan.if_all_lost = if_all_lost(id, seglist, c, view, cands, plan, careful_call)
    end
    return plan, has_errors
  end

  return d
end

return pipeline
