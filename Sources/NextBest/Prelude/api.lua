-- The host's entry points into the prelude: wires the modules for one state and returns the table the bridge calls (load, finish, decide, ...).
local natives, M = ...
local tonumber, select, sformat, error = tonumber, select, string.format, error
local fast_done = natives.fast_done  -- fast_done() -> ok: ends the fast run; false when its plan may not stand
local json_decode, ipairs = natives.json_decode, ipairs
local time, language, lint, pipeline, stats, explain, testing =
      M.time, M.language, M.lint, M.pipeline, M.stats, M.explain, M.testing

-- One state's parts, made once here and handed to whoever needs them.
local clock = time.new_clock()
local set = language.new_set()
local reporter = M.errors.new(set.policy_sources)
M.bounds.install()  -- after every module took the unbounded originals it uses
local sb = M.sandbox.new(M.helpers.new(clock), reporter)
language.install(set, sb)
M.strict.install(sb)
M.schema.install(set, sb)
testing.install(sb)
local counters = stats.new()
local decider = nil  -- the pipeline, once the set is finished
local texts = {}      -- every file's source by path (policy and test files), to place problems
local ROUTE_FIELDS = {}  -- department -> the profile fields its work queue carries

local api = {}

--- Loads one file's source ("policy" or "test") under the chunk name "@path".
function api.load(path, source, kind)
  texts[path] = source
  language.load(set, sb, reporter, path, source, kind == "test")
  return true
end

--- Resolves references, lints, seals the environment and reports { problems, warnings }.
function api.finish()
  M.strict.explain_order(set, sb)
  M.strict.check_returns(set, language.problem)
  language.resolve(set)
  lint.run(set)
  lint.place(set.problems, texts)
  lint.place(set.warnings, texts)
  ROUTE_FIELDS = lint.route_fields(language.describe(set))
  language.index(set)
  language.seal(set, sb)
  decider = pipeline.new(set, sb, reporter, clock)
  api.set_context()
  return { problems = set.problems, warnings = set.warnings }
end

--- Sets the request context policies read as `ctx.context` (§8.1) from key, value, key, value, ...
--- (text); no arguments: an empty context.
function api.set_context(...)
  local t, n = {}, select("#", ...)
  for i = 1, n - 1, 2 do
    local k, v = select(i, ...)
    t[k] = v
  end
  if decider then decider.ctxdata.context = sb.readonly_view(t, "ctx.context") end
  return nil
end

--- Sets the evaluation time to a number of seconds since the epoch (the host's clock).
function api.set_now_epoch(secs)
  time.set(clock, tonumber(secs))
  if decider then decider.ctxdata.now, decider.ctxdata.today = clock.iso, clock.today end
  return nil
end

--- Sets the evaluation time (ISO-8601); returns nil, or a message when it cannot be read.
function api.set_now(iso)
  local t = time.parse(iso)
  if not t then return sformat("cannot read the time %q: use an ISO-8601 date (2026-11-01) or date-time (2026-11-01T09:30:00Z)", iso) end
  return api.set_now_epoch(t)
end

--- Decides one customer (the bridge calls decide(c, nil, false), then decide(c, nil, true)
--- when the fast pass failed) and counts the plan. Returns plan, has_errors; or nil, message, customer.
function api.decide(c, _, careful)
  local plan, has_errors, customer
  if careful then plan, has_errors, customer = decider.careful(c)
  else
    plan, has_errors, customer = decider.fast(c)
    if not fast_done() then error("the fast run was stopped or took too long", 0) end  -- the bridge decides again carefully
  end
  if plan then
    local before = decider.capacity and decider.before()  -- only capacity sets a plan before
    if before then stats.recount(counters, before, plan)  -- decided again after losing to capacity (§8.4)
    else stats.count(counters, plan, has_errors, decider.ran) end
    plan.profile, plan.route_fields = c, ROUTE_FIELDS  -- for the route writer (json_out.c)
  end
  return plan, has_errors, customer
end

--- The evaluation time, in seconds since 1970.
function api.now_epoch() return clock.epoch end

--- Sets the extra contacts of the customers decided next (pushed by history.c; none clears them).
function api.set_history(byid, times) decider.contacts.set(byid, times) end

--- Sets the capacity blocks of the customers decided next (§8.4; JSON text keyed by customer id; "" for none).
function api.set_blocked(json)
  if decider.capacity then decider.capacity.set(json) end
end

--- While `on`, plans of a set with capacities carry the plan the customer would get if they
--- lost every capacity theirs claims (a run's first pass, §8.4; the bridge writes it aside).
function api.set_speculate(on) decider.speculate(on == "true") end

--- Takes plans' choices into the counters `n` times each (negative: out), from JSON text
--- `[{"n":-2,"plan":{...}},...]`: for customers whose plan capacity changed without deciding them again.
function api.recount(json)
  for _, e in ipairs(json_decode(json)) do stats.adjust(counters, e.plan, e.n) end
end

--- One customer, step by step: { plan, trace } for explain.
function api.explain(profile_json) return explain.run(decider, clock, profile_json) end

--- The counters kept since the state opened (or was last reset), with the evaluation time.
function api.counters()
  counters.now = clock.iso
  return counters
end

--- Clears the run counters.
function api.reset_counters() counters = stats.new() end

--- The loaded set as data.
function api.describe() return language.describe(set) end

--- Runs the tests whose name or file:line contains `filter` ("" = all).
function api.run_tests(filter)
  local host = { decider = decider, clock = clock, call = reporter.call, set_now = api.set_now, set_epoch = api.set_now_epoch }
  return testing.run(host, set.tests, filter)
end

return api
