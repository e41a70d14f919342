--[[
  The adapter's destroy: removes the record and only the indexes pointing at it.

  Input:
    KEYS[1] the record

    ARGV[1] id
    ARGV[2] grant member (model:id)
    ARGV[3] '1' when the model is grantable
    ARGV[4] grant prefix
    ARGV[5] uid prefix
    ARGV[6] userCode prefix

  Output:
    1 when the record existed, else 0.
]]
--- @include "adapterHelpers"

local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local obj = decode(raw)
if obj then
  dropSecondary(obj, ARGV[1], ARGV[5], ARGV[6])
  if ARGV[3] == '1' and type(obj.grantId) == 'string' then
    redis.call('SREM', ARGV[4] .. obj.grantId, ARGV[2])
  end
end
redis.call('DEL', KEYS[1])
return 1
