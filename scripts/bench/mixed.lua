-- wrk script for scripts/bench.sh.
-- wrk -s mixed.lua <url> -- <accounts file> <run tag> <mix>
--   accounts file: lines "<account id> <owner's token>" (from setup.ts); "-" for the hello mix
--   run tag:       prefix making every Idempotency-Key unique across wrk runs
--   mix:           mixed (70 % deposits, 20 % withdrawals, 10 % balance reads), mixed-unkeyed (the same
--                  without Idempotency-Keys: what the keys cost), deposits, withdrawals, reads, or hello
--                  (a fixed GET /, for the ceiling)
-- Prints one "RESULT k=v ..." line that bench.sh parses. 409 insufficient-funds is a business outcome,
-- counted apart from errors. The hello mix drops request() and response() so that wrk sends a fixed
-- request without calling Lua (as bare wrk does: about 40 % faster here), for the highest ceiling.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

local accounts = {}
local counter = 0
local tag
mix = nil -- global: done() reads it with thread:get
local deposit_pct, withdrawal_pct
local keyed
ok, insufficient, http4xx, http5xx, other = 0, 0, 0, 0, 0

function init(args)
  tag, mix = args[2], args[3]
  local shares = {
    mixed = { 70, 20 }, ["mixed-unkeyed"] = { 70, 20 }, deposits = { 100, 0 }, withdrawals = { 0, 100 }, reads = { 0, 0 }, hello = { 0, 0 },
  }
  assert(shares[mix], "unknown mix " .. tostring(mix))
  deposit_pct, withdrawal_pct = shares[mix][1], shares[mix][2]
  keyed = mix ~= "mixed-unkeyed"
  if mix == "hello" then
    request, response = nil, nil
    return
  end
  for line in io.lines(args[1]) do
    local id, token = line:match("^(%S+) (%S+)$")
    if id then table.insert(accounts, { id, token }) end
  end
  assert(#accounts > 0, "no accounts in " .. args[1])
  math.randomseed(os.time() * 1000 + thread_id)
end

function request()
  local account = accounts[math.random(#accounts)]
  local headers = { ["Authorization"] = "Bearer " .. account[2] }
  local roll = math.random(100)
  if roll > deposit_pct + withdrawal_pct then
    return wrk.format("GET", "/v1/accounts/" .. account[1], headers)
  end
  local kind = roll <= deposit_pct and "deposits" or "withdrawals"
  headers["Content-Type"] = "application/json"
  if keyed then
    counter = counter + 1
    headers["Idempotency-Key"] = tag .. "-" .. thread_id .. "-" .. counter
  end
  local body = '{"amount":' .. math.random(1, 10000) .. '}'
  return wrk.format("POST", "/v1/accounts/" .. account[1] .. "/" .. kind, headers, body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  elseif status == 409 and body and body:find("insufficient-funds", 1, true) then
    insufficient = insufficient + 1
  elseif status >= 500 then
    http5xx = http5xx + 1
  elseif status >= 400 then
    http4xx = http4xx + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local sum = { ok = 0, insufficient = 0, http4xx = 0, http5xx = 0, other = 0 }
  for _, thread in ipairs(threads) do
    for name in pairs(sum) do sum[name] = sum[name] + thread:get(name) end
  end
  local e = summary.errors
  if threads[1]:get("mix") == "hello" then -- no response(): wrk only counts statuses >= 400
    sum.ok, sum.other = summary.requests - e.status, e.status
  end
  io.write(string.format(
    "RESULT rps=%.0f p50_ms=%.2f p99_ms=%.2f ok=%d insufficient=%d http4xx=%d http5xx=%d other=%d " ..
      "socket=%d timeout=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    sum.ok, sum.insufficient, sum.http4xx, sum.http5xx, sum.other,
    e.connect + e.read + e.write, e.timeout))
end
