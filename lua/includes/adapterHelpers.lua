--[[
  Helpers shared by the adapter scripts.

  Records are JSON written by JavaScript. Scripts decode them only to read fields and never
  re-encode them (cjson turns `[]` into `{}` and rounds numbers to 14 digits): `consumed` is
  spliced in before the closing brace instead.
]]

local function decode(raw)
  local ok, obj = pcall(cjson.decode, raw)
  if ok and type(obj) == 'table' then return obj end
  return nil
end

local function present(v)
  return v ~= nil and v ~= cjson.null
end

-- deletes an index key only while it still points at this record
local function dropIndex(key, id)
  if redis.call('GET', key) == id then redis.call('DEL', key) end
end

local function dropSecondary(obj, id, uidPrefix, ucPrefix)
  if type(obj.uid) == 'string' then dropIndex(uidPrefix .. obj.uid, id) end
  if type(obj.userCode) == 'string' then dropIndex(ucPrefix .. obj.userCode, id) end
end

local function withConsumed(body, encoded)
  if body == '{}' then return '{"consumed":' .. encoded .. '}' end
  return string.sub(body, 1, -2) .. ',"consumed":' .. encoded .. '}'
end

local function setWithTtl(key, value, ttl)
  if ttl then
    redis.call('SET', key, value, 'PX', ttl)
  else
    redis.call('SET', key, value)
  end
end

-- deletes every member of a grant, their secondary indexes, then the set
local function revokeGrant(grantKey, recordsPrefix, uidPrefix, ucPrefix)
  local members = redis.call('SMEMBERS', grantKey)
  for _, member in ipairs(members) do
    local key = recordsPrefix .. member
    local raw = redis.call('GET', key)
    if raw then
      local obj = decode(raw)
      local sep = string.find(member, ':', 1, true)
      if obj and sep then dropSecondary(obj, string.sub(member, sep + 1), uidPrefix, ucPrefix) end
      redis.call('DEL', key)
    end
  end
  redis.call('DEL', grantKey)
end
