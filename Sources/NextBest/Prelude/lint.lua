-- Static lint of a loaded set: warnings for segments that gate nothing, policies that can never run, actions never proposed.
local natives, M = ...
local type, pairs, ipairs, tonumber, tostring = type, pairs, ipairs, tonumber, tostring
local huge = math.huge
local concat = table.concat
local sformat, sfind, ssub, smatch, sgsub = string.format, string.find, string.sub, string.match, string.gsub
local sgmatch = M.bounds.original.gmatch  -- the unbounded original: the engine's own patterns are trusted
local getinfo = natives.debug.getinfo

local lint = {}

--- Whether the policy files mention `name` in quotes more than once (its declaration is one):
--- a cheap static look at full-form policies, used only to avoid a false warning.
local function mentioned_elsewhere(set, name)
  local n = 0
  local pattern = "[\"']" .. sgsub(name, "%p", "%%%0") .. "[\"']"
  for _, src in pairs(set.sources) do
    for _ in sgmatch(src, pattern) do n = n + 1 end
  end
  return n >= 2
end

--- What a segment's `when` requires, when it is simple enough to read from its source:
--- `return c.x >= 50000 and c.y == "gold"` gives { x = {">=", 50000}, y = {"==", "gold"} }
--- as a list of { field, op, value }. Anything else it does not understand is left out, which
--- only makes the requirement looser — so a contradiction found here is a real one.
local function simple_requirements(set, fn)
  local info = getinfo(fn, "S")
  local src = info and set.sources[ssub(info.source, 2)]
  if not src or info.linedefined <= 0 then return nil end
  local lines, n = {}, 0
  for l in sgmatch(src .. "\n", "([^\n]*)\n") do
    n = n + 1
    if n >= info.linedefined and n <= info.lastlinedefined then lines[#lines + 1] = l end
    if n > info.lastlinedefined then break end
  end
  -- One space for every run of white space: the patterns below backtrack over runs of it,
  -- and a long run would make them quadratic.
  local text = sgsub(concat(lines, " "), "%s+", " ")
  if sfind(text, "--", 1, true) then return nil end  -- a comment could hide or fake a condition
  local param, expr = smatch(text, "function%s*%(%s*([%a_][%w_]*)[^)]*%)%s*return%s+(.-)%s+end")
  if not param or sfind(expr, "function", 1, true) then return nil end
  local spaced = " " .. expr .. " "
  if sfind(expr, "[()%[%]{}]") or sfind(spaced, "%sor%s") or sfind(spaced, "%snot%s") then return nil end
  local reqs = {}
  for part in sgmatch(expr .. " and ", "(.-)%s+and%s+") do
    local field, op, value = smatch(part, "^%s*" .. param .. "%.([%a_][%w_]*)%s*([<>=~]=?)%s*(.-)%s*$")
    if field and op ~= "=" then
      local v = tonumber(value)
      if v == nil then v = smatch(value, '^"([^"]*)"$') or smatch(value, "^'([^']*)'$") end
      if v == nil and (value == "true" or value == "false") then v = value == "true" end
      if v ~= nil and (type(v) == "number" or op == "==" or op == "~=") then reqs[#reqs + 1] = { field, op, v } end
    end
  end
  return reqs
end

--- Whether requirements on one field can all hold at once.
local function satisfiable(reqs)
  local lo, lo_in, hi, hi_in, eq, has_eq = -huge, true, huge, true, nil, false
  local ne = {}
  for _, r in ipairs(reqs) do
    local op, v = r[2], r[3]
    if op == "==" then
      if has_eq and eq ~= v then return false end
      eq, has_eq = v, true
    elseif op == "~=" then ne[#ne + 1] = v
    elseif op == ">" or op == ">=" then
      if v > lo or (v == lo and op == ">") then lo, lo_in = v, op == ">=" end
    elseif op == "<" or op == "<=" then
      if v < hi or (v == hi and op == "<") then hi, hi_in = v, op == "<=" end
    end
  end
  if lo > hi or (lo == hi and not (lo_in and hi_in)) then return false end
  if has_eq then
    for _, v in ipairs(ne) do if v == eq then return false end end
    if type(eq) == "number" then
      if eq < lo or eq > hi or (eq == lo and not lo_in) or (eq == hi and not hi_in) then return false end
    elseif lo ~= -huge or hi ~= huge then return false end
  end
  return true
end

--- For a policy gated by several segments: the field on which they contradict each other.
local function never_matching(set, p)
  if #p.segments < 2 then return nil end
  local by_field, order = {}, {}
  for _, name in ipairs(p.segments) do
    local seg = set.decl.segment[name]
    local reqs = seg and seg.when and simple_requirements(set, seg.when)
    for _, r in ipairs(reqs or {}) do
      if not by_field[r[1]] then by_field[r[1]] = {}; order[#order + 1] = r[1] end
      local f = by_field[r[1]]
      f[#f + 1] = { r[1], r[2], r[3], name }
    end
  end
  for _, field in ipairs(order) do
    if not satisfiable(by_field[field]) then
      local parts = {}
      for _, r in ipairs(by_field[field]) do parts[#parts + 1] = sformat("'%s' needs %s %s %s", r[4], field, r[2], tostring(r[3])) end
      return concat(parts, ", ")
    end
  end
  return nil
end

--- Adds to set.warnings what is declared but never used, or can never run.
function lint.run(set)
  local function warning(file, line, msg) set.warnings[#set.warnings + 1] = { file = file, line = line, message = msg } end
  local used_segments, proposed = {}, {}
  for _, p in ipairs(set.policies) do
    for _, s in ipairs(p.segments) do used_segments[s] = true end
    if p.action then proposed[p.action] = true end
  end
  for _, s in ipairs(set.segments) do
    if not used_segments[s.name] then
      warning(s.file, s.line, sformat("segment '%s' gates no policy (it still appears in plans; policies may read ctx.segments)", s.name))
    end
  end
  for _, p in ipairs(set.policies) do
    local why = never_matching(set, p)
    if why then
      warning(p.file, p.line, sformat("policy '%s' can never run: its segments cannot all match (%s)", p.name, why))
    end
  end
  for _, a in ipairs(set.actions) do
    if not proposed[a.name] and not mentioned_elsewhere(set, a.name) then
      warning(a.file, a.line, sformat("action '%s' is not proposed by any policy", a.name))
    end
  end
end

--- Where a line of `src` may start a new top-level statement (a declaration, a local): the
--- end of the declaration above it.
local function starts_statement(l) return sfind(l, "^[%a_]") ~= nil end

--- The line, inside the declaration that starts at line `first` of `src`, naming `subject`
--- (`subject = ...` or `"subject"`); the lines after the first are looked at before it.
local function line_naming(src, first, subject)
  local quoted = "[\"']" .. sgsub(subject, "%p", "%%%0") .. "[\"']"
  local key = "%f[%w_]" .. sgsub(subject, "%p", "%%%0") .. "%s*="
  local n, first_text = 0, nil
  for l in sgmatch(src .. "\n", "([^\n]*)\n") do
    n = n + 1
    if n == first then first_text = l
    elseif n > first then
      if starts_statement(l) or n > first + 400 then break end
      if sfind(l, quoted) or sfind(l, key) then return n end
    end
  end
  if first_text and (sfind(first_text, quoted) or sfind(first_text, key)) then return first end
  return nil
end

--- Moves each problem placed at a declaration's first line to the line in it that names the
--- field or value at fault (`policy 'x': unknown action 'y'` goes to the line with "y").
--- `texts` holds every file's source by path.
function lint.place(problems, texts)
  for _, p in ipairs(problems) do
    local src = texts[p.file]
    local own = smatch(p.message, "^[%a_][%w_]* '([^']*)'")
    local rest = smatch(p.message, "^[%a_][%w_]* '[^']*': (.*)$") or p.message
    local subject = smatch(rest, "'([^']+)'")
    -- only problems about a declaration ("kind 'name': ..."): a syntax error stays where Lua put it
    if src and own and subject and subject ~= own and type(p.line) == "number" then
      p.line = line_naming(src, p.line, subject) or p.line
    end
  end
end

-- Keys every route line has; a department field of the same name would clash with them.
local ROUTE_KEYS = { customer = true, action = true, channel = true, priority = true, reason = true,
                     params = true, policy = true }

--- Department -> the profile fields its work queue carries (a list of names), from the set's
--- description (`departments`: a list of { name, fields } or a table by name).
function lint.route_fields(description)
  local out = {}
  local depts = description.departments
  if type(depts) ~= "table" then return out end
  for k, d in pairs(depts) do
    local name = type(d) == "table" and (d.name or (type(k) == "string" and k))
    local fields = type(d) == "table" and d.fields
    if type(name) == "string" and type(fields) == "table" then
      local list_ = {}
      for _, f in ipairs(fields) do
        if type(f) == "string" and not ROUTE_KEYS[f] then list_[#list_ + 1] = f end
      end
      if #list_ > 0 then out[name] = list_ end
    end
  end
  return out
end

return lint
