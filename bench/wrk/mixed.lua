-- Replays a weighted list of requests with think time and counts what came back.
-- wrk -t1 -c N -d 60s -s bench/wrk/mixed.lua URL -- <requests file> <think min ms> <think max ms> <seed>
-- Requests file: one request a line, "METHOD<TAB>PATH<TAB>COOKIE<TAB>BODY"; a line appears
-- as many times as its weight. In a body, {rand} becomes a fresh random hex value (for
-- idempotency keys). Prints one line "JSON {...}" with the figures at the end.

local reqs = {}
local think_lo, think_hi = 0, 0
counts = {}  -- global: done() reads it from each thread

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local function rand_hex()
  return string.format("%08x%08x%08x", math.random(0, 0x7fffffff), math.random(0, 0x7fffffff),
                       math.random(0, 0x7fffffff))
end

function init(args)
  think_lo = tonumber(args[2] or "0")
  think_hi = tonumber(args[3] or "0")
  math.randomseed(tonumber(args[4] or "1"))
  for line in io.lines(args[1]) do
    local method, path, cookie, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    -- Phones send Accept-Encoding: the cost of compressing a page is part of serving it.
    local headers = {["Accept-Encoding"] = "br, gzip"}
    if cookie ~= "" then headers["Cookie"] = cookie end
    local entry = {}
    if method == "POST" then
      headers["Content-Type"] = "application/x-www-form-urlencoded"
      entry.method, entry.path, entry.headers, entry.body = method, path, headers, body
    else
      entry.raw = wrk.format(method, path, headers, nil)
    end
    table.insert(reqs, entry)
  end
end

function request()
  local r = reqs[math.random(#reqs)]
  if r.raw then return r.raw end
  local body = r.body:gsub("{rand}", rand_hex)
  return wrk.format(r.method, r.path, r.headers, body)
end

function delay()
  if think_hi > 0 then return math.random(think_lo, think_hi) end
  return 0
end

function response(status, headers, body)
  local key = tostring(status)
  if status == 302 or status == 303 then
    local location = headers["Location"] or headers["location"] or ""
    -- A redirect to the sign-in page means the session was lost: an error for us.
    if location:find("/login", 1, true) then key = "bounced" end
  end
  counts[key] = (counts[key] or 0) + 1
end

function done(summary, latency, requests)
  local agg = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts") or {}
    for k, v in pairs(c) do agg[k] = (agg[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(agg) do table.insert(parts, string.format('"%s": %d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'JSON {"requests": %d, "duration_us": %d, "errors": {"connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d}, "latency_us": {"p50": %d, "p90": %d, ' ..
    '"p95": %d, "p99": %d, "max": %d, "mean": %.1f}, "statuses": {%s}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean, table.concat(parts, ", ")))
end
