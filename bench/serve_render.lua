-- wrk script: POST /v1/render with the text of a file as JSON (scripts/serve_load.sh runs it).
--   GLYPH_TEXT_FILE  the text to render (default: ../shared/data/examples/case1.txt)
--   GLYPH_UNCACHED=1 put a per-request counter in front of the text so every render is new
local path = os.getenv("GLYPH_TEXT_FILE") or "../shared/data/examples/case1.txt"
local file = assert(io.open(path, "rb"))
local text = file:read("*a")
file:close()

local function json_string(s)
  s = s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == '\\' then return '\\\\' end
    if c == '\n' then return '\\n' end
    if c == '\r' then return '\\r' end
    if c == '\t' then return '\\t' end
    return string.format('\\u%04x', c:byte())
  end)
  return '"' .. s .. '"'
end

local uncached = os.getenv("GLYPH_UNCACHED") == "1"
local body_text = json_string(text):sub(2)  -- without the opening quote
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"text":"' .. body_text .. '}'

local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

local counter = 0
function request()
  if not uncached then return wrk.format() end
  counter = counter + 1
  return wrk.format(nil, nil, nil,
    '{"text":"run ' .. tostring(tid) .. '-' .. counter .. '-' .. os.time() .. '\\n' .. body_text .. '}')
end

local non_200 = 0
function response(status, headers, body)
  if status ~= 200 then non_200 = non_200 + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("requests/s %.1f  p50 %.1f ms  p99 %.1f ms  errors %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout))
end
