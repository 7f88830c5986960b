-- Apply one edge copy to the account that owns it (all keys share the account's hash tag).
-- KEYS: adjacency zset (:i or :o), legs hash (:x), meta hash (:m)
-- ARGV: ts_ms, member ("eid|fen|other"), eid, tx_id, customer_id ("" unknown), peer_group ("" unknown), retain_ms, cap
-- Returns {status, legs}: status 1 new, 0 already stored (the other leg of a book transfer, or a
-- redelivery), -1 older than the retention before the account's watermark (not stored).
-- legs: "p|tx1[,tx2]" (outputs pending) or "d|..." (outputs committed).
local ts = tonumber(ARGV[1])
local retain = tonumber(ARGV[7])
local cap = tonumber(ARGV[8])
local wm = tonumber(redis.call('HGET', KEYS[3], 'wm') or '0')
if ts > wm then
  wm = ts
  redis.call('HSET', KEYS[3], 'wm', wm)
end
if ts < wm - retain then
  return {-1, ''}
end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[3], 'c', ARGV[5]) end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[3], 'g', ARGV[6]) end
local added = redis.call('ZADD', KEYS[1], 'NX', ts, ARGV[2])
local legs = redis.call('HGET', KEYS[2], ARGV[3])
if not legs then
  legs = 'p|' .. ARGV[4]
  redis.call('HSET', KEYS[2], ARGV[3], legs)
elseif not string.find(',' .. string.sub(legs, 3) .. ',', ',' .. ARGV[4] .. ',', 1, true) then
  legs = legs .. ',' .. ARGV[4]
  redis.call('HSET', KEYS[2], ARGV[3], legs)
end
-- bounded in time (event time: the account's watermark) and in size (the newest `cap` edges)
local function drop(members)
  for _, m in ipairs(members) do
    redis.call('ZREM', KEYS[1], m)
    redis.call('HDEL', KEYS[2], string.sub(m, 1, string.find(m, '|', 1, true) - 1))
  end
end
drop(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (wm - retain)))
local n = redis.call('ZCARD', KEYS[1])
if n > cap then
  drop(redis.call('ZRANGE', KEYS[1], 0, n - cap - 1))
  redis.call('HSET', KEYS[3], 'capped', ts)
end
return {added, legs}
