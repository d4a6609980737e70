-- wrk script: single-alert Alertmanager webhooks, each alert with a fresh
-- fingerprint, spread over SERVICES services (default 50), shaped like the
-- captured fixtures. Used by scripts/bench (wrk is Debian's package).
local services = tonumber(os.getenv("SERVICES") or "50")
local token = os.getenv("TOKEN") or "bench-token"
local seed = os.getenv("SEED") or tostring(os.time())
-- WEBHOOK_PATH: where the webhooks go (another receiver's path, for
-- scripts/bench storm's side-by-side runs).
local path = os.getenv("WEBHOOK_PATH") or "/api/v1/alerts/alertmanager"
local n = 0
local thread_id = 0

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

function request()
  n = n + 1
  local svc = "svc-" .. (n % services)
  local fp = string.format("%s-%d-%08x", seed, tid or 0, n)
  local body = '{"version":"4","status":"firing","receiver":"warroom","groupKey":"{}:{service=\\"' .. svc ..
    '\\"}","truncatedAlerts":0,"groupLabels":{"service":"' .. svc .. '"},"commonLabels":{"service":"' .. svc ..
    '"},"commonAnnotations":{},"externalURL":"http://alertmanager:9093","alerts":[{"status":"firing","labels":' ..
    '{"alertname":"PodErrorRate","env":"prod","service":"' .. svc .. '","pod":"' .. svc .. '-0","severity":"critical",' ..
    '"cluster":"prod-eu-1"},"annotations":{"error_rate":"0.031","summary":"' .. svc .. ' error rate is high"},' ..
    '"startsAt":"2026-11-26T04:24:38.185Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus:9090/graph?g0.expr=x",' ..
    '"fingerprint":"' .. fp .. '"}]}'
  return wrk.format("POST", path,
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end

local non200 = 0
function response(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("wrk: %d requests in %.1fs: %.0f/s, p50 %.2fms, p99 %.2fms, max %.2fms, errors %d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
