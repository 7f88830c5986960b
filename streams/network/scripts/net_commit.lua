-- Mark edge copies (and retractions) as committed (their outputs acknowledged); the detections emitted are recorded
-- by net_emitted.lua.
-- KEYS: per account, its meta hash (:m); in zset (:i), out zset (:o), legs hash (:x) and alias times (:t)
--       share its hash tag and are named from it (see net_apply.lua)
-- ARGV: a JSON array with one entry per account (KEYS order): its edge ids; retain_ms
-- The account's retention now follows its watermark (`wc`: the watermark committed): net_apply
-- kept the edges older than that which its batch's own later edges put out of the retention, for
-- a retry of a batch whose outputs failed (aliases likewise, when the committed watermark enters a
-- new day, at most 64 a call); the aliases the batch changed are its state now ('ae' goes).
local retain = tonumber(ARGV[2])
for a, eids in ipairs(cjson.decode(ARGV[1])) do
  local km = KEYS[a]
  local p = string.sub(km, 1, -2)
  local ki, ko, kx, kt = p .. 'i', p .. 'o', p .. 'x', p .. 't'
  for _, eid in ipairs(eids) do
    local legs = redis.call('HGET', kx, eid)
    if legs and string.sub(legs, 1, 2) == 'p|' then
      redis.call('HSET', kx, eid, 'd|' .. string.sub(legs, 3))
    elseif legs and string.sub(legs, 1, 1) == 'q' then  -- a retraction: the tombstone stays for the retention
      redis.call('HSET', kx, eid, 'r|')
    end
  end
  local marks = redis.call('HMGET', km, 'wm', 'wc', 'ae')
  local wm, wc = marks[1], marks[2]
  if marks[3] then redis.call('HDEL', km, 'ae') end
  if wm and wm ~= wc then
    redis.call('HSET', km, 'wc', wm)
    local oldest = '(' .. string.format('%d', tonumber(wm) - retain)
    for _, key in ipairs({ki, ko}) do
      for _, m in ipairs(redis.call('ZRANGEBYSCORE', key, '-inf', oldest)) do
        redis.call('ZREM', key, m)
        redis.call('HDEL', kx, string.sub(m, 1, string.find(m, '|', 1, true) - 1))
      end
    end
    if math.floor(tonumber(wm) / 86400000) > math.floor(tonumber(wc or '0') / 86400000) then
      for _, k in ipairs(redis.call('ZRANGEBYSCORE', kt, '-inf', oldest, 'LIMIT', 0, 64)) do
        redis.call('HDEL', km, 'a:' .. k)
        redis.call('ZREM', kt, k)
      end
    end
  end
end
return 1
