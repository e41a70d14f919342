/**
 * The Lua scripts behind the Redis adapter. Each adapter operation is one script, so it is
 * atomic and one round trip. KEYS[1] is always the key the operation is about; keys derived
 * from stored data (old indexes, grant members) are built from the prefixes of
 * `KeyNames.scriptPrefixes`, passed as arguments, and share KEYS[1]'s hash tag and slot.
 *
 * Records are JSON written by JavaScript. Scripts decode them only to read fields and never
 * re-encode them (cjson turns `[]` into `{}` and rounds numbers to 14 digits): `consumed` is
 * spliced in before the closing brace instead.
 */

const HELPERS = `
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
`;

/**
 * upsert. KEYS[1] record. ARGV: 1 id, 2 grant member, 3 JSON body, 4 ttl ms or '',
 * 5 grantId or '', 6 uid or '', 7 userCode or '', 8 '1' when the body has `consumed`,
 * 9 '1' when the model is grantable, 10 grant prefix, 11 uid prefix, 12 userCode prefix.
 */
export const UPSERT = `${HELPERS}
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
`;

/**
 * ReplayDetection upsert: the first write wins. KEYS[1] record. ARGV: 1 body, 2 ttl ms or ''.
 * Returns 1 when written, 0 when the id was already there.
 */
export const INSERT_ONCE = `
local ok
if ARGV[2] ~= '' then
  ok = redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]), 'NX')
else
  ok = redis.call('SET', KEYS[1], ARGV[1], 'NX')
end
if ok then return 1 end
return 0
`;

/**
 * consume. KEYS[1] record. ARGV: 1 epoch seconds, 2 records prefix, 3 grant prefix,
 * 4 uid prefix, 5 userCode prefix, 6 Grant record prefix.
 * Returns 'ok' (this call consumed it), 'missing', or 'replayed' (already consumed: the
 * record's grant, its members and the Grant record are deleted before returning).
 */
export const CONSUME = `${HELPERS}
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
`;

/**
 * destroy. KEYS[1] record. ARGV: 1 id, 2 grant member, 3 '1' when grantable, 4 grant prefix,
 * 5 uid prefix, 6 userCode prefix. Removes the record and only the indexes pointing at it.
 */
export const DESTROY = `${HELPERS}
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
`;

/**
 * revokeByGrantId. KEYS[1] grant set. ARGV: 1 records prefix, 2 uid prefix, 3 userCode prefix.
 * Idempotent: a missing set is a no-op.
 */
export const REVOKE_GRANT = `${HELPERS}
revokeGrant(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
return 1
`;

/**
 * findByUid / findByUserCode. KEYS[1] index. ARGV: 1 the model's record prefix.
 * Returns the record JSON, or nil when the index or the record it points at is gone.
 */
export const FIND_BY_INDEX = `
local id = redis.call('GET', KEYS[1])
if not id then return nil end
return redis.call('GET', ARGV[1] .. id)
`;
