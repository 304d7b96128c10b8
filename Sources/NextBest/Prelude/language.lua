-- The policy language (policy-language.md §2): the declarations, their load-time validation with file:line, loading files and sealing the set.
local natives, M = ...
local type, pairs, ipairs, next, error, tostring, tonumber, load =
      type, pairs, ipairs, next, error, tostring, tonumber, load
local math_type, floor, huge = math.type, math.floor, math.huge
local sort = table.sort
local sformat, sfind, ssub, smatch, sgsub = string.format, string.find, string.sub, string.match, string.gsub
local getinfo = natives.debug.getinfo
local list, suggest, type_name = M.values.list, M.values.suggest, M.values.type_name
local parse_time = M.time.parse
local failure = M.errors.failure

local language = {}

--- A new, empty policy set: what the files declare, the problems found, and what the
--- pipeline reads once it is finished (the policies by gate).
function language.new_set()
  return {
    decl = { segment = {}, action = {}, policy = {}, test = {}, channel = {}, department = {}, group = {}, holdout = {} },  -- by name
    segments = {}, actions = {}, policies = {}, tests = {},        -- in load order (policies: by name once finished)
    channels = {}, departments = {},                               -- declared (§2.1), in load order
    contact = { max_actions = 3, max_per_channel = 1, respect_consent = true, consent = "opt_in", history = "contacts",
                arbitration = "priority" },
    contact_decl = nil,
    problems = list(), warnings = list(),
    policy_sources = {},  -- chunk names of policy and test files ("@path" = true), for placing errors
    sources = {},         -- policy file texts by path, for lint
    test_loading = false,
    ungated = {}, gated = {},  -- policy indices without segments / by their first segment
  }
end

local function problem(set, file, line, msg) set.problems[#set.problems + 1] = { file = file, line = line, message = msg } end
--- Records a problem (an error that stops the set from loading) at file:line.
language.problem = problem

local FIELDS = {
  segment = { description = "string", when = "function" },
  action = { department = "string", channel = "string", description = "string",
             cooldown_days = "number", group = "string", eligible = "function",
             max = "number", per_days = "number", suppress = "table", sla_days = "number",
             value = "number|function", propensity = "number|function", weight = "number", starts = "string", ends = "string",
             capacity = "number" },
  policy = { description = "string", segments = "table", when = "function", propose = "function",
             action = "string", priority = "number|function", reason = "string|function",
             params = "table|function", holdout = "number|table" },
  contact_policy = { max_actions = "number", max_per_channel = "number", consent = "string",
                     respect_consent = "boolean", history = "string",
                     arbitration = "string", context_weights = "table", fallback = "table", outcomes = "table" },
  channel = { consent = "string", requires_consent = "boolean", max = "number", per_days = "number",
              suppress = "table", description = "string" },
  department = { fields = "table", capacity = "number", description = "string" },
  group = { max = "number", per_days = "number", suppress = "table", weight = "number", description = "string" },
  holdout = { share = "number", salt = "string", description = "string" },
  test = { customer = "table", now = "string", expect = "table", check = "function",
           description = "string" },
}

local function check_fields(set, kind, label, spec, file, line)
  local allowed = FIELDS[kind]
  for k, v in pairs(spec) do
    local want = type(k) == "string" and allowed[k]
    if not want then
      problem(set, file, line, sformat("%s: unknown field '%s'%s", label, tostring(k), type(k) == "string" and suggest(k, allowed) or ""))
    elseif not sfind("|" .. want .. "|", "|" .. type(v) .. "|", 1, true) then
      problem(set, file, line, sformat("%s: '%s' must be a %s, not %s", label, k, sgsub(want, "|", " or a "), type_name(v)))
    end
  end
end

local function finite(x) return type(x) == "number" and x == x and x ~= huge and x ~= -huge end

local VALIDATE = {}

function VALIDATE.segment(set, rec, spec, label)
  if type(spec.when) ~= "function" then problem(set, rec.file, rec.line, label .. ": needs 'when = function(c, ctx) ... end'") end
  rec.when, rec.description = spec.when, spec.description
  set.segments[#set.segments + 1] = rec
end

local function whole(x, least) return finite(x) and x == floor(x) and x >= least end

function VALIDATE.action(set, rec, spec, label)
  for _, f in ipairs({ "department", "channel" }) do
    local v = spec[f]
    if v == nil then problem(set, rec.file, rec.line, sformat("%s: missing '%s' (%s)", label, f, f == "channel" and "how the customer is reached" or "who carries it out"))
    elseif type(v) == "string" and not smatch(v, "^[%w_%-]+$") then
      problem(set, rec.file, rec.line, sformat("%s: %s '%s' may use only letters, digits, '_' and '-'", label, f, v))
    end
  end
  if spec.cooldown_days ~= nil and (not finite(spec.cooldown_days) or spec.cooldown_days < 0) then
    problem(set, rec.file, rec.line, label .. ": cooldown_days must be a number of days, 0 or more")
  end
  rec.department, rec.channel, rec.description = spec.department, spec.channel, spec.description
  rec.cooldown_days, rec.group, rec.eligible = spec.cooldown_days, spec.group, spec.eligible
  language.check_cap(set, rec, spec, label)       -- §8.2
  language.check_suppress(set, rec, spec, label)  -- §8.3
  if spec.sla_days ~= nil and (not finite(spec.sla_days) or spec.sla_days <= 0) then
    problem(set, rec.file, rec.line, label .. ": sla_days must be a number of days above 0")
  else rec.sla_days = spec.sla_days end
  if spec.capacity ~= nil and not whole(spec.capacity, 0) then  -- §8.4
    problem(set, rec.file, rec.line, label .. ": capacity must be a whole number of actions, 0 or more")
  else rec.capacity = spec.capacity end
  M.levers.action(set, rec, spec, label)  -- value, propensity, weight (§8.1), starts, ends (§8.6)
  local eligible = spec.eligible
  if type(eligible) == "function" then
    -- `eligible` may answer false, "why" (§5 step 3): true, or false, or { why }.
    rec.eligible_call = function(c, ctx)
      local r, why = eligible(c, ctx)
      if r then return true end
      if why == nil then return false end
      return { why }
    end
  end
  set.actions[#set.actions + 1] = rec
end

--- Checks a frequency cap (`max = N, per_days = D`, §8.2) on a declaration; both or neither.
function language.check_cap(set, rec, spec, label)
  if spec.max == nil and spec.per_days == nil then return end
  if spec.max == nil or spec.per_days == nil then
    problem(set, rec.file, rec.line, label .. ": a frequency cap needs both 'max' (contacts) and 'per_days' (the window), e.g. max = 2, per_days = 7")
    return
  end
  if not whole(spec.max, 0) then problem(set, rec.file, rec.line, label .. ": max must be a whole number of contacts, 0 or more") end
  if not finite(spec.per_days) or spec.per_days <= 0 then problem(set, rec.file, rec.line, label .. ": per_days must be a number of days above 0") end
  rec.max, rec.per_days = spec.max, spec.per_days
end

local SUPPRESS_FIELDS = { after = "number", outcome = "string", within_days = "number", for_days = "number" }

--- Checks an outcome rule (`suppress = { after, outcome, within_days, for_days }`, §8.3).
function language.check_suppress(set, rec, spec, label)
  local r = spec.suppress
  if type(r) ~= "table" then return end
  local ok = true
  for k, v in pairs(r) do
    local want = type(k) == "string" and SUPPRESS_FIELDS[k]
    if not want then
      problem(set, rec.file, rec.line, sformat("%s: suppress has an unknown field '%s'%s (it may have after, outcome, within_days, for_days)", label, tostring(k), type(k) == "string" and suggest(k, SUPPRESS_FIELDS) or ""))
      ok = false
    elseif type(v) ~= want then
      problem(set, rec.file, rec.line, sformat("%s: suppress.%s must be a %s, not %s", label, k, want, type_name(v))); ok = false
    end
  end
  if not ok then return end
  if r.outcome == nil then problem(set, rec.file, rec.line, label .. ': suppress needs an outcome, e.g. outcome = "declined"'); ok = false end
  if not whole(r.after or 1, 1) then problem(set, rec.file, rec.line, label .. ": suppress.after must be a whole number, 1 or more"); ok = false end
  if r.within_days == nil or not finite(r.within_days) or r.within_days <= 0 then
    problem(set, rec.file, rec.line, label .. ": suppress needs within_days, a number of days above 0"); ok = false
  end
  if r.for_days == nil or not finite(r.for_days) or r.for_days <= 0 then
    problem(set, rec.file, rec.line, label .. ": suppress needs for_days, a number of days above 0 (0 or less would mean forever)"); ok = false
  end
  if ok then rec.suppress = { after = r.after or 1, outcome = r.outcome, within_days = r.within_days, for_days = r.for_days } end
end

function VALIDATE.channel(set, rec, spec, label)
  if not smatch(rec.name, "^[%w_%-]+$") then problem(set, rec.file, rec.line, label .. ": a channel name may use only letters, digits, '_' and '-'") end
  rec.consent = type(spec.consent) == "string" and spec.consent or rec.name
  rec.requires_consent = spec.requires_consent ~= false
  rec.description = spec.description
  language.check_cap(set, rec, spec, label)
  language.check_suppress(set, rec, spec, label)
  set.channels[#set.channels + 1] = rec
end

--- A group of actions (§2): at most one per plan; may carry a cap (§8.2) and an outcome rule (§8.3).
function VALIDATE.group(set, rec, spec, label)
  M.levers.group(set, rec, spec, label)           -- weight (§8.1)
  language.check_cap(set, rec, spec, label)       -- §8.2
  language.check_suppress(set, rec, spec, label)  -- §8.3
end

function VALIDATE.department(set, rec, spec, label)
  if not smatch(rec.name, "^[%w_%-]+$") then problem(set, rec.file, rec.line, label .. ": a department name may use only letters, digits, '_' and '-'") end
  local fields = list()
  if type(spec.fields) == "table" then
    for i, f in ipairs(spec.fields) do
      if type(f) ~= "string" or not smatch(f, "^[%a_][%w_]*[%.%w_]*$") then
        problem(set, rec.file, rec.line, sformat("%s: fields[%d] must be a profile field name in quotes (like \"email\" or \"consent.email\")", label, i))
      else fields[#fields + 1] = f end
    end
  end
  if spec.capacity ~= nil and not whole(spec.capacity, 0) then
    problem(set, rec.file, rec.line, label .. ": capacity must be a whole number of actions, 0 or more")
  end
  rec.fields, rec.capacity, rec.description = fields, spec.capacity, spec.description
  set.departments[#set.departments + 1] = rec
end

function VALIDATE.policy(set, rec, spec, label)
  local full, short = spec.propose ~= nil, spec.action ~= nil
  if not full and not short then
    problem(set, rec.file, rec.line, label .. ": has neither 'propose = function(c, ctx) ... end' (full form) nor 'action' and 'priority' (short form)")
  elseif full and short then
    problem(set, rec.file, rec.line, label .. ": has both 'propose' and 'action': use one form")
  elseif full and spec.priority ~= nil then
    problem(set, rec.file, rec.line, label .. ": 'priority' belongs to the short form; with 'propose', return it in each proposal")
  end
  if type(spec.priority) == "number" and not finite(spec.priority) then
    problem(set, rec.file, rec.line, label .. ": priority must be a finite number")
  end
  local segs = list()
  if type(spec.segments) == "table" then
    for i, s in ipairs(spec.segments) do
      if type(s) ~= "string" then problem(set, rec.file, rec.line, sformat("%s: segments[%d] must be a segment name in quotes", label, i))
      else segs[#segs + 1] = s end
    end
  end
  rec.segments, rec.when, rec.propose, rec.description = segs, spec.when, spec.propose, spec.description
  rec.action, rec.priority, rec.reason, rec.params = spec.action, spec.priority, spec.reason, spec.params
  rec.default_reason = spec.description or ("policy " .. rec.name)
  M.levers.policy(set, rec, spec, label)  -- holdout (§8.5); the short form's priority is checked in levers.resolve
  set.policies[#set.policies + 1] = rec
end

function VALIDATE.holdout(set, rec, spec, label) M.levers.holdout(set, rec, spec, label) end

-- What a test's `expect` may check (§7), and what each must be.
local EXPECT_FIELDS = {
  actions = "a list of action names", includes = "a list of action names",
  excludes = "a list of action names", segments = "a list of segment names",
  suppressed = "a table of action = reason text", departments = "a list of departments",
  errors = "a list of message texts",
}

function VALIDATE.test(set, rec, spec, label)
  if type(spec.customer) ~= "table" then problem(set, rec.file, rec.line, label .. ": needs 'customer = { id = ..., ... }'") end
  if spec.expect == nil and spec.check == nil then problem(set, rec.file, rec.line, label .. ": needs 'expect = { ... }' or 'check = function(plan) ... end'") end
  if spec.now ~= nil and not parse_time(spec.now) then problem(set, rec.file, rec.line, label .. ": 'now' must be an ISO-8601 date or date-time") end
  local expect = spec.expect
  if type(expect) == "table" then
    expect = M.sandbox.plain_copy(expect)  -- read later by the engine, outside any budget: raw data only
    for k, v in next, expect do
      local want = type(k) == "string" and EXPECT_FIELDS[k]
      if not want then
        problem(set, rec.file, rec.line, sformat("%s: expect has an unknown field '%s'%s", label, tostring(k), type(k) == "string" and suggest(k, EXPECT_FIELDS) or ""))
      elseif type(v) ~= "table" then
        problem(set, rec.file, rec.line, sformat("%s: expect.%s must be %s, not %s", label, k, want, type_name(v)))
      end
    end
  end
  rec.customer, rec.now, rec.expect, rec.check = spec.customer, spec.now, expect, spec.check
  set.tests[#set.tests + 1] = rec
end

--- The file (full path, from the chunk name) and line of the code that called our caller.
local function caller_place()
  local info = getinfo(3, "Sl")
  return ssub(info.source, 2), info.currentline
end

local function declarer(set, sb, kind)
  return function(name)
    local file, line = caller_place()
    if sb.is_sealed() then error(sformat("%s declarations are only allowed while the policy set loads", kind), 2) end
    if (kind == "test") ~= set.test_loading then
      problem(set, file, line, kind == "test" and "tests belong in a tests/ folder or a file ending in _test.lua"
        or sformat("%s declarations belong in policy files, not in test files", kind))
      return function() end
    end
    if type(name) ~= "string" or name == "" then
      problem(set, file, line, sformat('%s needs a name in quotes: %s "name" { ... }', kind, kind))
      return function() end
    end
    if kind == "segment" and sfind(name, "\0", 1, true) then  -- the pipeline joins segment names with it
      problem(set, file, line, "segment names may not contain a NUL byte")
      return function() end
    end
    local label = sformat("%s '%s'", kind, name)
    return function(spec)
      if type(spec) ~= "table" then
        problem(set, file, line, sformat('%s needs its fields in braces: %s "%s" { ... }', label, kind, name))
        return
      end
      local by_name = set.decl[kind]
      local prev = by_name[name]
      if prev then
        problem(set, file, line, sformat("%s is declared twice: here and at %s:%d", label, prev.file, prev.line))
        return
      end
      local rec = { name = name, file = file, line = line, where = file .. ":" .. line, spec_functions = spec }
      by_name[name] = rec
      check_fields(set, kind, label, spec, file, line)
      VALIDATE[kind](set, rec, spec, label)
    end
  end
end

local function contact_policy(set, sb)
  return function(spec)
    local file, line = caller_place()
    if sb.is_sealed() then error("contact_policy is only allowed while the policy set loads", 2) end
    if set.test_loading then problem(set, file, line, "contact_policy belongs in policy files, not in test files"); return end
    if type(spec) ~= "table" then problem(set, file, line, "contact_policy needs its fields in braces: contact_policy { ... }"); return end
    if set.contact_decl then
      problem(set, file, line, sformat("contact_policy appears twice: here and at %s:%d (a set has at most one)", set.contact_decl.file, set.contact_decl.line))
      return
    end
    set.contact_decl = { file = file, line = line }
    check_fields(set, "contact_policy", "contact_policy", spec, file, line)
    local contact = set.contact
    for _, k in ipairs({ "max_actions", "max_per_channel" }) do
      local v = spec[k]
      if v ~= nil then
        if math_type(v) ~= "integer" and not (finite(v) and v == floor(v)) or v < 0 then
          problem(set, file, line, sformat("contact_policy: %s must be a whole number, 0 or more", k))
        else contact[k] = floor(v) end
      end
    end
    if type(spec.respect_consent) == "boolean" then contact.respect_consent = spec.respect_consent end
    if spec.respect_consent == false then
      set.warnings[#set.warnings + 1] = { file = file, line = line, message =
        "contact_policy: respect_consent = false turns consent checks off: actions are taken whatever the customer agreed to (remove it to check consent)" }
    end
    if spec.consent ~= nil then
      if spec.consent == "opt_in" or spec.consent == "opt_out" then contact.consent = spec.consent
      else problem(set, file, line, sformat('contact_policy: consent must be "opt_in" (the default: only true counts as consent) or "opt_out" (a missing entry counts as consent), not %s', type_name(spec.consent))) end
    end
    if type(spec.history) == "string" then contact.history = spec.history end
    if type(spec.outcomes) == "table" then  -- the outcomes a store accepts (store-and-service.md §1)
      local outs = list()
      for i, o in ipairs(spec.outcomes) do
        if type(o) ~= "string" or o == "" then problem(set, file, line, sformat("contact_policy: outcomes[%d] must be an outcome name in quotes", i))
        else outs[#outs + 1] = o end
      end
      contact.outcomes = outs
    end
    M.levers.contact_policy(set, contact, spec, file, line)  -- arbitration, context_weights, fallback (§8.1, §8.5)
  end
end

--- Makes the declarations (segment, action, policy, test, contact_policy) globals of the
--- sandbox `sb`, declaring into `set`.
function language.install(set, sb)
  local SAFE = sb.SAFE
  SAFE.segment, SAFE.action, SAFE.policy = declarer(set, sb, "segment"), declarer(set, sb, "action"), declarer(set, sb, "policy")
  SAFE.test, SAFE.contact_policy = declarer(set, sb, "test"), contact_policy(set, sb)
  SAFE.channel, SAFE.department = declarer(set, sb, "channel"), declarer(set, sb, "department")
  SAFE.group, SAFE.holdout = declarer(set, sb, "group"), declarer(set, sb, "holdout")
end

--- Runs one file's source in the sandbox under the chunk name "@path"; what it cannot load
--- or what fails while it runs becomes a problem placed in the file.
function language.load(set, sb, reporter, path, source, is_test)
  set.test_loading = is_test
  local chunk, err = load(source, "@" .. path, "t", sb.ENV)
  if not chunk then
    -- "path:line: message" (the path may be shortened by Lua): keep our full path.
    local line, msg = smatch(err, "^.-:(%d+): (.*)$")
    if line then problem(set, path, tonumber(line), msg) else problem(set, path, 1, err) end
    return
  end
  set.policy_sources["@" .. path] = true
  if not is_test then set.sources[path] = source end
  local ok, r = reporter.call(chunk)
  if not ok then
    local f = failure("file", { name = path, where = path .. ":1" }, r)
    local file, line = smatch(f.at, "^(.*):(%d+)$")
    problem(set, file, tonumber(line), f.message)
  end
end

local function sort_problems(ps)
  sort(ps, function(a, b)
    if a.file ~= b.file then return a.file < b.file end
    if a.line ~= b.line then return a.line < b.line end
    return a.message < b.message
  end)
end

local function check_names(set, t, label, names, file, line, known)
  if type(t) ~= "table" then return end
  for k, v in pairs(t) do
    local name = type(k) == "string" and k or v
    if type(name) == "string" and not known[name] then
      problem(set, file, line, sformat("%s: unknown %s '%s'%s", label, names, name, suggest(name, known)))
    end
  end
end

--- Checks the actions' channels and departments against the declared ones (§2.1); a set that
--- declares none of a kind takes those its actions name as declared, with a warning.
local function resolve_routes(set)
  for _, kind in ipairs({ "channel", "department" }) do
    local declared = set.decl[kind]
    if next(declared) then
      set["declares_" .. kind] = true
      for _, a in ipairs(set.actions) do
        local v = a[kind]
        if type(v) == "string" and not declared[v] then
          problem(set, a.file, a.line, sformat("action '%s': unknown %s '%s'%s (declare it: %s \"%s\" { ... })", a.name, kind, v, suggest(v, declared), kind, v))
        end
      end
    else
      local names, first = {}, nil
      for _, a in ipairs(set.actions) do
        local v = a[kind]
        if type(v) == "string" and not names[v] then
          names[v] = true
          names[#names + 1] = v
          first = first or a
        end
      end
      if first then
        sort(names)
        set.warnings[#set.warnings + 1] = { file = first.file, line = first.line, message = sformat(
          "no %s is declared, so every %s an action names is taken as declared (%s) and a typo in one would go unnoticed: declare them (%s \"%s\" { ... })",
          kind, kind, table.concat(names, ", "), kind, names[1]) }
      end
    end
  end
end

--- Resolves references between declarations (policies → segments and actions, tests' expect).
function language.resolve(set)
  resolve_routes(set)
  M.levers.resolve(set)
  local action_names, segment_names = set.decl.action, set.decl.segment
  for _, p in ipairs(set.policies) do
    for _, s in ipairs(p.segments) do
      if not segment_names[s] then problem(set, p.file, p.line, sformat("policy '%s': unknown segment '%s'%s", p.name, s, suggest(s, segment_names))) end
    end
    if type(p.action) == "string" and not action_names[p.action] then
      problem(set, p.file, p.line, sformat("policy '%s': unknown action '%s'%s", p.name, p.action, suggest(p.action, action_names)))
    end
  end
  for _, t in ipairs(set.tests) do
    local e = t.expect
    if type(e) == "table" then
      local label = sformat("test '%s'", t.name)
      check_names(set, e.actions, label, "action", t.file, t.line, action_names)
      check_names(set, e.includes, label, "action", t.file, t.line, action_names)
      check_names(set, e.excludes, label, "action", t.file, t.line, action_names)
      check_names(set, e.suppressed, label, "action", t.file, t.line, action_names)
      check_names(set, e.segments, label, "segment", t.file, t.line, segment_names)
    end
  end
end

--- Orders the policies by name and files them by their first segment (the pipeline's gates).
function language.index(set)
  sort(set.policies, function(a, b) return a.name < b.name end)
  for i, p in ipairs(set.policies) do
    local first = p.segments[1]
    if first then
      set.gated[first] = set.gated[first] or {}
      local g = set.gated[first]
      g[#g + 1] = i
    else
      set.ungated[#set.ungated + 1] = i
    end
  end
end

--- Freezes what the policy files made, sorts the problems and warnings, and seals `sb`.
function language.seal(set, sb)
  local seen, sources = {}, {}
  for src in pairs(set.policy_sources) do if set.sources[ssub(src, 2)] then sources[src] = true end end  -- not test files
  local function report(file, line, msg) problem(set, file, line, msg) end
  for _, v in next, sb.USER do sb.freeze(v, seen, sources, report) end
  for _, list_ in ipairs({ set.segments, set.actions, set.policies }) do
    for _, rec in ipairs(list_) do
      for _, k in ipairs({ "when", "eligible", "propose", "priority", "reason", "params", "value", "propensity" }) do sb.freeze(rec[k], seen, sources, report) end
    end
  end
  sort_problems(set.problems)
  sort_problems(set.warnings)
  sb.seal()
end

local function text(v) return type(v) == "string" and v or nil end
local function number(v) return type(v) == "number" and v or nil end

--- The most days back a contact can still matter to the set's cooldowns, frequency caps and
--- outcome rules (§8.2, §8.3): the largest `cooldown_days`, `per_days`, and `within_days +
--- for_days` of any action, channel or group; nil when the set has none of them.
local function history_days(set)
  local most = nil
  local function note(d) if type(d) == "number" and d == d and d < math.huge and (most == nil or d > most) then most = d end end
  for _, kind in ipairs({ "action", "channel", "group" }) do
    for _, d in pairs(set.decl[kind] or {}) do
      if type(d) == "table" then
        note(d.cooldown_days)
        if d.max then note(d.per_days) end
        local r = d.suppress
        if type(r) == "table" and type(r.within_days) == "number" and type(r.for_days) == "number" then note(r.within_days + r.for_days) end
      end
    end
  end
  return most
end

--- The loaded set as data (for check, explain and the host's PolicySet description). A set
--- with problems may hold fields of the wrong type (each is a reported problem): they are
--- described as absent, and a missing department or channel as "", so the shape is fixed.
function language.describe(set)
  local out = { segments = list(), actions = list(), policies = list(), tests = #set.tests,
                contact_policy = set.contact }
  for _, s in ipairs(set.segments) do out.segments[#out.segments + 1] = { name = s.name, at = s.where, description = text(s.description) } end
  for _, a in ipairs(set.actions) do
    out.actions[#out.actions + 1] = { name = a.name, at = a.where, department = text(a.department) or "", channel = text(a.channel) or "",
                                      cooldown_days = number(a.cooldown_days), group = text(a.group), description = text(a.description),
                                      sla_days = number(a.sla_days), max = a.max, per_days = a.per_days, suppress = a.suppress,
                                      capacity = a.capacity }
  end
  local channels, departments, seen = list(), list(), { channel = {}, department = {} }
  for _, c in ipairs(set.channels) do
    seen.channel[c.name] = true
    channels[#channels + 1] = { name = c.name, at = c.where, declared = true, consent = c.consent, requires_consent = c.requires_consent,
                                max = c.max, per_days = c.per_days, suppress = c.suppress, description = text(c.description) }
  end
  for _, d in ipairs(set.departments) do
    seen.department[d.name] = true
    departments[#departments + 1] = { name = d.name, at = d.where, declared = true, fields = d.fields, capacity = d.capacity,
                                      description = text(d.description) }
  end
  for _, a in ipairs(set.actions) do  -- a v1 set: what its actions name, taken as declared
    local c, d = text(a.channel), text(a.department)
    if c and not set.declares_channel and not seen.channel[c] then
      seen.channel[c] = true
      channels[#channels + 1] = { name = c, at = a.where, declared = false, consent = c, requires_consent = true }
    end
    if d and not set.declares_department and not seen.department[d] then
      seen.department[d] = true
      departments[#departments + 1] = { name = d, at = a.where, declared = false, fields = list() }
    end
  end
  out.channels, out.departments = channels, departments
  out.history_days = history_days(set)
  out.profile = M.schema and M.schema.describe(set)
  for _, p in ipairs(set.policies) do
    out.policies[#out.policies + 1] = { name = p.name, at = p.where, segments = p.segments,
                                        action = text(p.action), form = p.propose and "full" or "short", description = text(p.description) }
  end
  return out
end

return language
