-- State layout 3: let the aggregates of customers who have been inactive for longer than the
-- longest window go, keeping their rating state (level, review date, open alerts).
-- KEYS: state hashes "<prefix>:s" (one on Redis Cluster, many on one Redis)
-- ARGV: 1 "layout,keep_days", 2 the deployment's event time (ms), 3 its business day, 4 its
--   5-minute bucket (the slowest input partition's high-water mark: no customer's own events can
--   be ahead of it)
--
-- A customer whose watermark is more than keep_days before that day has nothing left in any
-- window: its buckets, trail, dedup digests and counterparties go, and its clock moves to the
-- deployment's, exactly as its next event would move it (a posting for it older than the
-- late-arrival window before that clock is then too late, as for every customer). Returns how
-- many customers were swept.

local function split(s, sep)
  local out, from = {}, 1
  while true do
    local i = string.find(s, sep, from, true)
    if not i then out[#out + 1] = string.sub(s, from); return out end
    out[#out + 1] = string.sub(s, from, i - 1)
    from = i + 1
  end
end

local H = split(ARGV[1], ',')
local LAYOUT, KEEP = H[1], tonumber(H[2])
local NOW_MS, NOW_DAY, NOW_FINE = ARGV[2], tonumber(ARGV[3]), ARGV[4]
local swept = 0
for i = 1, #KEYS do
  local raw = redis.call('HGET', KEYS[i], 'S')
  if raw then
    local S = cmsgpack.unpack(raw)
    local m = split(S[2], ',')
    local wd = tonumber(m[3])
    local idle = S[1] == LAYOUT and wd and wd <= NOW_DAY - KEEP and redis.call('HEXISTS', KEYS[i], 'o:') == 0
    if idle and not string.find(m[12] or '', ':', 1, true) then -- no reversal still waiting for its original
      local prefix = string.sub(KEYS[i], 1, -2)
      for _, b in ipairs(split(m[10] or '', ';')) do
        if string.sub(b, -1) == '!' then redis.call('UNLINK', prefix .. 'x' .. string.sub(b, 1, -2)) end
      end
      redis.call('UNLINK', prefix .. 'c')
      m[1], m[2], m[3], m[10] = NOW_MS, NOW_FINE, tostring(NOW_DAY), ''
      m[5] = NOW_MS -- committed: nothing of it is pending
      S[2], S[3], S[4], S[5], S[8], S[9], S[10] = table.concat(m, ','), '', '', '', '', '', ''
      redis.call('HSET', KEYS[i], 'S', cmsgpack.pack(S))
      swept = swept + 1
    end
  end
end
return swept
