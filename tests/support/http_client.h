// A minimal HTTP/1.1 client over raw sockets for the service tests: whole requests, hand-made
// malformed ones, and slow senders. Not a general client (no TLS, no redirects).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace glyph::test {

struct HttpReply {
  int status = 0;  // 0 when the connection closed before a status line
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // de-chunked
  std::string header(const std::string& name) const;
};

// Sends `raw` (a complete request as bytes) and reads the reply until the server closes or the
// reply is complete. Waits at most timeout_ms overall.
HttpReply send_raw(int port, const std::string& raw, int timeout_ms = 10000);

// A well-formed request with Content-Length; extra headers as "Name: value" lines.
HttpReply http_request(int port, const std::string& method, const std::string& path,
                       const std::string& body = {}, const std::vector<std::string>& headers = {},
                       int timeout_ms = 30000);

// A multipart/form-data body with one file part and text fields; returns {content_type, body}.
std::pair<std::string, std::string> multipart_body(
    const std::vector<std::pair<std::string, std::string>>& fields, const std::string& file_field,
    const std::string& filename, const std::string& file_content);

// The events of a text/event-stream body as the service writes them: blocks split at blank
// lines, each "event: NAME" then "data: PAYLOAD".
struct SseEvent {
  std::string event;
  std::string data;
};
std::vector<SseEvent> sse_events(const std::string& body);

// Connects and returns the socket (caller closes), or -1.
int connect_local(int port);

// Resident memory of a process in KiB (from /proc), for "memory stays flat" checks.
long resident_kib(int pid);

}  // namespace glyph::test
