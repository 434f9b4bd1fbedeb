import { createHash } from 'node:crypto'
import { fieldOf } from '../core/json.js'
import type { RedisClient } from './options.js'

/** A Lua script run by its SHA-1 (EVALSHA), loaded with EVAL the first time a server lacks it. */
export interface Script {
  readonly lua: string
  readonly sha: string
}

/** Prepares a Lua script. */
export function script (lua: string): Script {
  return Object.freeze({ lua, sha: createHash('sha1').update(lua).digest('hex') })
}

/**
 * Runs `s` atomically on `client` (Redis runs a script without interleaving
 * other commands). Sends only the SHA-1 after the first call; a server that
 * restarted or flushed its script cache answers NOSCRIPT and gets the source.
 */
export async function run (client: RedisClient, s: Script, keys: string[], args: Array<string | number>): Promise<unknown> {
  try {
    return await client.evalsha(s.sha, keys.length, ...keys, ...args)
  } catch (err) {
    if (!String(fieldOf(err, 'message')).startsWith('NOSCRIPT')) throw err
    return await client.eval(s.lua, keys.length, ...keys, ...args)
  }
}

// Counters are hashes { v: value, e: expiresAt }; windows are sorted sets of hit
// times. Times come from the caller (ARGV) so every instance and the tests'
// injected clock agree; PEXPIRE only makes Redis forget keys nobody reads.
// A key of the other kind counts as missing, as in the memory store.

const LIVE_COUNTER = `
local function live(k, now)
  if redis.call('TYPE', k).ok ~= 'hash' then return nil end
  local f = redis.call('HMGET', k, 'v', 'e')
  local v, e = tonumber(f[1]), tonumber(f[2])
  if v == nil or e == nil or e <= now then return nil end
  return v, e
end
local function put(k, v, e, now)
  redis.call('DEL', k)
  redis.call('HSET', k, 'v', v, 'e', string.format('%d', e))
  redis.call('PEXPIRE', k, math.max(1, e - now))
end
`

/** KEYS[1]; ARGV: now, ttlMs, slide (1|0). Returns { value, expiresAt }. */
export const INCREMENT = script(`${LIVE_COUNTER}
local k, now, ttl = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local v, e = live(k, now)
if v == nil then
  v, e = 1, now + ttl
  put(k, v, e, now)
else
  v = redis.call('HINCRBY', k, 'v', 1)
  if ARGV[3] == '1' then
    e = now + ttl
    redis.call('HSET', k, 'e', string.format('%d', e))
    redis.call('PEXPIRE', k, ttl)
  end
end
return { v, string.format('%d', e) }
`)

/** KEYS[1]; ARGV: now. Returns { value, expiresAt } or nil. */
export const GET = script(`${LIVE_COUNTER}
local v, e = live(KEYS[1], tonumber(ARGV[1]))
if v == nil then return nil end
return { v, string.format('%d', e) }
`)

/** KEYS[1]; ARGV: now, value, ttlMs, onlyIfAbsent (1|0). Returns 1 when set. */
export const SET = script(`${LIVE_COUNTER}
local k, now, ttl = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[3])
if ARGV[4] == '1' then
  if redis.call('EXISTS', k) == 1 then
    local t = redis.call('TYPE', k).ok
    if t ~= 'hash' or live(k, now) ~= nil then return 0 end
  end
end
put(k, tonumber(ARGV[2]), now + ttl, now)
return 1
`)

const WINDOW = `
local function window(k, now, win)
  if redis.call('TYPE', k).ok ~= 'zset' then return false end
  redis.call('ZREMRANGEBYSCORE', k, '-inf', string.format('%d', now - win))
  return true
end
local function result(k)
  local n = redis.call('ZCARD', k)
  if n == 0 then return { 0, false } end
  local first = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')
  return { n, first[2] }
end
`

/** KEYS[1]. Forgets the key, whatever it holds. */
export const DELETE = script("return redis.call('DEL', KEYS[1])")

/** KEYS[1]; ARGV: now, windowMs, keep, member. Returns { count, oldest }. */
export const HIT = script(`${WINDOW}
local k, now, win, keep = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if not window(k, now, win) then redis.call('DEL', k) end
redis.call('ZADD', k, string.format('%d', now), ARGV[4])
redis.call('ZREMRANGEBYRANK', k, 0, -(keep + 1))
redis.call('PEXPIRE', k, win)
return result(k)
`)

/** KEYS[1]; ARGV: now, windowMs. Returns { count, oldest }. */
export const HITS = script(`${WINDOW}
local k = KEYS[1]
local now, win = tonumber(ARGV[1]), tonumber(ARGV[2])
if redis.call('TYPE', k).ok ~= 'zset' then return { 0, false } end
local n = redis.call('ZCOUNT', k, '(' .. string.format('%d', now - win), '+inf')
if n == 0 then return { 0, false } end
local first = redis.call('ZRANGEBYSCORE', k, '(' .. string.format('%d', now - win), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
return { n, first[2] }
`)

/** KEYS[1]; ARGV: now, windowMs, limit, member. Adds the hit only below limit. Returns { count, oldest, member or false }. */
export const TAKE = script(`${WINDOW}
local k, now, win, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if not window(k, now, win) then redis.call('DEL', k) end
if redis.call('ZCARD', k) >= limit then
  local r = result(k)
  return { r[1], r[2], false }
end
redis.call('ZADD', k, string.format('%d', now), ARGV[4])
redis.call('PEXPIRE', k, win)
local r = result(k)
return { r[1], r[2], ARGV[4] }
`)

/** KEYS[1]; ARGV: member. Removes one hit of a window. */
export const RELEASE = script(`
if redis.call('TYPE', KEYS[1]).ok ~= 'zset' then return 0 end
return redis.call('ZREM', KEYS[1], ARGV[1])
`)

// Kept counters (a key whose priority is above 0: locks, back-off levels, failure
// streaks) are fields of one hash without a TTL, so no volatile-* eviction policy
// can ever evict them; "<value> <expiresAt>" per field, and a sorted set of the
// fields by expiry from which every write sweeps up to 20 expired ones, so memory
// holds the live ones and a short backlog. KEYS: hash, expiry index, the plain
// key of the same name (a window of that name, replaced as in the memory store).
const KEPT = `
local h, z, plain = KEYS[1], KEYS[2], KEYS[3]
local function klive(f, now)
  local s = redis.call('HGET', h, f)
  if not s then return nil end
  local v, e = string.match(s, '^(%-?%d+) (%d+)$')
  v, e = tonumber(v), tonumber(e)
  if v == nil or e == nil or e <= now then
    redis.call('HDEL', h, f)
    redis.call('ZREM', z, f)
    return nil
  end
  return v, e
end
local function kput(f, v, e)
  redis.call('DEL', plain)
  redis.call('HSET', h, f, string.format('%d %d', v, e))
  redis.call('ZADD', z, string.format('%d', e), f)
end
local function ksweep(now)
  local old = redis.call('ZRANGEBYSCORE', z, '-inf', string.format('%d', now), 'LIMIT', 0, 20)
  for _, f in ipairs(old) do
    redis.call('HDEL', h, f)
    redis.call('ZREM', z, f)
  end
end
`

/** Kept counter: ARGV field, now, ttlMs, slide. Returns { value, expiresAt }. */
export const KEPT_INCREMENT = script(`${KEPT}
local f, now, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
ksweep(now)
local v, e = klive(f, now)
if v == nil then
  v, e = 1, now + ttl
else
  v = v + 1
  if ARGV[4] == '1' then e = now + ttl end
end
kput(f, v, e)
return { v, string.format('%d', e) }
`)

/** Kept counter: ARGV field, now. Returns { value, expiresAt } or nil. */
export const KEPT_GET = script(`${KEPT}
local v, e = klive(ARGV[1], tonumber(ARGV[2]))
if v == nil then return nil end
return { v, string.format('%d', e) }
`)

/** Kept counter: ARGV field, now, value, ttlMs, onlyIfAbsent. Returns 1 when set. */
export const KEPT_SET = script(`${KEPT}
local f, now = ARGV[1], tonumber(ARGV[2])
ksweep(now)
if ARGV[5] == '1' and klive(f, now) ~= nil then return 0 end
kput(f, tonumber(ARGV[3]), now + tonumber(ARGV[4]))
return 1
`)

/** Kept counter: ARGV field. Forgets the field and the plain key of the same name. */
export const KEPT_DELETE = script(`${KEPT}
redis.call('HDEL', h, ARGV[1])
redis.call('ZREM', z, ARGV[1])
return redis.call('DEL', plain)
`)

/** Kept key used as a window: ARGV field. Forgets the counter of that name (a window replaces it). */
export const KEPT_FORGET = script(`${KEPT}
redis.call('HDEL', h, ARGV[1])
return redis.call('ZREM', z, ARGV[1])
`)

/**
 * KEYS[1] = revocation log, ARGV: channel, message, member, keepMs, keepCount.
 * Logs the revocation (scored by the server's clock) and publishes it in one
 * step, so a subscriber that missed the message finds it in the log.
 */
export const PUBLISH = script(`
local k = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', k, string.format('%d', now), ARGV[3])
redis.call('ZREMRANGEBYSCORE', k, '-inf', string.format('%d', now - tonumber(ARGV[4])))
redis.call('ZREMRANGEBYRANK', k, 0, -(tonumber(ARGV[5]) + 1))
redis.call('PEXPIRE', k, tonumber(ARGV[4]))
return redis.call('PUBLISH', ARGV[1], ARGV[2])
`)

/** KEYS[1] = revocation log, ARGV: keepMs. The members logged within keepMs. */
export const RECENT = script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], string.format('%d', now - tonumber(ARGV[1])), '+inf')
`)
