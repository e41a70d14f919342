#!lua flags=no-writes
--[[
  A request's reads: records by id and sessions by uid, with the records they point at, in one
  round trip. Read-only (`no-writes`): it runs while Redis is out of memory.

  Input:
    KEYS[1] the first record asked for, or the first uid index (every key shares its hash tag)

    ARGV[1] records prefix
    ARGV[2] uid prefix
    ARGV[3] Session member prefix ('Session:')
    ARGV[4] Grant member prefix ('Grant:')
    ARGV[5] n, the number of records asked for
    ARGV[6 … 5+n] the records, as grant members (model:id)
    ARGV[6+n …] uids whose session is asked for

  Each record asked for brings the records it points at: its `grantId` and an interaction
  result's `result.consent.grantId` (the Grant), its `sessionUid` and an interaction's
  `session.uid` (the Session, through the uid index).

  Output:
    A flat list of triples: 'r', member, JSON or nil for a record; 'u', uid, session id or nil
    for a uid index.
]]
--- @include "adapterHelpers"

local recordsPrefix, uidPrefix, sessionPrefix, grantPrefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local out, seenRecord, seenUid = {}, {}, {}

local function record(member)
  if seenRecord[member] then return nil end
  seenRecord[member] = true
  local raw = redis.call('GET', recordsPrefix .. member)
  out[#out + 1] = 'r'
  out[#out + 1] = member
  out[#out + 1] = raw
  return raw
end

local function session(uid)
  if seenUid[uid] then return end
  seenUid[uid] = true
  local id = redis.call('GET', uidPrefix .. uid)
  out[#out + 1] = 'u'
  out[#out + 1] = uid
  out[#out + 1] = id
  if id then record(sessionPrefix .. id) end
end

local function named(v)
  return type(v) == 'string' and v ~= ''
end

local n = tonumber(ARGV[5])
local asked = {}
for i = 1, n do asked[i] = record(ARGV[5 + i]) end
for i = 6 + n, #ARGV do session(ARGV[i]) end
for i = 1, n do
  local obj = asked[i] and decode(asked[i])
  if obj then
    if named(obj.grantId) then record(grantPrefix .. obj.grantId) end
    local result = obj.result
    if type(result) == 'table' and type(result.consent) == 'table'
        and named(result.consent.grantId) then
      record(grantPrefix .. result.consent.grantId)
    end
    if named(obj.sessionUid) then session(obj.sessionUid) end
    if type(obj.session) == 'table' and named(obj.session.uid) then session(obj.session.uid) end
  end
end
return out
