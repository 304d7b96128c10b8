-- Time: ISO-8601 dates and date-times to seconds since the epoch (UTC) and back, and the evaluation clock.
local _natives, _M = ...
local type, tonumber = type, tonumber
local floor = math.floor
local sformat, smatch, sgsub = string.format, string.match, string.gsub

local time = {}

local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = (z >= 0 and z or z - 146096) // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp + (mp < 10 and 3 or -9)
  return (m <= 2 and y + 1 or y), m, d
end

local DAYS_IN_MONTH = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

-- time.parse's memo: text -> seconds (false when unreadable), bounded; contact dates repeat
-- from one customer to the next, and the host hands over those of its history (time.prime).
local MEMO, NMEMO, MEMO_MAX = {}, 0, 20000

local parse

--- Seconds since 1970-01-01T00:00:00Z for an ISO-8601 date or date-time, or nil.
function time.parse(s)
  if type(s) ~= "string" then return nil end
  local t = MEMO[s]
  if t ~= nil then return t or nil end
  t = parse(s)
  if NMEMO >= MEMO_MAX then MEMO, NMEMO = {}, 0 end
  NMEMO = NMEMO + 1
  MEMO[s] = t or false
  return t
end

--- Notes already known times (`times`: text -> seconds) for time.parse.
function time.prime(times)
  for s, t in next, times do
    if MEMO[s] == nil then
      if NMEMO >= MEMO_MAX then MEMO, NMEMO = {}, 0 end
      NMEMO = NMEMO + 1
      MEMO[s] = t
    end
  end
end

--- time.parse without the memo.
function parse(s)
  local y, m, d, rest = smatch(s, "^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  if not y then return nil end
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if m < 1 or m > 12 or d < 1 or d > DAYS_IN_MONTH[m] then return nil end
  local secs = 0
  if rest ~= "" then
    local hh, mm, tail = smatch(rest, "^[T ](%d%d):(%d%d)(.*)$")
    if not hh then return nil end
    hh, mm = tonumber(hh), tonumber(mm)
    local ss = 0
    local sec, tail2 = smatch(tail, "^:(%d%d)(.*)$")
    if sec then
      ss = tonumber(sec); tail = tail2
      local frac, tail3 = smatch(tail, "^[.,](%d+)(.*)$")
      if frac then ss = ss + tonumber("0." .. frac); tail = tail3 end
    end
    if hh > 23 or mm > 59 or ss >= 61 then return nil end
    local offset = 0
    if tail == "Z" or tail == "z" or tail == "" then offset = 0
    else
      local sign, oh, om = smatch(tail, "^([+-])(%d%d):?(%d%d)$")
      if not sign then return nil end
      offset = (tonumber(oh) * 60 + tonumber(om)) * 60
      if sign == "-" then offset = -offset end
    end
    secs = hh * 3600 + mm * 60 + ss - offset
  end
  return days_from_civil(y, m, d) * 86400 + secs
end

--- "YYYY-MM-DD" for seconds since the epoch.
function time.format_day(epoch)
  local y, m, d = civil_from_days(floor(epoch / 86400))
  return sformat("%04d-%02d-%02d", y, m, d)
end

--- "YYYY-MM-DDTHH:MM:SS[.fff]Z" for seconds since the epoch.
function time.format_time(epoch)
  local day = floor(epoch / 86400)
  local s = epoch - day * 86400
  local frac = s - floor(s)
  s = floor(s)
  local iso = sformat("%sT%02d:%02d:%02d", time.format_day(epoch), s // 3600, s % 3600 // 60, s % 60)
  if frac > 0 then iso = iso .. sgsub(sformat("%.3f", frac), "^0", "") end
  return iso .. "Z"
end

--- A clock: the evaluation time as seconds (`epoch`), ISO-8601 (`iso`) and day (`today`).
--- One per state; the modules that read the time are handed it.
function time.new_clock()
  return { epoch = 0, iso = time.format_time(0), today = time.format_day(0) }
end

--- Sets `clock` to `epoch` seconds since the epoch.
function time.set(clock, epoch)
  clock.epoch, clock.iso, clock.today = epoch, time.format_time(epoch), time.format_day(epoch)
end

return time
