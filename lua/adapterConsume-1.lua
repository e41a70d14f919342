--[[
  The adapter's consume: marks a record consumed, keeping its TTL. Exactly one call per record
  succeeds; a second one revokes the record's grant.

  Input:
    KEYS[1] the record

    ARGV[1] epoch seconds
    ARGV[2] records prefix
    ARGV[3] grant prefix
    ARGV[4] uid prefix
    ARGV[5] userCode prefix
    ARGV[6] Grant record prefix

  Output:
    'ok' (this call consumed it), 'missing', or 'replayed' (already consumed: the record's
    grant, its members and the Grant record are deleted before returning).
]]
--- @include "adapterHelpers"

local raw = redis.call('GET', KEYS[1])
if not raw then return 'missing' end
local obj = decode(raw)
if not obj then return redis.error_reply('ERR oidc-issuer: record is not a JSON object') end
if present(obj.consumed) then
  if type(obj.grantId) == 'string' then
    revokeGrant(ARGV[3] .. obj.grantId, ARGV[2], ARGV[4], ARGV[5])
    redis.call('DEL', ARGV[6] .. obj.grantId)
  end
  return 'replayed'
end
redis.call('SET', KEYS[1], withConsumed(raw, ARGV[1]), 'KEEPTTL')
return 'ok'
