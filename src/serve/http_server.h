// HttpServer: the service's HTTP layer, a small wrapper over cpp-httplib (which no other file
// includes).
//
// Contract:
// - Handlers receive a fully parsed HttpRequest (body or multipart parts already read, with the
//   limits below enforced while reading) and return an HttpResponse. A handler may throw: a
//   glyph::Error becomes the one JSON error shape {"error":{"code","message"}} with a status
//   mapped from its code; any other exception becomes code "internal" (500). Nothing escapes.
// - Limits: the body (or the sum of multipart parts) is counted while it is read and refused
//   with 413 past max_body_bytes, also for chunked or compressed bodies; requests announcing a
//   larger Content-Length are refused before the body is read (and before it is sent, when the
//   client asks with "Expect: 100-continue"); more than max_headers headers → 431; more than
//   max_parts multipart parts or a malformed multipart body → 400; a body slower than
//   request_timeout_ms → 408. Each socket read or write waits at most read/write timeouts and an
//   idle keep-alive connection closes after idle_timeout_ms.
// - With an API key, every request except the exempt paths must carry it ("Authorization: Bearer
//   KEY", "X-API-Key: KEY" or the page's cookie); the comparison takes constant time.
// Honest limits (cpp-httplib 0.11.4): a request line or a header line is buffered up to its
// newline (header lines are capped at 8 KiB, the request line is not), and a client that sends
// a header line every few seconds holds a connection thread until it stops; keep the service on
// 127.0.0.1 or behind a reverse proxy when it faces untrusted networks.
#pragma once

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
  int read_timeout_ms = 10000;
  int write_timeout_ms = 10000;
  int idle_timeout_ms = 5000;
  int request_timeout_ms = 120000;
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

// The JSON error body {"error":{"code":"...","message":"..."}} and the HTTP status for a code.
std::string error_body(std::string_view code, std::string_view message);
int http_status_for(ErrorCode code);
HttpResponse error_response(int status, std::string_view code, std::string_view message);

class HttpServer {
 public:
  HttpServer(HttpLimits limits, int threads);
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

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// True when a and b are equal, in time that depends only on their lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace glyph::serve
