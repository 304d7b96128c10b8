-- Explain: the trace of one customer's decision step by step, and plans as the host and tests see them (plain copies).
local natives, M = ...
local type, pairs, ipairs, setmetatable, next, rawlen, tostring, error =
      type, pairs, ipairs, setmetatable, next, rawlen, tostring, error
local math_type, sformat = math.type, string.format
local V, sandbox = M.values, M.sandbox
local list, copy, LIST = V.list, V.copy, V.LIST
local unview, raw_metatable = sandbox.unview, sandbox.raw_metatable
local json_decode = natives.json_decode   -- text -> Lua value, raises "line L, column C: ..."

local explain = {}

local Trace = {}
Trace.__index = Trace

--- An empty trace: the pipeline's careful path tells it each step (segment, ungated, policy, lost).
function explain.new_trace()
  return setmetatable({ segments = list(), policies = list(), dropped = list(), reading = list(), seen = {} }, Trace)
end

--- A profile value as explain shows it: `18200`, `"Milano"`, `true`, `(missing)`, `(a list of 3)`.
local function shown(v)
  if v == nil then return "(missing)" end
  local t = type(v)
  if t == "string" then return sformat("%q", #v > 60 and string.sub(v, 1, 60) .. "..." or v) end
  if t == "number" then return math_type(v) == "float" and sformat("%.14g", v) or tostring(v) end
  if t == "table" then
    local raw = unview(v)
    local n = rawlen(raw)
    if n > 0 then return sformat("(a list of %d)", n) end
    return next(raw) == nil and "(empty)" or "(a table)"
  end
  return tostring(v)
end

--- The fields read since the last step, in the order first read; starts the next step's list.
function Trace:take()
  local reads = self.reading
  self.reading, self.seen = list(), {}
  return reads
end

--- Notes that the field `name` was read and held `v` (once per step).
function Trace:note(name, v)
  if self.seen[name] then return end
  self.seen[name] = true
  local r = self.reading
  r[#r + 1] = { field = name, value = shown(v) }
end

--- The profile as the careful path shows it to policies, noting every field a step reads
--- (explain only: the batch path never pays for this). Objects inside it are watched too,
--- as `consent.email`; a list is noted as a whole.
function Trace:watch(view)
  local trace = self
  local function watched(t, prefix)
    return setmetatable({}, {
      __index = function(_, k)
        local v = t[k]
        local name = prefix .. tostring(k)
        if type(v) == "table" and rawlen(unview(v)) == 0 then return watched(v, name .. ".") end
        trace:note(name, v)
        return v
      end,
      __newindex = function(_, k) error(sformat("the customer profile is read-only: cannot set '%s'", tostring(k)), 2) end,
      __len = function() return #t end,
      __pairs = function() return pairs(t) end,
      __metatable = "the customer profile is read-only",
    })
  end
  return watched(view, "")
end

--- A segment's `when` ran: it matched, or not, or failed with `error`.
function Trace:segment(s, matched, error)
  self.segments[#self.segments + 1] = { segment = s.name, matched = matched, error = error, read = self:take() }
end

--- The policies not considered because their first segment did not match (`order` lists those considered).
function Trace:ungated(policies, order)
  local ran = {}
  for k = 1, #order do ran[order[k]] = true end
  for i = 1, #policies do
    if not ran[i] then self.policies[#self.policies + 1] = { policy = policies[i].name, ran = false, why = "not in segment " .. policies[i].segments[1], at = policies[i].where } end
  end
end

--- Policy p was considered: skipped (`skip` says why), or ran and proposed `props`, or failed with `error`.
function Trace:policy(p, skip, props, error)
  if props and props.action then props = { props } end
  local proposed = list()
  for i = 1, props and #props or 0 do
    proposed[i] = { action = props[i].action, priority = props[i].priority, reason = props[i].reason, factors = props[i].factors }
  end
  self.policies[#self.policies + 1] = { policy = p.name, ran = skip == nil, why = skip, proposed = proposed, error = error, at = p.where,
                                        read = self:take() }
end

--- A proposal lost to another for the same action (`kept`).
function Trace:lost(lost, kept)
  self.dropped[#self.dropped + 1] = { action = lost.action, policy = lost.policy, priority = lost.priority, kept = kept.policy }
end

--- A plan as the host and tests see it: plain lists, actions without their internal fields.
local PLAN_ACTION_FIELDS = { "action", "department", "channel", "priority", "reason", "params", "policy", "factors" }
--- Params may hold views of the profile, and views are reused for the next customer: a plan
--- kept beyond its customer (a test's, explain's) gets plain copies of the data.
local function plain(v, depth)
  if type(v) ~= "table" or depth > 64 then return v end
  local out = {}
  for k, x in next, unview(v) do out[k] = plain(x, depth + 1) end  -- raw: no policy __pairs runs here
  return setmetatable(out, raw_metatable(unview(v)) == LIST and LIST or nil)
end

--- The plan `plan` as plain data that outlives its customer.
function explain.clean_plan(plan)
  local out = { customer = plan.customer }
  for _, k in ipairs({ "segments", "suppressed", "errors" }) do out[k] = list(copy(plan[k])) end
  out.actions = list()
  for i, a in ipairs(plan.actions) do
    local x = {}
    for _, f in ipairs(PLAN_ACTION_FIELDS) do x[f] = a[f] end
    x.params = plain(x.params, 0)
    out.actions[i] = x
  end
  out.holdout = plan.holdout  -- holdouts (§8.5)
  if plan.held_out then out.held_out = list(copy(plan.held_out)) end
  return out
end

--- One customer (JSON text), step by step with `decider` (pipeline.new): { plan, trace },
--- or { error, customer } for a bad record.
function explain.run(decider, clock, profile_json)
  local c = json_decode(profile_json)
  local trace = explain.new_trace()
  decider.contacts.trace(true)  -- note which past contacts counted for caps and pauses
  local plan, has_errors, customer = decider.careful(c, trace)
  if not plan then decider.contacts.trace(false); return { error = has_errors, customer = customer } end
  trace.history = decider.contacts.counted_for(plan, c)
  decider.contacts.trace(false)
  trace.now = clock.iso
  trace.eligibility_read = trace:take()  -- what the actions' eligible checks read
  trace.reading, trace.seen = nil, nil
  return { plan = explain.clean_plan(plan), trace = setmetatable(trace, nil) }
end

return explain
