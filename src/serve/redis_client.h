// RedisClient: one connection to a Redis server (hiredis, RESP2), shared by threads behind a
// mutex, that reconnects by itself.
//
// The address is a URL: redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] (port 6379 and database 0
// by default). A command that cannot reach the server (refused, reset, timed out) throws
// HttpStatusError(503, network) naming the address, so that a route answers 503 with
// Retry-After while Redis is away; the next command connects again. A Redis error reply is an
// Error(server) (or reaches the caller as a Reply of type error, with `allow_error`).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct redisContext;

namespace glyph::serve {

struct RedisAddress {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string user, password;
  std::string url() const;  // without the password
};

// Parses redis://... Throws Error(invalid_argument) saying what is wrong.
RedisAddress parse_redis_url(std::string_view url);
bool is_redis_url(std::string_view where);

struct RedisReply {
  enum Type { nil, string, integer, array, status, error } type = nil;
  std::string str;  // string, status, error
  long long integer_value = 0;
  std::vector<RedisReply> elements;

  bool is_nil() const { return type == nil; }
};

class RedisClient {
 public:
  explicit RedisClient(RedisAddress address, int timeout_ms = 5000);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Sends one command and returns its reply.
  RedisReply command(const std::vector<std::string>& args, bool allow_error = false);
  // Sends the commands in one round trip (a pipeline) and returns their replies in order.
  std::vector<RedisReply> pipeline(const std::vector<std::vector<std::string>>& commands,
                                   bool allow_error = false);
  // EVALSHA of a script (loaded again after a NOSCRIPT, e.g. when the server restarted).
  RedisReply eval(const std::string& script, const std::vector<std::string>& keys,
                  const std::vector<std::string>& args);

  // Whether the server answers PING now.
  bool ping();
  const RedisAddress& address() const { return address_; }

 private:
  void connect();                                           // mutex_ held
  [[noreturn]] void connection_failed(const std::string&);  // mutex_ held
  std::vector<RedisReply> run(const std::vector<std::vector<std::string>>& commands,
                              bool allow_error);  // mutex_ held
  RedisReply eval_locked(const std::string& script, const std::vector<std::string>& keys,
                         const std::vector<std::string>& args);  // mutex_ held
  template <typename F>
  auto with_connection(F&& body);  // mutex_ held

  RedisAddress address_;
  int timeout_ms_;
  std::mutex mutex_;
  redisContext* context_ = nullptr;
  std::chrono::steady_clock::time_point last_used_;
  std::unordered_map<std::string, std::string> shas_;  // script → its SHA-1 on the server
};

}  // namespace glyph::serve
