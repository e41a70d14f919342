#!lua
--[[
  The adapter's writes: upserts and destroys of records, run in the order given, as one atomic
  step (a request's unit of work, or one upsert / destroy outside a request). Flagged `#!lua`
  (Redis 7), so a Redis out of memory refuses the whole script before it writes anything.

  Input:
    KEYS[1] the record of the first operation (every key written shares its hash tag)

    ARGV[1] grant prefix
    ARGV[2] uid prefix
    ARGV[3] userCode prefix
    ARGV[4…] the operations, each one of
      'upsert', record, id, grant member (model:id), JSON body, ttl in ms or '', grantId or '',
        uid or '', userCode or '', '1' when the body carries `consumed`, '1' when grantable
      'destroy', record, id, grant member (model:id), '1' when grantable

  Output:
    The number of operations run. Malformed operations are refused before anything is written.
]]
--- @include "adapterHelpers"

local ARITY = { upsert = 11, destroy = 5 }
local i = 4
while i <= #ARGV do
  local arity = ARITY[ARGV[i]]
  if not arity or i + arity - 1 > #ARGV then
    return redis.error_reply('ERR oidc-issuer: malformed write operation at ARGV[' .. i .. ']')
  end
  i = i + arity
end

local grantPrefix, uidPrefix, ucPrefix = ARGV[1], ARGV[2], ARGV[3]
local ran = 0
i = 4
while i <= #ARGV do
  local a = function(n) return ARGV[i + n] end
  if ARGV[i] == 'upsert' then
    upsertRecord(a(1), a(2), a(3), a(4), tonumber(a(5)), a(6), a(7), a(8), a(9) == '1',
      a(10) == '1', grantPrefix, uidPrefix, ucPrefix)
  else
    destroyRecord(a(1), a(2), a(3), a(4) == '1', grantPrefix, uidPrefix, ucPrefix)
  end
  i = i + ARITY[ARGV[i]]
  ran = ran + 1
end
return ran
