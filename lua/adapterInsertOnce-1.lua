--[[
  The ReplayDetection upsert: the first write wins.

  Input:
    KEYS[1] the record

    ARGV[1] JSON body
    ARGV[2] ttl in milliseconds, or '' for none

  Output:
    1 when written, 0 when the id was already there.
]]
local ok
if ARGV[2] ~= '' then
  ok = redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]), 'NX')
else
  ok = redis.call('SET', KEYS[1], ARGV[1], 'NX')
end
if ok then return 1 end
return 0
