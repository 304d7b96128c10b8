-- Tests for a policy set (policy-language.md §7): with/absent for building customers, comparing plans with `expect`, running `check`.
local _natives, M = ...
local type, pairs, ipairs, tostring, error, setmetatable = type, pairs, ipairs, tostring, error, setmetatable
local math_type = math.type
local sort, concat = table.sort, table.concat
local sformat, sfind = string.format, string.find
local V = M.values
local list, copy, type_name = V.list, V.copy, V.type_name
local error_text, message_of = M.errors.text, M.errors.message_of
local clean_plan = M.explain.clean_plan

local testing = {}

--- `absent` in with(...)'s changes removes a field from the copy.
local ABSENT = setmetatable({}, { __tostring = function() return "absent" end, __metatable = false,
  __newindex = function() error("absent is a marker and cannot be changed", 2) end })  -- one for all customers: read-only

local function is_list(t)
  local n = #t
  for k in pairs(t) do
    if math_type(k) ~= "integer" or k < 1 or k > n then return false end
  end
  return true
end

local function deep_copy(v, depth)
  if type(v) ~= "table" then return v end
  depth = depth or 0
  if depth > 32 then error("with: the table is nested too deeply (or refers to itself)", 3) end
  local out = {}
  for k, x in pairs(v) do out[k] = deep_copy(x, depth + 1) end
  return out
end

--- with(base, changes): a copy of `base` with `changes` applied, for building test customers.
--- Nested tables (like consent) merge, lists replace, and `absent` removes a field.
local function with(base, changes)
  if type(base) ~= "table" then error(sformat("with expects a table to start from, got %s", type_name(base)), 2) end
  if changes ~= nil and type(changes) ~= "table" then error(sformat("with expects a table of changes, got %s", type_name(changes)), 2) end
  local out = deep_copy(base)
  local function apply(into, ch)
    for k, v in pairs(ch) do
      if v == ABSENT then into[k] = nil
      elseif type(v) == "table" and type(into[k]) == "table" and not is_list(v) and not is_list(into[k]) then
        apply(into[k], v)
      elseif type(v) == "table" then
        into[k] = {}
        apply(into[k], v)  -- so that `absent` inside a new table leaves the field out
      else
        into[k] = v
      end
    end
  end
  if changes then apply(out, changes) end
  return out
end

--- Makes `with` and `absent` globals of the sandbox `sb`.
function testing.install(sb)
  sb.SAFE.absent, sb.SAFE.with = ABSENT, with
end

local function as_set(xs)
  local set = {}
  for i = 1, #xs do set[xs[i]] = true end
  return set
end

local function sorted_list(xs)
  local out = list(copy(xs))
  sort(out, function(a, b) return tostring(a) < tostring(b) end)
  return out
end

local function same_list(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do if a[i] ~= b[i] then return false end end
  return true
end

--- The parts of a plan a test compares: action names in order, segments, suppressed
--- action -> reason, departments, and errors as text.
local function test_view(plan)
  local v = { actions = list(), segments = list(copy(plan.segments)), suppressed = {}, departments = list(), errors = list() }
  local depts = {}
  for i, a in ipairs(plan.actions) do
    v.actions[i] = a.action
    if not depts[a.department] then depts[a.department] = true; v.departments[#v.departments + 1] = a.department end
  end
  for _, x in ipairs(plan.suppressed) do v.suppressed[x.action] = x.reason end
  for i, e in ipairs(plan.errors) do v.errors[i] = error_text(e) end
  return v
end

--- Compares a plan's view with `expect`; returns the failures (field, expected, actual, message).
local function compare(expect, v)
  local failures = list()
  local function fail(field, expected, actual, message)
    failures[#failures + 1] = { field = field, expected = expected, actual = actual, message = message }
  end
  if expect.actions and not same_list(expect.actions, v.actions) then
    fail("actions", list(copy(expect.actions)), v.actions, "the actions differ (exact list, in order)")
  end
  if expect.includes then
    local have, missing = as_set(v.actions), list()
    for _, a in ipairs(expect.includes) do if not have[a] then missing[#missing + 1] = a end end
    if #missing > 0 then fail("includes", list(copy(expect.includes)), v.actions, "missing: " .. concat(missing, ", ")) end
  end
  if expect.excludes then
    local have, present = as_set(v.actions), list()
    for _, a in ipairs(expect.excludes) do if have[a] then present[#present + 1] = a end end
    if #present > 0 then fail("excludes", list(copy(expect.excludes)), v.actions, "present but excluded: " .. concat(present, ", ")) end
  end
  if expect.segments and not same_list(sorted_list(expect.segments), sorted_list(v.segments)) then
    fail("segments", sorted_list(expect.segments), sorted_list(v.segments), "the segments differ")
  end
  if expect.departments and not same_list(sorted_list(expect.departments), sorted_list(v.departments)) then
    fail("departments", sorted_list(expect.departments), sorted_list(v.departments), "the departments differ")
  end
  if expect.suppressed then
    local wanted, names = {}, {}  -- { action = "reason text" }, or a list of actions (any reason)
    for k, x in pairs(expect.suppressed) do
      if type(k) == "string" then wanted[k] = x else wanted[tostring(x)] = true end
    end
    for a in pairs(wanted) do names[#names + 1] = a end
    sort(names)
    for _, a in ipairs(names) do
      local want, got = wanted[a], v.suppressed[a]
      local ok = got ~= nil and (want == true or (type(want) == "string" and sfind(got, want, 1, true) ~= nil))
      if not ok then
        fail("suppressed." .. a, want, got or "(not suppressed)",
             got and sformat("'%s' was suppressed for another reason", a) or sformat("'%s' was not suppressed", a))
      end
    end
  end
  if expect.errors then
    local unmatched = list()
    for _, want in ipairs(expect.errors) do
      local found = false
      for _, e in ipairs(v.errors) do if sfind(e, tostring(want), 1, true) then found = true; break end end
      if not found then unmatched[#unmatched + 1] = want end
    end
    if #unmatched > 0 or #expect.errors ~= #v.errors then
      fail("errors", list(copy(expect.errors)), v.errors, "the policy errors differ")
    end
  elseif #v.errors > 0 then
    fail("errors", list(), v.errors, "a policy failed for this customer (add expect.errors if that is intended)")
  end
  return failures
end

--- Runs one test with `host` ({ decider, clock, set_now, call }): { name, at, now, passed, failures, plan }.
local function run_test(host, t)
  local r = { name = t.name, at = t.where, failures = list() }
  if t.now then host.set_now(t.now) end
  r.now = host.clock.iso
  local plan, why = host.decider.careful(deep_copy(t.customer))
  if not plan then
    r.failures[1] = { field = "customer", message = "the test's customer is not a valid profile: " .. why }
  else
    local view = clean_plan(plan)
    r.plan = view
    if type(t.expect) == "table" then r.failures = compare(t.expect, test_view(view)) end
    if t.check then
      local ok, e = host.call(t.check, deep_copy(view))
      if not ok then
        r.failures[#r.failures + 1] = { field = "check", message = type(e) == "table" and e.message or message_of(e),
                                        at = type(e) == "table" and e.file and (e.file .. ":" .. e.line) or nil }
      elseif e == false then
        r.failures[#r.failures + 1] = { field = "check", message = "check returned false" }
      end
    end
  end
  r.passed = #r.failures == 0
  return r
end

--- Runs the tests of `tests` whose name or file:line contains `filter` ("" = all), in load
--- order; the clock is set back after each (host.set_epoch).
function testing.run(host, tests, filter)
  local saved = host.clock.epoch
  local results = list()
  for _, t in ipairs(tests) do
    if filter == "" or sfind(t.name, filter, 1, true) or sfind(t.where, filter, 1, true) then
      results[#results + 1] = run_test(host, t)
      host.set_epoch(saved)
    end
  end
  return results
end

return testing
