-- Mark edge copies as committed (their outputs acknowledged) and record emitted detections.
-- KEYS: per account, its 4 keys: in zset (:i), out zset (:o), legs hash (:x), meta hash (:m)
-- ARGV: a JSON array with one entry per account (KEYS order): [edge ids, [field, value, ...]]
--       (the detections emitted with the account as anchor, for its meta hash); retain_ms
-- The account's retention now follows its watermark (`wc`: the watermark committed): net_apply
-- kept the edges older than that which its batch's own later edges put out of the retention, for
-- a retry of a batch whose outputs failed.
local retain = tonumber(ARGV[2])
for a, entry in ipairs(cjson.decode(ARGV[1])) do
  local ki, ko, kx, km = KEYS[4 * a - 3], KEYS[4 * a - 2], KEYS[4 * a - 1], KEYS[4 * a]
  for _, eid in ipairs(entry[1]) do
    local legs = redis.call('HGET', kx, eid)
    if legs and string.sub(legs, 1, 2) == 'p|' then
      redis.call('HSET', kx, eid, 'd|' .. string.sub(legs, 3))
    end
  end
  redis.call('HDEL', km, 'ae')
  local kv = entry[2]
  for i = 1, #kv, 2 do
    redis.call('HSET', km, kv[i], kv[i + 1])
  end
  local wm = redis.call('HGET', km, 'wm')
  if wm and wm ~= redis.call('HGET', km, 'wc') then
    redis.call('HSET', km, 'wc', wm)
    for _, key in ipairs({ki, ko}) do
      for _, m in ipairs(redis.call('ZRANGEBYSCORE', key, '-inf', '(' .. string.format('%d', tonumber(wm) - retain))) do
        redis.call('ZREM', key, m)
        redis.call('HDEL', kx, string.sub(m, 1, string.find(m, '|', 1, true) - 1))
      end
    end
  end
end
return 1
