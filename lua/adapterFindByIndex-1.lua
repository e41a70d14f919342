--[[
  The adapter's findByUid / findByUserCode: follows an index to its record.

  Input:
    KEYS[1] the index

    ARGV[1] the model's record prefix

  Output:
    The record JSON, or nil when the index or the record it points at is gone.
]]
local id = redis.call('GET', KEYS[1])
if not id then return nil end
return redis.call('GET', ARGV[1] .. id)
