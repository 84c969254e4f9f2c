-- Token buckets shared by every process of one Braket account and region (braket_async.ratelimit_redis).
-- One call is one atomic step; the Redis server's clock (TIME) is the only clock.
--
-- KEYS: 1 or 2 bucket hashes, in order (an operation's, then the account-wide one); for
-- "join", the sorted set of the processes sharing the buckets.
-- ARGV[1]: "acquire" | "cut" | "give" | "join"; ARGV[2], ARGV[3]: the adaptive decrease and
-- cooldown; then six values per key: base_rate, burst, min_rate, recovery (requests/s regained
-- per second after a cut), ttl_ms, cap (the most tokens the bucket may hold now: a process
-- that just paced itself alone, through an outage of the store, knows the service's bucket
-- cannot hold more than it regained since; otherwise the burst).
-- Hash fields: t tokens (negative: reserved ahead), s stamp, r rate, ca cut_at, cr rate at the
-- cut, n throttles reported.
--
-- acquire: the first bucket hands out a token now, or reserves the next one and says how long
--   to wait for it (callers keep at most one reservation per bucket each, so turns go round
--   the processes in order). When that costs no wait, the second bucket's token is taken too,
--   but only if one is there now. Returns {buckets done, wait seconds, rate of each bucket}.
-- cut: a 429: the first bucket's rate is multiplied by decrease (not below min_rate) and the
--   bucket emptied, unless within cooldown of the last cut. Returns {1 if cut, "0", rate}.
-- give: a token taken for a call never sent goes back to each bucket. Returns {0, "0", rates}.
-- join: ARGV[4] a process id, ARGV[5] ttl_ms: the process is seen now; processes not seen
--   within ttl_ms are forgotten. Returns {processes seen, "0"}.
if redis.replicate_commands then
  pcall(redis.replicate_commands)
end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local command = ARGV[1]
local decrease = tonumber(ARGV[2])
local cooldown = tonumber(ARGV[3])
local ALMOST_ONE = 1 - 1e-9

local function fmt(x)
  return string.format('%.17g', x)
end

local function load(i)
  local at = 4 + 6 * (i - 1)
  local b = {
    key = KEYS[i], base = tonumber(ARGV[at]), burst = tonumber(ARGV[at + 1]),
    min = tonumber(ARGV[at + 2]), recovery = tonumber(ARGV[at + 3]), ttl = tonumber(ARGV[at + 4]),
    cap = tonumber(ARGV[at + 5]),
  }
  local v = redis.call('HMGET', b.key, 't', 's', 'r', 'ca', 'cr', 'n')
  if v[1] then
    b.t, b.s, b.r = tonumber(v[1]), tonumber(v[2]), tonumber(v[3])
    b.ca, b.cr, b.n = tonumber(v[4]), tonumber(v[5]), tonumber(v[6])
  else
    b.t, b.s, b.r, b.ca, b.cr, b.n = b.burst, now, b.base, -1e300, b.base, 0
  end
  -- the caller's limits bound the shared state (a process may run with other settings)
  b.r = math.max(b.min, math.min(b.base, b.r))
  b.t = math.min(b.burst, b.t)
  local elapsed = now - b.s
  if elapsed > 0 then
    local rate = b.r
    if b.r < b.base then
      -- linear recovery since the last cut: refill at the mean rate over the interval
      local new = math.min(b.base, b.cr + b.recovery * (now - b.ca))
      rate = (b.r + new) / 2
      b.r = new
    end
    b.t = math.min(b.burst, b.t + elapsed * rate)
    b.s = now
  end
  b.t = math.min(b.t, b.cap)
  return b
end

local function save(b)
  redis.call('HSET', b.key, 't', fmt(b.t), 's', fmt(b.s), 'r', fmt(b.r),
    'ca', fmt(b.ca), 'cr', fmt(b.cr), 'n', b.n)
  redis.call('PEXPIRE', b.key, b.ttl)
end

if command == 'acquire' then
  local b = load(1)
  b.t = b.t - 1
  local wait = 0
  if b.t < -1e-9 then
    wait = -b.t / b.r
  end
  save(b)
  local reply = {1, fmt(wait), fmt(b.r)}
  if wait == 0 and #KEYS > 1 then
    local a = load(2)
    if a.t >= ALMOST_ONE then
      a.t = a.t - 1
      save(a)
      reply[1] = 2
    end
    reply[4] = fmt(a.r)
  end
  return reply
elseif command == 'cut' then
  local b = load(1)
  b.n = b.n + 1
  local cut = 0
  if now - b.ca >= cooldown then
    b.r = math.max(b.min, b.r * decrease)
    b.cr = b.r
    b.ca = now
    b.t = math.min(b.t, 0)
    cut = 1
  end
  save(b)
  return {cut, '0', fmt(b.r)}
elseif command == 'join' then
  local ttl = tonumber(ARGV[5])
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl / 1000)
  redis.call('PEXPIRE', KEYS[1], ttl)
  return {redis.call('ZCARD', KEYS[1]), '0'}
elseif command == 'give' then
  local reply = {0, '0'}
  for i = 1, #KEYS do
    local b = load(i)
    b.t = math.min(b.burst, b.t + 1)
    save(b)
    reply[i + 2] = fmt(b.r)
  end
  return reply
end
return redis.error_reply('unknown command ' .. tostring(command))
