#include "serve/redis_client.h"

#include <hiredis/hiredis.h>

#include <charconv>
#include <chrono>

#include "core/error.h"
#include "serve/http_server.h"

namespace glyph::serve {
namespace {

RedisReply convert(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::integer;
      out.integer_value = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::array;
      for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default: out.type = RedisReply::nil;
  }
  return out;
}

timeval to_timeval(int ms) {
  return timeval{ms / 1000, (ms % 1000) * 1000};
}

}  // namespace

bool is_redis_url(std::string_view where) {
  return where.rfind("redis://", 0) == 0;
}

std::string RedisAddress::url() const {
  return "redis://" + host + ":" + std::to_string(port) + "/" + std::to_string(db);
}

RedisAddress parse_redis_url(std::string_view url) {
  auto bad = [&](const std::string& why) {
    throw Error(ErrorCode::invalid_argument,
                "--queue " + std::string(url) + ": " + why +
                    " (expected redis://[[USER]:PASSWORD@]HOST[:PORT][/DB])");
  };
  if (!is_redis_url(url)) bad("not a redis:// URL");
  RedisAddress a;
  std::string_view rest = url.substr(8);
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    auto credentials = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = credentials.find(':');
    if (colon == std::string_view::npos) {
      a.password = std::string(credentials);
    } else {
      a.user = std::string(credentials.substr(0, colon));
      a.password = std::string(credentials.substr(colon + 1));
    }
  }
  std::string_view hostport = rest, db;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    db = rest.substr(slash + 1);
  }
  auto number = [&](std::string_view s, const char* what, int max) {
    int v = -1;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || v < 0 || v > max)
      bad(std::string(what) + " \"" + std::string(s) + "\" is not a number from 0 to " +
          std::to_string(max));
    return v;
  };
  if (!db.empty()) a.db = number(db, "the database", 1000000);
  if (auto colon = hostport.rfind(':');
      colon != std::string_view::npos && hostport.find(']') == std::string_view::npos) {
    a.port = number(hostport.substr(colon + 1), "the port", 65535);
    hostport = hostport.substr(0, colon);
  }
  if (hostport.empty()) bad("no host");
  a.host = std::string(hostport);
  return a;
}

RedisClient::RedisClient(RedisAddress address, int timeout_ms)
    : address_(std::move(address)), timeout_ms_(timeout_ms) {}

RedisClient::~RedisClient() {
  if (context_) redisFree(context_);
}

void RedisClient::connection_failed(const std::string& why) {
  if (context_) redisFree(context_);
  context_ = nullptr;
  throw HttpStatusError(503, ErrorCode::network,
                        "the job queue's Redis at " + address_.host + ":" +
                            std::to_string(address_.port) + " is unreachable (" + why +
                            "); try again shortly",
                        2);
}

void RedisClient::connect() {
  // A connection unused for a while may have been closed by a server that restarted since:
  // checked with a PING first, so that the command itself goes out on a live connection.
  auto now = std::chrono::steady_clock::now();
  if (context_ && now - last_used_ > std::chrono::seconds(1)) {
    auto* reply = static_cast<redisReply*>(redisCommand(context_, "PING"));
    bool alive = reply && reply->type == REDIS_REPLY_STATUS;
    if (reply) freeReplyObject(reply);
    if (!alive) {
      redisFree(context_);
      context_ = nullptr;
    }
  }
  last_used_ = now;
  if (context_) return;
  context_ = redisConnectWithTimeout(address_.host.c_str(), address_.port, to_timeval(1000));
  if (!context_) connection_failed("out of memory");
  if (context_->err) connection_failed(context_->errstr);
  redisSetTimeout(context_, to_timeval(timeout_ms_));
  std::vector<std::vector<std::string>> setup;
  if (!address_.password.empty()) {
    if (address_.user.empty())
      setup.push_back({"AUTH", address_.password});
    else
      setup.push_back({"AUTH", address_.user, address_.password});
  }
  if (address_.db != 0) setup.push_back({"SELECT", std::to_string(address_.db)});
  if (!setup.empty()) {
    auto replies = run(setup, true);
    for (const auto& r : replies)
      if (r.type == RedisReply::error) {
        redisFree(context_);
        context_ = nullptr;
        throw Error(ErrorCode::invalid_argument,
                    "Redis at " + address_.url() + " refused the connection's setup: " + r.str);
      }
  }
}

std::vector<RedisReply> RedisClient::run(const std::vector<std::vector<std::string>>& commands,
                                         bool allow_error) {
  for (const auto& args : commands) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lens.data()) !=
        REDIS_OK)
      connection_failed(context_->errstr);
  }
  std::vector<RedisReply> out;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || !raw)
      connection_failed(context_->err ? context_->errstr : "no reply");
    auto* reply = static_cast<redisReply*>(raw);
    out.push_back(convert(reply));
    freeReplyObject(reply);
  }
  if (!allow_error)
    for (const auto& r : out)
      if (r.type == RedisReply::error)
        throw Error(ErrorCode::server, "Redis at " + address_.url() + ": " + r.str);
  return out;
}

RedisReply RedisClient::command(const std::vector<std::string>& args, bool allow_error) {
  return std::move(pipeline({args}, allow_error).front());
}

template <typename F>
auto RedisClient::with_connection(F&& body) {
  // A connection kept from before may have been closed by a server that restarted since: the
  // failure comes on its first use, and the commands go again once on a new connection. (Only
  // a server that ran them and died before answering could see them twice; the queue's scripts
  // check the job's state and lease, so a repeat changes nothing but an enqueue.)
  bool reused = context_ != nullptr;
  connect();
  try {
    return body();
  } catch (const HttpStatusError&) {
    if (!reused) throw;
    connect();
    return body();
  }
}

std::vector<RedisReply> RedisClient::pipeline(const std::vector<std::vector<std::string>>& commands,
                                              bool allow_error) {
  std::lock_guard lock(mutex_);
  return with_connection([&] { return run(commands, allow_error); });
}

RedisReply RedisClient::eval(const std::string& script, const std::vector<std::string>& keys,
                             const std::vector<std::string>& args) {
  std::lock_guard lock(mutex_);
  return with_connection([&] { return eval_locked(script, keys, args); });
}

RedisReply RedisClient::eval_locked(const std::string& script, const std::vector<std::string>& keys,
                                    const std::vector<std::string>& args) {
  auto call = [&](const std::string& sha) {
    std::vector<std::string> cmd = {"EVALSHA", sha, std::to_string(keys.size())};
    cmd.insert(cmd.end(), keys.begin(), keys.end());
    cmd.insert(cmd.end(), args.begin(), args.end());
    return std::move(run({cmd}, true).front());
  };
  auto load = [&] {
    auto sha = run({{"SCRIPT", "LOAD", script}}, false).front().str;
    shas_[script] = sha;
    return sha;
  };
  auto it = shas_.find(script);
  RedisReply reply = call(it != shas_.end() ? it->second : load());
  // A restarted server has forgotten its scripts.
  if (reply.type == RedisReply::error && reply.str.rfind("NOSCRIPT", 0) == 0) reply = call(load());
  if (reply.type == RedisReply::error)
    throw Error(ErrorCode::server, "Redis at " + address_.url() + ": " + reply.str);
  return reply;
}

bool RedisClient::ping() {
  try {
    return command({"PING"}).str == "PONG";
  } catch (const Error&) {
    return false;
  }
}

}  // namespace glyph::serve
