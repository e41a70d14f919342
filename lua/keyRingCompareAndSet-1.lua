--[[
  Writes the key ring by compare-and-set on the stored envelope's `version` (readable without
  the secret), then announces the change, in one atomic step.

  Input:
    KEYS[1] the key ring

    ARGV[1] expected version (0 = no ring yet)
    ARGV[2] the new envelope
    ARGV[3] the change channel
    ARGV[4] the message to publish

  Output:
    1 when written, 0 when the version did not match.
]]
local current = redis.call('GET', KEYS[1])
local version = 0
if current then version = cjson.decode(current).version end
if version ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
