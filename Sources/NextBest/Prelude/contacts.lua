-- Contact history: the host's extra contacts merged into the profile's list (§3), frequency caps (§8.2), outcome rules (§8.3), and which contacts counted (explain).
local natives, M = ...
local type, rawget, rawset, rawlen, setmetatable, tostring = type, rawget, rawset, rawlen, setmetatable, tostring
type = natives.type  -- type() with its answers kept, not interned again each call (state.c)
local pairs, ipairs, sort = pairs, ipairs, table.sort
local sformat, ssub, floor = string.format, string.sub, math.floor
local parse_time, prime, format_day = M.time.parse, M.time.prime, M.time.format_day
local unview = M.sandbox.unview
local list = M.values.list

local contacts = {}

local DAY = 86400

--- `1 contact` / `3 contacts`.
local function contacts_text(n) return n == 1 and "1 contact" or sformat("%d contacts", n) end

--- A number of days as written: `7`, `1.5`.
local function days(d) return sformat("%.4g", d) end

--- The history checks of one state over the finished `set`: `sb` makes read-only views, `clock`
--- is the evaluation time. Returns { set, merge, check, counted_for, rules }.
function contacts.new(set, sb, clock)
  local FIELD = set.contact.history
  local ACTIONS, CHANNELS, GROUPS = set.decl.action, set.decl.channel, set.decl.group or {}
  local EXTRA = nil                              -- customer id -> list of views of contacts (this chunk's)
  local MERGED = nil  -- the last merged list made (a second, careful pass of its customer keeps it)
  local own_view = sb.own_view
  local h = {}

  -- Whether any declaration has a cap or an outcome rule: sets without pay nothing per proposal.
  local ANY = false
  for _, a in pairs(ACTIONS) do if a.max or a.suppress then ANY = true end end
  for _, c in pairs(CHANNELS) do if c.max or c.suppress then ANY = true end end
  for _, g in pairs(GROUPS) do if g.max or g.suppress then ANY = true end end
  h.rules = ANY  -- without any, check() says nothing: the pipeline calls it only when this is true

  --- Sets the extra contacts of the customers decided next, as the host pushed them
  --- (history.c): `byid` = { [customer id] = { { action, channel?, at, outcome? }, ... } } of
  --- plain tables (made read-only views when merged), `times` = { [at text] = seconds } for
  --- time.parse's memo; nil for none.
  function h.set(byid, times)
    EXTRA = byid
    if times then prime(times) end
  end

  --- Adds customer `id`'s extra contacts to profile `c`'s contact list (before the profile's
  --- view is made). A profile whose list is not a list keeps it (the pipeline reports it).
  function h.merge(c, id)
    if EXTRA == nil then return end
    local more = EXTRA[id]
    if more == nil then return end
    local own = rawget(c, FIELD)
    if own ~= nil and type(own) ~= "table" then return end
    if own ~= nil and own == MERGED then return end  -- already merged (the careful pass after the fast one)
    local merged, n = {}, 0
    if own ~= nil then
      local raw = unview(own)
      for i = 1, rawlen(raw) do n = n + 1; merged[n] = rawget(raw, i) end
    end
    for i = 1, #more do n = n + 1; merged[n] = own_view(more[i], i) end
    local view = own_view(list(merged), #more + 1)
    MERGED = view
    if own == nil then natives.profile_field_added() end  -- the parser refills this table for the next customer
    rawset(c, FIELD, view)
  end

  --- Seconds since 1970 when contact `e` was made: `days_ago` first, then `at`; undated
  --- contacts count as made now (the cautious reading; the pipeline reports them).
  local function when(e)
    local ago = e.days_ago
    if type(ago) == "number" then return clock.epoch - ago * DAY end
    return parse_time(e.at) or clock.epoch
  end

  --- The channel and group of contact `e` (the action's declared ones when it names none).
  local function channel_of(e)
    local ch = e.channel
    if type(ch) == "string" then return ch end
    local a = ACTIONS[e.action]
    return a and a.channel
  end
  local function group_of(e)
    local a = ACTIONS[e.action]
    return a and a.group
  end

  --- Whether contact (or plan action) `e` is in scope `kind` ("action", "group", "channel") named `name`.
  local function in_scope(e, kind, name)
    if kind == "action" then return e.action == name end
    if kind == "channel" then return channel_of(e) == name end
    return group_of(e) == name
  end

  --- A frequency cap on `decl` (kind, name): why the proposal is suppressed, or nil; with the
  --- history indices that counted.
  local function cap(decl, kind, name, history, actions)
    local window, n, counted = decl.per_days * DAY, 0, nil
    local now = clock.epoch
    for i = 1, history and #history or 0 do
      local e = history[i]
      if type(e) == "table" and in_scope(e, kind, name) then
        local t = when(e)
        if t <= now and t > now - window then
          n = n + 1
          counted = counted or {}
          counted[#counted + 1] = i
        end
      end
    end
    for i = 1, #actions do  -- contacts in the same plan count too
      if in_scope(actions[i], kind, name) then n = n + 1 end
    end
    if n >= decl.max then
      return sformat("%s %s: %s in the last %s days (at most %d)", kind, name, contacts_text(n), days(decl.per_days), decl.max), counted
    end
  end

  --- An outcome rule on `decl` (kind, name): suppressed until the end of a pause, or nil.
  local function pause(decl, kind, name, history)
    local r = decl.suppress
    local now = clock.epoch
    local hits = nil  -- { t, index } of contacts in scope with the outcome, made before now
    for i = 1, history and #history or 0 do
      local e = history[i]
      if type(e) == "table" and e.outcome == r.outcome and in_scope(e, kind, name) then
        local t = when(e)
        if t <= now then
          hits = hits or {}
          hits[#hits + 1] = { t, i }
        end
      end
    end
    if not hits or #hits < r.after then return nil end
    sort(hits, function(a, b) return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2]) end)
    local until_, from = nil, nil
    for k = r.after, #hits do  -- `after` of them within `within_days`: paused for_days after the last
      if hits[k][1] - hits[k - r.after + 1][1] <= r.within_days * DAY then
        local u = hits[k][1] + r.for_days * DAY
        if not until_ or u >= until_ then until_, from = u, k end
      end
    end
    if until_ and now < until_ then
      local counted = {}
      for k = from - r.after + 1, from do counted[#counted + 1] = hits[k][2] end
      return sformat("%s %d %s in %s days: paused until %s", r.outcome, r.after, r.after == 1 and "time" or "times",
                     days(r.within_days), format_day(until_)), counted
    end
  end

  -- What counted for each suppressed action of the last customer (explain only).
  local COUNTED = nil

  --- Caps and outcome rules for candidate `p` (its `spec`, `channel`), given the customer's
  --- `history` (nil when none) and the plan's `actions` so far: why it is suppressed, or nil.
  function h.check(p, history, actions)
    local a = p.spec
    local g = a.group and GROUPS[a.group]
    local ch = CHANNELS[p.channel]
    local scopes = { { a, "action", p.action }, { g, "group", a.group }, { ch, "channel", p.channel } }
    for s = 1, 3 do
      local decl, kind, name = scopes[s][1], scopes[s][2], scopes[s][3]
      if decl and decl.max then
        local why, counted = cap(decl, kind, name, history, actions)
        if why then
          if COUNTED then COUNTED[p.action] = counted or {} end
          return why
        end
      end
    end
    for s = 1, 3 do
      local decl, kind, name = scopes[s][1], scopes[s][2], scopes[s][3]
      if decl and decl.suppress then
        local why, counted = pause(decl, kind, name, history)
        if why then
          if COUNTED then COUNTED[p.action] = counted end
          return why
        end
      end
    end
    return nil
  end

  --- Starts noting which contacts counted (explain), or stops (nil).
  function h.trace(on) COUNTED = on and {} or nil end

  --- For a traced plan of profile `c`: each suppression a cooldown, cap or pause made, with the
  --- contacts of its history that counted: { action, reason, contacts = { { action, channel, at, outcome } } }.
  function h.counted_for(plan, c)
    local out = list()
    local history = type(c) == "table" and rawget(c, FIELD) or nil
    if type(history) ~= "table" then history = nil end
    local noted = COUNTED or {}
    for _, s in ipairs(plan.suppressed) do
      local idx = noted[s.action]
      if idx == nil and history and ssub(s.reason, 1, 9) == "cooldown:" then  -- the last contact with the action
        local best, bt = nil, nil
        for i = 1, #history do
          local e = history[i]
          if type(e) == "table" and e.action == s.action then
            local t = when(e)
            if bt == nil or t > bt then best, bt = i, t end
          end
        end
        idx = best and { best } or nil
      end
      if idx then
        local shown = list()
        for _, i in ipairs(idx) do
          local e = history[i]
          local t = when(e)
          shown[#shown + 1] = { action = tostring(e.action), channel = channel_of(e), outcome = e.outcome,
                                at = type(e.at) == "string" and e.at or M.time.format_time(floor(t)) }
        end
        out[#out + 1] = { action = s.action, reason = s.reason, contacts = shown }
      end
    end
    return out
  end

  return h
end

return contacts
