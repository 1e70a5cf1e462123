#include "read/endpoint_pool.h"

#include <curl/curl.h>

#include <algorithm>

#include "core/error.h"

namespace glyph {
namespace {

// GET {url}/v1/models within timeout_ms: "" when it answered 200, else why not.
std::string check_models(const std::string& url, const std::string& api_key, int timeout_ms) {
  CURL* easy = curl_easy_init();
  if (!easy) return "libcurl could not create a handle";
  std::string target = url + "/v1/models";
  std::string body;
  char error[CURL_ERROR_SIZE] = {};
  curl_slist* headers = nullptr;
  if (!api_key.empty())
    headers = curl_slist_append(headers, ("Authorization: Bearer " + api_key).c_str());
  curl_easy_setopt(easy, CURLOPT_URL, target.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(
      easy, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* out) {
        auto* s = static_cast<std::string*>(out);
        if (s->size() < 65536) s->append(data, size * n);
        return size * n;
      });
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
  CURLcode rc = curl_easy_perform(easy);
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(easy);
  if (rc != CURLE_OK)
    return target + ": " + (error[0] ? std::string(error) : curl_easy_strerror(rc));
  if (status != 200) return target + " answered HTTP " + std::to_string(status);
  return {};
}

}  // namespace

std::string normalize_endpoint_url(const std::string& url) {
  std::string u = url;
  while (!u.empty() && u.back() == '/') u.pop_back();
  if (u.size() >= 3 && u.compare(u.size() - 3, 3, "/v1") == 0) u.resize(u.size() - 3);
  auto scheme = u.find("://");
  std::string name = scheme == std::string::npos ? "" : u.substr(0, scheme);
  if ((name != "http" && name != "https") || u.size() <= scheme + 3)
    throw Error(ErrorCode::invalid_argument,
                "--url \"" + url + "\": expected http://HOST:PORT or https://HOST:PORT");
  return u;
}

EndpointPool::EndpointPool(EndpointPoolOptions options) : options_(std::move(options)) {
  if (options_.urls.empty())
    throw Error(ErrorCode::invalid_argument, "an endpoint pool needs at least one --url");
  for (const auto& url : options_.urls) {
    Endpoint e;
    e.status.url = normalize_endpoint_url(url);
    for (const auto& other : endpoints_)
      if (other.status.url == e.status.url)
        throw Error(ErrorCode::invalid_argument, "--url " + url + " is given twice");
    endpoints_.push_back(e);
  }
  options_.max_in_flight = std::max(1, options_.max_in_flight);
  health_ = std::thread([this] { health_loop(); });
}

EndpointPool::~EndpointPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  health_.join();
}

void EndpointPool::check_all() {
  std::vector<std::string> urls;
  {
    std::lock_guard lock(mutex_);
    for (const auto& e : endpoints_) urls.push_back(e.status.url);
  }
  for (std::size_t i = 0; i < urls.size(); ++i) {
    std::string problem = check_models(urls[i], options_.api_key, options_.health_timeout_ms);
    std::lock_guard lock(mutex_);
    auto& e = endpoints_[i];
    if (problem.empty()) {
      e.status.up = true;
    } else {
      if (e.status.up) e.down_since = std::chrono::steady_clock::now();
      e.status.up = false;
      ++e.status.failures;
      e.status.last_error = problem;
    }
  }
  changed_.notify_all();
}

void EndpointPool::health_loop() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      changed_.wait_for(lock, std::chrono::milliseconds(options_.health_interval_ms),
                        [this] { return stopping_; });
      if (stopping_) return;
    }
    check_all();
  }
}

EndpointPool::Lease EndpointPool::acquire(const std::set<std::string>& exclude,
                                          const std::function<bool()>& cancelled) {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (cancelled && cancelled()) throw Error(ErrorCode::cancelled, "the read was cancelled");
    // The best candidate among up endpoints not excluded; else up ones; else any.
    auto pick = [&](bool need_up, bool honour_exclude) -> std::ptrdiff_t {
      std::ptrdiff_t best = -1;
      bool any = false;
      for (std::size_t i = 0; i < endpoints_.size(); ++i) {
        const auto& e = endpoints_[i];
        if (need_up && !e.status.up) continue;
        if (honour_exclude && exclude.count(e.status.url)) continue;
        any = true;
        if (e.status.in_flight >= options_.max_in_flight) continue;
        if (best < 0) {
          best = static_cast<std::ptrdiff_t>(i);
          continue;
        }
        const auto& b = endpoints_[static_cast<std::size_t>(best)];
        bool better =
            need_up ? (e.status.in_flight < b.status.in_flight ||
                       (e.status.in_flight == b.status.in_flight && e.last_used < b.last_used))
                    : e.down_since < b.down_since;
        if (better) best = static_cast<std::ptrdiff_t>(i);
      }
      // -2: there are candidates, all busy (wait); -1: none.
      return best >= 0 ? best : (any ? -2 : -1);
    };
    std::ptrdiff_t chosen = pick(true, true);
    if (chosen == -1) chosen = pick(true, false);
    if (chosen == -1) chosen = pick(false, true);
    if (chosen == -1) chosen = pick(false, false);
    if (chosen >= 0) {
      auto& e = endpoints_[static_cast<std::size_t>(chosen)];
      ++e.status.in_flight;
      e.last_used = std::chrono::steady_clock::now();
      return Lease(this, static_cast<std::size_t>(chosen), e.status.url);
    }
    changed_.wait_for(lock, std::chrono::milliseconds(50));
  }
}

void EndpointPool::release(std::size_t index) {
  {
    std::lock_guard lock(mutex_);
    --endpoints_[index].status.in_flight;
  }
  changed_.notify_all();
}

std::vector<EndpointStatus> EndpointPool::status() const {
  std::lock_guard lock(mutex_);
  std::vector<EndpointStatus> out;
  for (const auto& e : endpoints_) out.push_back(e.status);
  return out;
}

EndpointPool::Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_), index_(other.index_), url_(std::move(other.url_)) {
  other.pool_ = nullptr;
}

EndpointPool::Lease::~Lease() {
  if (pool_) pool_->release(index_);
}

void EndpointPool::Lease::succeeded() {
  std::lock_guard lock(pool_->mutex_);
  ++pool_->endpoints_[index_].status.served;
}

void EndpointPool::Lease::failed(const std::string& message) {
  std::lock_guard lock(pool_->mutex_);
  auto& e = pool_->endpoints_[index_];
  if (e.status.up) e.down_since = std::chrono::steady_clock::now();
  e.status.up = false;
  ++e.status.failures;
  e.status.last_error = message;
}

}  // namespace glyph
