"""The Lua scripts that make the Redis store's read-decide-write steps atomic in Redis itself."""

from __future__ import annotations

# Mirrors expiry.parse/unwrap: a record is {"v": ..., "exp": number|null}; anything else is
# someone else's data. ``now`` comes from the caller, the same clock the Python side reads.
_STATE = """
local function state(key, now)
  local kind = redis.call('TYPE', key)['ok']
  if kind == 'none' then return 'absent', nil end
  if kind ~= 'string' then return 'unreadable', nil end
  local ok, rec = pcall(cjson.decode, redis.call('GET', key))
  if not ok or type(rec) ~= 'table' or rec['v'] == nil then return 'unreadable', nil end
  local exp = rec['exp']
  if exp == nil or exp == cjson.null then return 'live', rec end
  if type(exp) ~= 'number' then return 'unreadable', nil end
  if exp <= now then return 'expired', rec end
  return 'live', rec
end

local function move_aside(key, base)
  local target = base
  local n = 1
  while redis.call('EXISTS', target) == 1 do
    n = n + 1
    target = base .. '#' .. n
  end
  redis.call('RENAME', key, target)
  -- Someone's data: it must not vanish with an expiry it may have carried.
  redis.call('PERSIST', target)
  return target
end
"""

# KEYS[1] the key; ARGV: mode (set|add|delete|quarantine), now, stored record, expiry in ms
# ('' for none), quarantine base key, writer nonce. Returns {done, moved-to key or ''}.
# An ``add`` whose record already carries this call's nonce is this call retried after a
# lost reply: it reports what the first attempt did, so a redelivery is never mistaken.
WRITE = (
    _STATE
    + """
local key = KEYS[1]
local mode, now, raw, ttl = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local base, nonce = ARGV[5], ARGV[6]
local st, rec = state(key, now)
if mode == 'quarantine' then
  if st == 'absent' or st == 'expired' then return {0, ''} end
  return {1, move_aside(key, base)}
end
if mode == 'add' and st == 'live' then
  if nonce ~= '' and rec['w'] == nonce then return {1, ''} end
  return {0, ''}
end
local moved = ''
if st == 'unreadable' then moved = move_aside(key, base) end
if mode == 'delete' then
  redis.call('DEL', key)
  return {1, moved}
end
if ttl == '' then
  redis.call('SET', key, raw)
else
  redis.call('SET', key, raw, 'PX', ttl)
end
return {1, moved}
"""
)

# KEYS[1]; ARGV[1] the record read before: delete only if nobody rewrote it meanwhile.
DELETE_IF_UNCHANGED = """
if redis.call('TYPE', KEYS[1])['ok'] == 'string' and redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# Lock leases: KEYS[1] the lease key; ARGV[1] the owner token, ARGV[2] the lease in ms.
# Taking it again with one's own token succeeds, so a retried acquisition is harmless.
ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
return 0
"""

RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
