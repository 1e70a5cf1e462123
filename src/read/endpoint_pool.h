// EndpointPool: several OpenAI-compatible VLM servers serving the same model, used as one.
//
// - Health: a thread asks every endpoint GET {url}/v1/models every health_interval_ms (timeout
//   health_timeout_ms); an endpoint that fails it, or whose request failed with a network error
//   or a timeout (report_failure), is down until a check passes again.
// - Balancing: acquire() hands out the up endpoint with the fewest requests in flight (ties go
//   to the one used least recently), never more than max_in_flight at once per endpoint; a
//   caller waits for a free slot. When every endpoint is down, the one that failed longest ago
//   is tried anyway (a check may simply not have come yet).
// - Failover is the caller's: on a network error or timeout it reports the failure and acquires
//   again, excluding the endpoints it has tried (serve/answer.cc).
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace glyph {

struct EndpointPoolOptions {
  std::vector<std::string> urls;  // base URLs, http(s)://host:port (a trailing /v1 is dropped)
  std::string api_key;            // sent to /v1/models as Authorization: Bearer
  int max_in_flight = 8;          // requests at once per endpoint
  int health_interval_ms = 5000;
  int health_timeout_ms = 2000;
};

struct EndpointStatus {
  std::string url;
  bool up = true;
  int in_flight = 0;
  long long served = 0;    // requests that ended well
  long long failures = 0;  // requests and checks that failed
  std::string last_error;
};

class EndpointPool {
 public:
  // Validates the URLs (http or https, a host) and starts the health checks. Throws
  // Error(invalid_argument) naming a bad URL.
  explicit EndpointPool(EndpointPoolOptions options);
  ~EndpointPool();
  EndpointPool(const EndpointPool&) = delete;
  EndpointPool& operator=(const EndpointPool&) = delete;

  // One request's hold on an endpoint; releases its slot when destroyed.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    const std::string& url() const { return url_; }
    void succeeded();                         // counts a request served
    void failed(const std::string& message);  // marks the endpoint down until a check passes

   private:
    friend class EndpointPool;
    Lease(EndpointPool* pool, std::size_t index, std::string url)
        : pool_(pool), index_(index), url_(std::move(url)) {}
    EndpointPool* pool_;
    std::size_t index_;
    std::string url_;
  };

  // The best endpoint for one request, avoiding those in `exclude` while another is available.
  // Waits for a free slot, polling `cancelled` (throws Error(cancelled) when it says so).
  Lease acquire(const std::set<std::string>& exclude = {},
                const std::function<bool()>& cancelled = {});

  std::size_t size() const { return endpoints_.size(); }
  std::vector<EndpointStatus> status() const;

  // Checks every endpoint now (the health thread does it every health_interval_ms).
  void check_all();

 private:
  struct Endpoint {
    EndpointStatus status;
    std::chrono::steady_clock::time_point last_used{}, down_since{};
  };
  void release(std::size_t index);
  void health_loop();

  EndpointPoolOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Endpoint> endpoints_;
  bool stopping_ = false;
  std::thread health_;
};

// Removes a trailing "/" and "/v1" from a server's URL. Throws Error(invalid_argument) when it
// is not http(s)://HOST...
std::string normalize_endpoint_url(const std::string& url);

}  // namespace glyph
