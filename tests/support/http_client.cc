#include "support/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace glyph::test {
namespace {

std::string lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// Parses what was read so far; returns true when the reply is complete.
bool parse_reply(const std::string& in, HttpReply& out, bool closed) {
  auto head_end = in.find("\r\n\r\n");
  if (head_end == std::string::npos) return false;
  out = HttpReply{};
  std::istringstream head(in.substr(0, head_end));
  std::string line;
  std::getline(head, line);
  if (line.size() >= 12) out.status = std::atoi(line.c_str() + 9);
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    auto value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    out.headers.emplace_back(lower(line.substr(0, colon)), value);
  }
  std::string rest = in.substr(head_end + 4);
  if (lower(out.header("transfer-encoding")) == "chunked") {
    std::size_t pos = 0;
    std::string body;
    for (;;) {
      auto eol = rest.find("\r\n", pos);
      if (eol == std::string::npos) return closed;
      std::size_t len = std::strtoul(rest.substr(pos, eol - pos).c_str(), nullptr, 16);
      if (len == 0) {
        out.body = body;
        return true;
      }
      if (rest.size() < eol + 2 + len + 2) {
        out.body = body;
        return closed;
      }
      body.append(rest, eol + 2, len);
      pos = eol + 2 + len + 2;
    }
  }
  auto length = out.header("content-length");
  if (!length.empty()) {
    std::size_t n = std::strtoul(length.c_str(), nullptr, 10);
    out.body = rest.substr(0, n);
    return rest.size() >= n;
  }
  out.body = rest;
  return closed;
}

}  // namespace

std::string HttpReply::header(const std::string& name) const {
  auto key = lower(name);
  for (const auto& [k, v] : headers)
    if (k == key) return v;
  return {};
}

int connect_local(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

HttpReply send_raw(int port, const std::string& raw, int timeout_ms) {
  HttpReply reply;
  int fd = connect_local(port);
  if (fd < 0) return reply;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  // Send in pieces while reading, so that a server answering early (413) is heard.
  std::size_t sent = 0;
  std::string in;
  bool closed = false;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, static_cast<short>(POLLIN | (sent < raw.size() ? POLLOUT : 0)), 0};
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count());
    if (::poll(&p, 1, std::max(1, left)) <= 0) continue;
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[65536];
      ssize_t r = ::recv(fd, buf, sizeof buf, 0);
      if (r <= 0) {
        closed = true;
        break;
      }
      in.append(buf, static_cast<std::size_t>(r));
      if (parse_reply(in, reply, false)) break;
    } else if (p.revents & POLLOUT) {
      std::size_t n = std::min<std::size_t>(65536, raw.size() - sent);
      ssize_t w = ::send(fd, raw.data() + sent, n, MSG_NOSIGNAL);
      if (w <= 0) {
        sent = raw.size();  // the server stopped reading; keep listening for its reply
      } else {
        sent += static_cast<std::size_t>(w);
      }
    }
  }
  parse_reply(in, reply, closed || true);
  ::close(fd);
  return reply;
}

HttpReply http_request(int port, const std::string& method, const std::string& path,
                       const std::string& body, const std::vector<std::string>& headers,
                       int timeout_ms) {
  std::string raw = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  bool has_type = false;
  for (const auto& h : headers) {
    raw += h + "\r\n";
    if (lower(h).rfind("content-type:", 0) == 0) has_type = true;
  }
  if (!body.empty() && !has_type) raw += "Content-Type: application/json\r\n";
  if (!body.empty() || method == "POST")
    raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  raw += "\r\n" + body;
  return send_raw(port, raw, timeout_ms);
}

std::pair<std::string, std::string> multipart_body(
    const std::vector<std::pair<std::string, std::string>>& fields, const std::string& file_field,
    const std::string& filename, const std::string& file_content) {
  std::string boundary = "----glyphtestboundary7MA4YWxkTrZu0gW";
  std::string body;
  for (const auto& [name, value] : fields) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" +
            value + "\r\n";
  }
  if (!file_field.empty()) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + file_field +
            "\"; filename=\"" + filename + "\"\r\nContent-Type: application/octet-stream\r\n\r\n" +
            file_content + "\r\n";
  }
  body += "--" + boundary + "--\r\n";
  return {"multipart/form-data; boundary=" + boundary, body};
}

long resident_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

std::vector<SseEvent> sse_events(const std::string& body) {
  std::vector<SseEvent> events;
  for (std::size_t pos = 0, end; (end = body.find("\n\n", pos)) != std::string::npos;
       pos = end + 2) {
    const std::string block = body.substr(pos, end - pos);
    const std::size_t nl = block.find('\n');
    events.push_back({block.substr(7, nl - 7), block.substr(nl + 7)});
  }
  return events;
}

}  // namespace glyph::test
