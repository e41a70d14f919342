--[[
  The adapter's upsert: writes a record, moves its uid / userCode / grant index entries when
  they changed, adds it to its grant set before writing it, and keeps a stored `consumed` flag.

  Input:
    KEYS[1] the record

    ARGV[1]  id
    ARGV[2]  grant member (model:id)
    ARGV[3]  JSON body
    ARGV[4]  ttl in milliseconds, or '' for none
    ARGV[5]  grantId, or ''
    ARGV[6]  uid, or ''
    ARGV[7]  userCode, or ''
    ARGV[8]  '1' when the body carries `consumed`
    ARGV[9]  '1' when the model is grantable
    ARGV[10] grant prefix
    ARGV[11] uid prefix
    ARGV[12] userCode prefix

  Output:
    1
]]
--- @include "adapterHelpers"

local record = KEYS[1]
local id, member, body = ARGV[1], ARGV[2], ARGV[3]
local ttl = tonumber(ARGV[4])
local grantId, uid, userCode = ARGV[5], ARGV[6], ARGV[7]
local grantPrefix, uidPrefix, ucPrefix = ARGV[10], ARGV[11], ARGV[12]

local previousRaw = redis.call('GET', record)
if previousRaw then
  local previous = decode(previousRaw)
  if previous then
    if type(previous.uid) == 'string' and previous.uid ~= uid then
      dropIndex(uidPrefix .. previous.uid, id)
    end
    if type(previous.userCode) == 'string' and previous.userCode ~= userCode then
      dropIndex(ucPrefix .. previous.userCode, id)
    end
    if ARGV[9] == '1' and type(previous.grantId) == 'string' and previous.grantId ~= grantId then
      redis.call('SREM', grantPrefix .. previous.grantId, member)
    end
    if ARGV[8] ~= '1' and present(previous.consumed) then
      body = withConsumed(body, cjson.encode(previous.consumed))
    end
  end
end

-- the grant index first: a record must never exist that revocation cannot find
if grantId ~= '' then
  local grantKey = grantPrefix .. grantId
  local existed = redis.call('EXISTS', grantKey) == 1
  local remaining = redis.call('PTTL', grantKey)
  redis.call('SADD', grantKey, member)
  if not ttl then
    redis.call('PERSIST', grantKey)
  elseif not existed or (remaining >= 0 and remaining < ttl) then
    redis.call('PEXPIRE', grantKey, ttl)
  end
end
if uid ~= '' then setWithTtl(uidPrefix .. uid, id, ttl) end
if userCode ~= '' then setWithTtl(ucPrefix .. userCode, id, ttl) end
setWithTtl(record, body, ttl)
return 1
