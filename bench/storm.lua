-- wrk script for bench/storm.py: a storm of new incidents with Flashduty's full example body.
--   wrk -t2 -c32 -d10s -s bench/storm.lua URL -- <path> <secret> <run tag>
-- Every request carries a unique event_id; 3 in 4 open a new incident (i_new), the 4th
-- acknowledges the incident this connection thread opened two requests earlier (i_ack), so
-- most rows are new, as in an alert storm, and some are updates of a fresh incident.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

local path, secret, tag
-- the documented example (flashduty.md §1) with the documented fields it lacks filled in
-- (impact, root_cause, resolution, fields, closer, account): ~1.4 KB
local template = [[{"event_id":"%s","event_time":%d,"event_type":"%s","incident":{"account_id":2451002751131,"account_name":"Flashcat","ack_time":%d,"alert_cnt":3,"channel_id":1840312623504,"channel_name":"Reduce Noise","close_time":0,"created_at":1689335086,"creator":{"email":"toutie@flashcat.cloud","person_id":1552048792504,"person_name":"TouTie"},"closer":{"email":"","person_id":0,"person_name":""},"description":"CPU idle below 10%% on web-01 for 5 minutes; load average 14.2, run queue 31. Runbook: https://wiki.example.com/runbooks/cpu-idle-low","impact":"checkout latency p99 above 2 s","root_cause":"","resolution":"","detail_url":"http://10.206.0.17:8567/incident/detail/%s","end_time":0,"group_method":"n","incident_id":"%s","incident_severity":"Critical","incident_status":"Critical","labels":{"check":"cpu idle low","host":"web-01","service":"checkout","region":"eu-west-1"},"fields":{"team":"payments","customer_impact":"yes"},"last_time":1689335086,"num":"56E25B","progress":"%s","responders":[{"acknowledged_at":0,"assigned_at":1689335086,"email":"toutie@flashcat.cloud","person_id":1552048792504,"person_name":"TouTie"}],"start_time":1689335086,"title":"CPU idle low on web-01 (checkout)","updated_at":1689335086},"person":{"email":"toutie@flashcat.cloud","person_id":1552048792504,"person_name":"TouTie"}}]]
local headers

function init(args)
  path, secret, tag = args[1], args[2], args[3]
  headers = {["Content-Type"] = "application/json", ["X-Jira-Sync-Secret"] = secret}
end

local function incident_id(n)
  return string.format("%s%02d%010d", tag, tid, n)
end

function request()
  counter = counter + 1
  local event_id = string.format("%s%02d%010de", tag, tid, counter)
  local body
  if counter % 4 == 0 then
    local iid = incident_id(counter - 2)
    body = string.format(template, event_id, 1689335096948 + counter, "i_ack", 1689335096, iid, iid, "Processing")
  else
    local iid = incident_id(counter)
    body = string.format(template, event_id, 1689335086948 + counter, "i_new", 0, iid, iid, "Triggered")
  end
  return wrk.format("POST", path, headers, body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'STORM {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    errors.status, errors.connect, errors.read, errors.write, errors.timeout))
end
