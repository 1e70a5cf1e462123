#include "serve/redis_job_queue.h"

#include <unistd.h>

#include <algorithm>

#include "core/error.h"

namespace glyph::serve {
namespace {

using queue_detail::host_name;
using queue_detail::now_ms;
using queue_detail::random_hex;

// Every script gets ARGV[1] = the key prefix and ARGV[2] = the caller's time in ms; its own
// arguments follow from ARGV[3].
const std::string kPrelude = R"lua(
local P = ARGV[1]
local now = tonumber(ARGV[2])
local STREAM = P .. 'stream'
local GROUP = 'workers'
local function jobkey(id) return P .. 'job:' .. id end
local function event(id, attempt, name, detail)
  redis.call('RPUSH', P .. 'events:' .. id, attempt .. '\t' .. name .. '\t' .. (detail or ''))
end
local function set_state(id, from, to, created)
  if from ~= to then
    redis.call('ZREM', P .. 'state:' .. from, id)
    redis.call('ZADD', P .. 'state:' .. to, created, id)
    if to == 'done' or to == 'failed' or to == 'cancelled' then
      redis.call('ZADD', P .. 'finished', now, id)
    end
  end
  redis.call('HSET', jobkey(id), 'state', to, 'updated_ms', now)
end
local function drop_entry(entry)
  if entry and entry ~= '' then
    redis.call('XACK', STREAM, GROUP, entry)
    redis.call('XDEL', STREAM, entry)
  end
end
local function dead_letter(id, code, message)
  redis.call('XADD', P .. 'dead', '*', 'id', id, 'code', code, 'message', message)
end
)lua";

const std::string kEnqueue = kPrelude + R"lua(
local id = ARGV[3]
local k = jobkey(id)
redis.call('HSET', k, 'id', id, 'kind', ARGV[4], 'state', 'queued', 'request', ARGV[5],
  'max_attempts', ARGV[6], 'attempts', 0, 'result_writes', 0, 'progress', 0,
  'progress_note', '', 'error_code', '', 'error_message', '', 'lease_token', '',
  'created_ms', now, 'updated_ms', now, 'finished_ms', 0)
redis.call('ZADD', P .. 'all', now, id)
redis.call('ZADD', P .. 'state:queued', now, id)
local entry = redis.call('XADD', STREAM, '*', 'id', id)
redis.call('HSET', k, 'entry', entry)
event(id, 0, 'queued')
return entry
)lua";

// Deletes the jobs that finished before a time, oldest first, with their history.
// ARGV: cutoff ms, limit. Returns how many were deleted.
const std::string kPurge = kPrelude + R"lua(
local ids = redis.call('ZRANGEBYSCORE', P .. 'finished', '-inf', '(' .. ARGV[3], 'LIMIT', 0,
  tonumber(ARGV[4]))
for _, id in ipairs(ids) do
  local state = redis.call('HGET', jobkey(id), 'state')
  if state then redis.call('ZREM', P .. 'state:' .. state, id) end
  redis.call('ZREM', P .. 'all', id)
  redis.call('ZREM', P .. 'finished', id)
  redis.call('DEL', jobkey(id), P .. 'events:' .. id)
end
return #ids
)lua";

// One claim, in one round trip: jobs whose retry backoff has passed get a stream entry again;
// then an entry idle for longer than the lease (its worker went silent) is taken over with
// XAUTOCLAIM, else a new one is read with XREADGROUP. A delivered entry becomes this worker's
// attempt unless it is stale (the job finished, was cancelled, or has a newer entry). A job taken
// over from a silent worker counts that attempt, and ends failed (and dead-lettered) when its
// attempts are used up.
// ARGV: consumer, lease ms, lease token, worker. Returns {id, kind, request, attempt} or false.
const std::string kClaim = kPrelude + R"lua(
local consumer, lease_ms, token, worker = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local due = redis.call('ZRANGEBYSCORE', P .. 'delayed', '-inf', now, 'LIMIT', 0, 100)
for _, id in ipairs(due) do
  redis.call('ZREM', P .. 'delayed', id)
  local h = redis.call('HMGET', jobkey(id), 'state', 'entry')
  if h[1] == 'queued' and (h[2] or '') == '' then
    redis.call('HSET', jobkey(id), 'entry', redis.call('XADD', STREAM, '*', 'id', id))
  end
end
local function job_of(entry)
  local fields = entry[2]
  if type(fields) ~= 'table' then return nil end
  for i = 1, #fields, 2 do
    if fields[i] == 'id' then return fields[i + 1] end
  end
  return nil
end
local function start(entry, id)
  if not id then
    drop_entry(entry)
    return false
  end
  local k = jobkey(id)
  local h = redis.call('HMGET', k, 'state', 'entry', 'attempts', 'max_attempts', 'created_ms',
    'kind', 'request')
  local state = h[1]
  if not state or h[2] ~= entry or (state ~= 'queued' and state ~= 'running') then
    drop_entry(entry)
    return false
  end
  local attempts, max_attempts, created = tonumber(h[3]), tonumber(h[4]), tonumber(h[5])
  if state == 'running' then
    if attempts >= max_attempts then
      local message = 'the worker running this job stopped during each of its ' .. attempts ..
        ' attempts'
      redis.call('HSET', k, 'error_code', 'internal', 'error_message', message,
        'lease_token', '', 'finished_ms', now, 'entry', '')
      set_state(id, 'running', 'failed', created)
      drop_entry(entry)
      dead_letter(id, 'internal', message)
      event(id, attempts, 'failed', message)
      return false
    end
    event(id, attempts, 'abandoned')
  end
  attempts = attempts + 1
  redis.call('HSET', k, 'attempts', attempts, 'lease_token', token, 'progress', 0,
    'progress_note', '')
  set_state(id, state, 'running', created)
  event(id, attempts, 'claimed', worker)
  return {id, h[6], h[7], attempts}
end
local cursor = '0-0'
for round = 1, 1000 do
  local r = redis.call('XAUTOCLAIM', STREAM, GROUP, consumer, lease_ms, cursor, 'COUNT', 1)
  for _, entry in ipairs(r[2]) do
    local c = start(entry[1], job_of(entry))
    if c then return c end
  end
  cursor = r[1]
  if cursor == '0-0' then break end
end
for round = 1, 1000 do
  local r = redis.call('XREADGROUP', 'GROUP', GROUP, consumer, 'COUNT', 1, 'STREAMS', STREAM, '>')
  if not r or not r[1][2][1] then return false end
  local entry = r[1][2][1]
  local c = start(entry[1], job_of(entry))
  if c then return c end
end
return false
)lua";

// ARGV: id, lease token, progress, note, consumer.
const std::string kHeartbeat = kPrelude + R"lua(
local k = jobkey(ARGV[3])
local h = redis.call('HMGET', k, 'state', 'lease_token', 'entry')
if not h[1] then return 'lost' end
if h[1] == 'cancelled' then return 'cancelled' end
if h[1] ~= 'running' or h[2] ~= ARGV[4] then return 'lost' end
if h[3] and h[3] ~= '' then redis.call('XCLAIM', STREAM, GROUP, ARGV[7], 0, h[3], 'JUSTID') end
redis.call('HSET', k, 'progress', ARGV[5], 'progress_note', ARGV[6], 'updated_ms', now)
return 'ok'
)lua";

// ARGV: id, lease token, attempt, result.
const std::string kComplete = kPrelude + R"lua(
local id = ARGV[3]
local k = jobkey(id)
local h = redis.call('HMGET', k, 'state', 'lease_token', 'attempts', 'result_writes', 'entry',
  'created_ms')
if h[1] == 'running' and h[2] == ARGV[4] and tonumber(h[3]) == tonumber(ARGV[5]) and
    tonumber(h[4]) == 0 then
  redis.call('HSET', k, 'result', ARGV[6], 'result_writes', 1, 'progress', 1, 'error_code', '',
    'error_message', '', 'lease_token', '', 'finished_ms', now, 'entry', '')
  set_state(id, 'running', 'done', tonumber(h[6]))
  drop_entry(h[5])
  event(id, ARGV[5], 'completed')
  return 1
end
if h[1] then event(id, ARGV[5], 'result_dropped') end
return 0
)lua";

// ARGV: id, lease token, attempt, code, message, retryable (1/0), backoff ms.
const std::string kFail = kPrelude + R"lua(
local id = ARGV[3]
local k = jobkey(id)
local h = redis.call('HMGET', k, 'state', 'lease_token', 'attempts', 'max_attempts', 'entry',
  'created_ms')
if h[1] ~= 'running' or h[2] ~= ARGV[4] then return 0 end
local attempts, max_attempts, created = tonumber(h[3]), tonumber(h[4]), tonumber(h[6])
drop_entry(h[5])
if ARGV[8] == '1' and attempts < max_attempts then
  local backoff = tonumber(ARGV[9]) * math.pow(2, math.min(attempts - 1, 16))
  local at = now + math.floor(math.min(backoff, 60000))
  redis.call('HSET', k, 'error_code', ARGV[6], 'error_message', ARGV[7], 'lease_token', '',
    'entry', '', 'not_before_ms', at)
  set_state(id, 'running', 'queued', created)
  redis.call('ZADD', P .. 'delayed', at, id)
  event(id, ARGV[5], 'retry', ARGV[7])
else
  redis.call('HSET', k, 'error_code', ARGV[6], 'error_message', ARGV[7], 'lease_token', '',
    'entry', '', 'finished_ms', now)
  set_state(id, 'running', 'failed', created)
  dead_letter(id, ARGV[6], ARGV[7])
  event(id, ARGV[5], 'failed', ARGV[7])
end
return 1
)lua";

// ARGV: id, lease token, attempt.
const std::string kRelease = kPrelude + R"lua(
local id = ARGV[3]
local k = jobkey(id)
local h = redis.call('HMGET', k, 'state', 'lease_token', 'attempts', 'entry', 'created_ms')
if h[1] ~= 'running' or h[2] ~= ARGV[4] then return 0 end
drop_entry(h[4])
redis.call('HSET', k, 'attempts', tonumber(h[3]) - 1, 'lease_token', '',
  'entry', redis.call('XADD', STREAM, '*', 'id', id))
set_state(id, 'running', 'queued', tonumber(h[5]))
event(id, ARGV[5], 'released')
return 1
)lua";

// ARGV: id. Returns -1 (unknown), 0 (already finished) or 1.
const std::string kCancel = kPrelude + R"lua(
local id = ARGV[3]
local k = jobkey(id)
local h = redis.call('HMGET', k, 'state', 'attempts', 'entry', 'created_ms')
if not h[1] then return -1 end
if h[1] ~= 'queued' and h[1] ~= 'running' then return 0 end
drop_entry(h[3])
redis.call('ZREM', P .. 'delayed', id)
redis.call('HSET', k, 'lease_token', '', 'entry', '', 'finished_ms', now)
set_state(id, h[1], 'cancelled', tonumber(h[4]))
event(id, h[2], 'cancelled')
return 1
)lua";

std::int64_t to_int(const std::string& s) {
  try {
    return s.empty() ? 0 : static_cast<std::int64_t>(std::stod(s));
  } catch (const std::exception&) {
    return 0;
  }
}

std::optional<JobRecord> record_from(const RedisReply& hash) {
  if (hash.type != RedisReply::array || hash.elements.empty()) return std::nullopt;
  JobRecord r;
  for (std::size_t i = 0; i + 1 < hash.elements.size(); i += 2) {
    const std::string& key = hash.elements[i].str;
    const std::string& v = hash.elements[i + 1].str;
    if (key == "id")
      r.id = v;
    else if (key == "kind")
      r.kind = v;
    else if (key == "state")
      r.state = parse_job_state(v).value_or(JobState::failed);
    else if (key == "request")
      r.request = v;
    else if (key == "result")
      r.result = v;
    else if (key == "result_writes")
      r.result_writes = static_cast<int>(to_int(v));
    else if (key == "error_code")
      r.error_code = v;
    else if (key == "error_message")
      r.error_message = v;
    else if (key == "progress")
      r.progress = v.empty() ? 0 : std::stod(v);
    else if (key == "progress_note")
      r.progress_note = v;
    else if (key == "attempts")
      r.attempts = static_cast<int>(to_int(v));
    else if (key == "max_attempts")
      r.max_attempts = static_cast<int>(to_int(v));
    else if (key == "created_ms")
      r.created_ms = to_int(v);
    else if (key == "updated_ms")
      r.updated_ms = to_int(v);
    else if (key == "finished_ms")
      r.finished_ms = to_int(v);
  }
  if (r.id.empty()) return std::nullopt;
  return r;
}

// The job id of a stream entry reply [entry-id, [field, value, ...]].
std::string entry_job(const RedisReply& entry) {
  if (entry.elements.size() < 2) return {};
  const auto& fields = entry.elements[1].elements;
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2)
    if (fields[i].str == "id") return fields[i + 1].str;
  return {};
}

}  // namespace

RedisJobQueue::RedisJobQueue(const std::string& url, JobQueueOptions options)
    : JobQueue(options),
      client_(std::make_unique<RedisClient>(parse_redis_url(url),
                                            std::max(1000, options.busy_timeout_ms))) {
  consumer_ = host_name() + "/" + std::to_string(::getpid());
  try {
    ensure_group();
  } catch (const Error& e) {
    throw Error(e.code(), "job queue " + client_->address().url() + ": " + e.what());
  }
}

RedisJobQueue::~RedisJobQueue() {
  // A process that holds no entry leaves the group (a dead one's entries are taken over).
  try {
    const std::string stream = prefix_ + "stream";
    auto held = client_->command({"XPENDING", stream, "workers", "-", "+", "1", consumer_});
    if (held.type == RedisReply::array && held.elements.empty())
      client_->command({"XGROUP", "DELCONSUMER", stream, "workers", consumer_});
  } catch (const std::exception&) {
  }
}

void RedisJobQueue::ensure_group() {
  auto r =
      client_->command({"XGROUP", "CREATE", prefix_ + "stream", "workers", "0", "MKSTREAM"}, true);
  if (r.type == RedisReply::error && r.str.rfind("BUSYGROUP", 0) != 0)
    throw Error(ErrorCode::server, "Redis at " + client_->address().url() + ": " + r.str);
}

RedisReply RedisJobQueue::script(const std::string& body, std::vector<std::string> args) {
  args.insert(args.begin(), {prefix_, std::to_string(now_ms())});
  return client_->eval(body, {}, args);
}

std::string RedisJobQueue::enqueue(std::string_view kind, std::string_view request) {
  std::string id = random_hex(12);
  script(kEnqueue,
         {id, std::string(kind), std::string(request), std::to_string(options_.max_attempts)});
  return id;
}

std::optional<JobClaim> RedisJobQueue::claim(std::string_view worker) {
  std::string token = std::string(worker) + "/" + random_hex(8);
  std::vector<std::string> args = {consumer_, std::to_string(options_.lease_ms), token,
                                   std::string(worker)};
  RedisReply r;
  try {
    r = script(kClaim, args);
  } catch (const Error& e) {
    // A Redis that lost its data (no persistence) has no consumer group: make it again.
    if (std::string(e.what()).find("NOGROUP") == std::string::npos) throw;
    ensure_group();
    r = script(kClaim, args);
  }
  if (r.type != RedisReply::array || r.elements.size() < 4) return std::nullopt;
  JobClaim c;
  c.id = r.elements[0].str;
  c.kind = r.elements[1].str;
  c.request = r.elements[2].str;
  c.attempt = static_cast<int>(r.elements[3].integer_value);
  c.lease_token = token;
  return c;
}

HeartbeatStatus RedisJobQueue::heartbeat(const JobClaim& claim, double progress,
                                         std::string_view note) {
  auto r = script(kHeartbeat,
                  {claim.id, claim.lease_token, std::to_string(std::clamp(progress, 0.0, 1.0)),
                   std::string(note), consumer_});
  if (r.str == "ok") return HeartbeatStatus::ok;
  if (r.str == "cancelled") return HeartbeatStatus::cancelled;
  return HeartbeatStatus::lost;
}

bool RedisJobQueue::complete(const JobClaim& claim, std::string_view result) {
  return script(kComplete,
                {claim.id, claim.lease_token, std::to_string(claim.attempt), std::string(result)})
             .integer_value == 1;
}

bool RedisJobQueue::fail(const JobClaim& claim, ErrorCode code, std::string_view message,
                         bool retryable) {
  return script(kFail, {claim.id, claim.lease_token, std::to_string(claim.attempt),
                        std::string(to_string(code)), std::string(message), retryable ? "1" : "0",
                        std::to_string(options_.retry_backoff_ms)})
             .integer_value == 1;
}

void RedisJobQueue::release(const JobClaim& claim) {
  script(kRelease, {claim.id, claim.lease_token, std::to_string(claim.attempt)});
}

bool RedisJobQueue::cancel(std::string_view id) {
  auto r = script(kCancel, {std::string(id)});
  if (r.integer_value < 0)
    throw Error(ErrorCode::not_found, "no job with id '" + std::string(id) + "'");
  return r.integer_value == 1;
}

std::optional<JobRecord> RedisJobQueue::get(std::string_view id) {
  return record_from(client_->command({"HGETALL", prefix_ + "job:" + std::string(id)}));
}

std::vector<JobRecord> RedisJobQueue::list(std::size_t limit, std::optional<JobState> state) {
  std::string key = state ? prefix_ + "state:" + std::string(to_string(*state)) : prefix_ + "all";
  if (limit == 0) return {};
  auto ids = client_->command({"ZREVRANGE", key, "0", std::to_string(limit - 1)});
  std::vector<std::vector<std::string>> commands;
  for (const auto& id : ids.elements) commands.push_back({"HGETALL", prefix_ + "job:" + id.str});
  std::vector<JobRecord> out;
  if (commands.empty()) return out;
  for (const auto& reply : client_->pipeline(commands))
    if (auto r = record_from(reply); r && (!state || r->state == *state))
      out.push_back(std::move(*r));
  return out;
}

std::size_t RedisJobQueue::pending() {
  auto r = client_->pipeline(
      {{"ZCARD", prefix_ + "state:queued"}, {"ZCARD", prefix_ + "state:running"}});
  return static_cast<std::size_t>(r[0].integer_value + r[1].integer_value);
}

std::vector<std::pair<int, std::string>> RedisJobQueue::events(std::string_view id) {
  auto r = client_->command({"LRANGE", prefix_ + "events:" + std::string(id), "0", "-1"});
  std::vector<std::pair<int, std::string>> out;
  for (const auto& e : r.elements) {
    auto tab = e.str.find('\t');
    auto tab2 = e.str.find('\t', tab + 1);
    if (tab == std::string::npos) continue;
    out.emplace_back(
        static_cast<int>(to_int(e.str.substr(0, tab))),
        e.str.substr(tab + 1, tab2 == std::string::npos ? std::string::npos : tab2 - tab - 1));
  }
  return out;
}

std::size_t RedisJobQueue::purge_finished(std::size_t limit) {
  if (options_.keep_finished_ms <= 0 || limit == 0) return 0;
  auto r =
      script(kPurge, {std::to_string(now_ms() - options_.keep_finished_ms), std::to_string(limit)});
  return static_cast<std::size_t>(std::max<long long>(0, r.integer_value));
}

std::vector<std::string> RedisJobQueue::dead_letters(std::size_t limit) {
  auto r = client_->command({"XRANGE", prefix_ + "dead", "-", "+", "COUNT",
                             std::to_string(std::max<std::size_t>(1, limit))});
  std::vector<std::string> out;
  for (const auto& entry : r.elements) out.push_back(entry_job(entry));
  return out;
}

}  // namespace glyph::serve
