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

-- The adapter's upsert of one record: moves its uid / userCode / grant index entries when they
-- changed, adds it to its grant set before writing it, and keeps a stored `consumed` flag.
-- `ttl` is milliseconds or nil; `hasConsumed` and `grantable` are booleans.
local function upsertRecord(record, id, member, body, ttl, grantId, uid, userCode, hasConsumed,
                            grantable, grantPrefix, uidPrefix, ucPrefix)
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
      if grantable and type(previous.grantId) == 'string' and previous.grantId ~= grantId then
        redis.call('SREM', grantPrefix .. previous.grantId, member)
      end
      if not hasConsumed and present(previous.consumed) then
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
end

-- The adapter's destroy of one record: removes it and only the indexes pointing at it.
local function destroyRecord(record, id, member, grantable, grantPrefix, uidPrefix, ucPrefix)
  local raw = redis.call('GET', record)
  if not raw then return end
  local obj = decode(raw)
  if obj then
    dropSecondary(obj, id, uidPrefix, ucPrefix)
    if grantable and type(obj.grantId) == 'string' then
      redis.call('SREM', grantPrefix .. obj.grantId, member)
    end
  end
  redis.call('DEL', record)
end
