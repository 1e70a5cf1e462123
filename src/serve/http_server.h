// HttpServer: the service's HTTP/1.1 layer, on its own epoll event loop (no HTTP library).
//
// Why not cpp-httplib (which served before): it gives every connection a thread from a fixed
// pool for its whole life and reads a request line up to its newline, however long; a handful of
// clients sending header bytes slowly stopped the service, a 300 MB request line was held in
// memory, and a handler could not learn that its client had gone. Here one thread runs an epoll
// loop that reads every request head and body without blocking, enforcing each limit as bytes
// arrive; only a complete request reaches a handler thread, which owns the connection until the
// response is written, while the loop watches the socket and raises the request's cancel flag
// when the client hangs up.
//
// Contract:
// - Handlers receive a fully parsed HttpRequest (body or multipart parts already read, with the
//   limits below enforced while reading) and return an HttpResponse. A handler may throw: a
//   glyph::Error becomes the one JSON error shape {"error":{"code","message"}} with a status
//   mapped from its code (HttpStatusError picks the status and a Retry-After); any other
//   exception becomes code "internal" (500). Nothing escapes. Error messages are made valid UTF-8.
// - Limits, each checked as bytes arrive: a request line over max_request_line bytes → 414 and a
//   head over max_head_bytes or max_headers headers → 431, without reading further; the whole head
//   must arrive within head_timeout_ms of its first byte (or of the connection) → 408; a body over
//   max_body_bytes → 413 (also chunked or compressed bodies; a larger Content-Length is refused
//   before the body is read, and before it is sent with "Expect: 100-continue"); more than
//   max_parts multipart parts or a malformed multipart body → 400; a body slower than
//   request_timeout_ms in total, or silent for read_timeout_ms → 408. An idle keep-alive
//   connection closes after idle_timeout_ms.
// - At most max_in_flight requests are handled at once and at most max_buffered_body_bytes of
//   bodies are held; past either the answer is 503 with Retry-After. Past max_connections open
//   connections a new one gets 503 and is closed.
// - With an API key, every request except the exempt paths must carry it ("Authorization: Bearer
//   KEY", "X-API-Key: KEY" or the page's cookie), checked when the head is complete, before any
//   body is read; the comparison takes constant time.
// - Responses of text types over 1 KiB are compressed (brotli, else gzip) when the client accepts
//   it, at fast levels; GET answers honour one byte range (206, or 416 with the error shape).
// - stop() cancels the requests in flight (their cancel flags), waits for their handlers up to
//   drain_timeout_ms, and listen() returns.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"

namespace glyph::serve {

struct HttpLimits {
  std::size_t max_body_bytes = 50u * 1024 * 1024;
  std::size_t max_headers = 64;
  std::size_t max_parts = 16;
  std::size_t max_request_line = 8192;
  std::size_t max_head_bytes = 64 * 1024;
  std::size_t max_connections = 1024;
  std::size_t max_in_flight = 64;
  std::size_t max_buffered_body_bytes = 256u * 1024 * 1024;
  int head_timeout_ms = 5000;
  int read_timeout_ms = 10000;
  int write_timeout_ms = 10000;
  int idle_timeout_ms = 5000;
  int request_timeout_ms = 120000;
  int drain_timeout_ms = 3000;
};

// One part of a multipart/form-data body. `filename` is what the client claimed, never a path.
struct UploadPart {
  std::string name;
  std::string filename;
  std::string content_type;
  std::string content;
};

struct HttpRequest {
  std::string method;
  std::string path;
  std::vector<std::string> captures;  // the pattern's capture groups, in order
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type;
  std::string body;               // when not multipart
  std::vector<UploadPart> parts;  // when multipart/form-data
  // Raised when the client closed the connection (or the server is stopping): stop the work.
  std::shared_ptr<const std::atomic<bool>> cancelled;

  bool client_gone() const { return cancelled && cancelled->load(); }

  // The first value of a header (case-insensitive name) or query parameter, or "".
  std::string header(std::string_view name) const;
  std::string query_value(std::string_view name) const;
  const UploadPart* part(std::string_view name) const;
};

// Writes one chunk of a streamed response; returns false once the client has gone away.
using StreamWriter = std::function<bool(std::string_view chunk)>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the body is streamed (chunked): the function runs on the connection's thread and
  // writes chunks until it returns. It must not throw (errors go into the stream itself).
  std::function<void(const StreamWriter&)> stream;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// An error with its own HTTP status (429, 503, ...) and, when retry_after_s > 0, a Retry-After.
class HttpStatusError : public Error {
 public:
  HttpStatusError(int status, ErrorCode code, const std::string& message, int retry_after_s = 0)
      : Error(code, message), status_(status), retry_after_s_(retry_after_s) {}
  int status() const { return status_; }
  int retry_after_s() const { return retry_after_s_; }

 private:
  int status_;
  int retry_after_s_;
};

// The JSON error body {"error":{"code":"...","message":"..."}} (ill-formed UTF-8 in the message
// becomes U+FFFD) and the HTTP status for a code.
std::string error_body(std::string_view code, std::string_view message);
int http_status_for(ErrorCode code);
HttpResponse error_response(int status, std::string_view code, std::string_view message);

class HttpServer {
 public:
  // `threads` is accepted for compatibility and bounds max_in_flight when smaller (0: no bound).
  HttpServer(HttpLimits limits, int threads = 0);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes: `pattern` is a regular expression matched against the whole path; its groups land
  // in HttpRequest::captures. Register before listen().
  void route(const std::string& method, const std::string& pattern, HttpHandler handler);

  // Requires `key` on every path except those listed (exact matches). Empty key: no check.
  void require_api_key(std::string key, std::vector<std::string> exempt_paths);

  // Binds host:port (port 0 picks a free one) and returns the bound port. Throws Error(io).
  int bind(const std::string& host, int port);
  // Serves until stop() is called (from any thread). Call after bind().
  void listen();
  void stop();
  // Requests being handled now (for tests and stats).
  std::size_t in_flight() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// True when a and b are equal, in time that depends only on their lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace glyph::serve
