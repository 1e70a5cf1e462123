// The HTTP/1.1 server: one epoll loop reads request heads and bodies; handler threads run the
// routes and write the responses (see http_server.h for the contract).
#include "serve/http_server.h"

#include <arpa/inet.h>
#include <brotli/encode.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <regex>
#include <thread>
#include <unordered_map>

#include "core/utf8.h"

namespace glyph::serve {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Whether a comma-separated header value lists `token` (case-insensitive), not with q=0.
bool lists_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    auto comma = value.find(',');
    auto item = trim(value.substr(0, comma));
    auto semi = item.find(';');
    if (iequals(trim(item.substr(0, semi)), token)) {
      if (semi == std::string_view::npos) return true;
      auto params = item.substr(semi + 1);
      auto q = params.find("q=");
      return q == std::string_view::npos ||
             std::strtod(std::string(params.substr(q + 2)).c_str(), nullptr) > 0;
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

void append_json_string(std::string& out, std::string_view s) {
  // Ill-formed UTF-8 (client bytes in a message) becomes U+FFFD so the body stays valid JSON.
  std::string valid;
  if (!is_valid_utf8(s)) {
    valid = encode_utf8(decode_utf8(s).text);
    s = valid;
  }
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 202: return "Accepted";
    case 206: return "Partial Content";
    case 303: return "See Other";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

bool is_token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

// Writes all of `data` to a non-blocking socket, waiting at most timeout_ms for each stall and
// giving up at `deadline` (a client reading slowly must not hold a handler thread for ever).
bool write_all(int fd, std::string_view data, int timeout_ms,
               Clock::time_point deadline = Clock::time_point::max()) {
  while (!data.empty()) {
    if (Clock::now() > deadline) return false;
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      int r = ::poll(&p, 1, timeout_ms);
      if (r <= 0 || (p.revents & (POLLERR | POLLHUP | POLLNVAL))) return false;
      continue;
    }
    return false;
  }
  return true;
}

bool compressible(std::string_view content_type) {
  return content_type.rfind("application/json", 0) == 0 || content_type.rfind("text/", 0) == 0 ||
         content_type.find("javascript") != std::string_view::npos ||
         content_type.find("svg") != std::string_view::npos;
}

// Fast levels: compression must cost a small share of the request (an 8 MB answer at brotli's
// level 11 took 30 s). Measured figures in docs/serve.md ("The HTTP layer").
std::optional<std::string> brotli(std::string_view in) {
  int quality = in.size() > (2u << 20) ? 0 : in.size() > (1u << 20) ? 1 : 4;
  std::size_t size = BrotliEncoderMaxCompressedSize(in.size());
  if (size == 0) return std::nullopt;
  std::string out(size, '\0');
  if (!BrotliEncoderCompress(quality, 20, BROTLI_MODE_TEXT, in.size(),
                             reinterpret_cast<const uint8_t*>(in.data()), &size,
                             reinterpret_cast<uint8_t*>(out.data())))
    return std::nullopt;
  out.resize(size);
  return out;
}

std::optional<std::string> gzip(std::string_view in) {
  int level = in.size() > (1u << 20) ? 1 : 5;
  libdeflate_compressor* c = libdeflate_alloc_compressor(level);
  if (!c) return std::nullopt;
  std::string out(libdeflate_gzip_compress_bound(c, in.size()), '\0');
  std::size_t n = libdeflate_gzip_compress(c, in.data(), in.size(), out.data(), out.size());
  libdeflate_free_compressor(c);
  if (n == 0) return std::nullopt;
  out.resize(n);
  return out;
}

// Inflates a gzip or zlib body, refusing past `limit` bytes of output. nullopt: malformed.
std::optional<std::string> inflate_body(std::string_view in, std::size_t limit, bool& too_big) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 32) != Z_OK) return std::nullopt;
  std::string out;
  char buf[64 * 1024];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    out.append(buf, sizeof buf - z.avail_out);
    if (out.size() > limit) {
      too_big = true;
      break;
    }
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) break;  // truncated
  }
  inflateEnd(&z);
  if (too_big || rc != Z_STREAM_END) return std::nullopt;
  return out;
}

// A header parameter (name="value" or name=value) of a Content-Type or Content-Disposition.
std::optional<std::string> header_param(std::string_view value, std::string_view name) {
  auto semi = value.find(';');
  while (semi != std::string_view::npos) {
    value.remove_prefix(semi + 1);
    semi = value.find(';');
    auto item = trim(value.substr(0, semi));
    auto eq = item.find('=');
    if (eq == std::string_view::npos || !iequals(trim(item.substr(0, eq)), name)) continue;
    auto v = trim(item.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"') {
      // A quoted value may hold ';': take up to the closing quote from the original text.
      auto start = value.find('"', value.find(item) + eq) + 1;
      auto end = value.find('"', start);
      if (end == std::string_view::npos) return std::nullopt;
      return std::string(value.substr(start, end - start));
    }
    return std::string(v);
  }
  return std::nullopt;
}

enum class MultipartStatus { ok, malformed, too_many_parts };

MultipartStatus parse_multipart(std::string_view body, std::string_view content_type,
                                std::size_t max_parts, std::vector<UploadPart>& parts) {
  auto boundary = header_param(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 200) return MultipartStatus::malformed;
  std::string delim = "--" + *boundary;
  auto pos = body.find(delim);
  if (pos == std::string_view::npos) return MultipartStatus::malformed;
  pos += delim.size();
  std::string next = "\r\n" + delim;
  while (true) {
    if (body.substr(pos, 2) == "--") return MultipartStatus::ok;
    if (body.substr(pos, 2) != "\r\n") return MultipartStatus::malformed;
    pos += 2;
    auto head_end = body.find("\r\n\r\n", pos);
    if (head_end == std::string_view::npos) return MultipartStatus::malformed;
    if (parts.size() >= max_parts) return MultipartStatus::too_many_parts;
    UploadPart part;
    bool disposition = false;
    std::string_view head = body.substr(pos, head_end - pos);
    while (!head.empty()) {
      auto eol = head.find("\r\n");
      auto line = head.substr(0, eol);
      head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
      auto colon = line.find(':');
      if (colon == std::string_view::npos) return MultipartStatus::malformed;
      auto name = trim(line.substr(0, colon));
      auto value = trim(line.substr(colon + 1));
      if (iequals(name, "Content-Disposition")) {
        disposition = true;
        part.name = header_param(value, "name").value_or("");
        part.filename = header_param(value, "filename").value_or("");
      } else if (iequals(name, "Content-Type")) {
        part.content_type = std::string(value);
      }
    }
    if (!disposition) return MultipartStatus::malformed;
    pos = head_end + 4;
    auto end = body.find(next, pos);
    if (end == std::string_view::npos) return MultipartStatus::malformed;
    part.content = std::string(body.substr(pos, end - pos));
    parts.push_back(std::move(part));
    pos = end + next.size();
  }
}

// One byte range of a body of `size` bytes: "bytes=a-b", "bytes=a-" or "bytes=-n".
// nullopt: not a single range we serve (send the whole body); {size, size}: unsatisfiable.
std::optional<std::pair<std::size_t, std::size_t>> parse_range(std::string_view value,
                                                               std::size_t size) {
  if (value.rfind("bytes=", 0) != 0) return std::nullopt;
  value.remove_prefix(6);
  value = trim(value);
  if (value.find(',') != std::string_view::npos) return std::nullopt;
  auto dash = value.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto digits = [](std::string_view s) {
    return !s.empty() && s.size() < 19 &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  auto a = value.substr(0, dash), b = value.substr(dash + 1);
  std::size_t first, last;
  if (a.empty()) {
    if (!digits(b)) return std::nullopt;
    std::size_t n = std::stoull(std::string(b));
    if (n == 0 || size == 0) return std::make_pair(size, size);
    first = n >= size ? 0 : size - n;
    last = size - 1;
  } else {
    if (!digits(a) || (!b.empty() && !digits(b))) return std::nullopt;
    first = std::stoull(std::string(a));
    if (first >= size) return std::make_pair(size, size);
    last = b.empty() ? size - 1 : std::stoull(std::string(b));
    if (last < first) return std::nullopt;
    last = std::min(last, size - 1);
  }
  return std::make_pair(first, last + 1);
}

}  // namespace

std::string HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

std::string HttpRequest::query_value(std::string_view name) const {
  for (const auto& [k, v] : query)
    if (k == name) return v;
  return {};
}

const UploadPart* HttpRequest::part(std::string_view name) const {
  for (const auto& p : parts)
    if (p.name == name) return &p;
  return nullptr;
}

std::string error_body(std::string_view code, std::string_view message) {
  std::string out = "{\"error\":{\"code\":";
  append_json_string(out, code);
  out += ",\"message\":";
  append_json_string(out, message);
  out += "}}";
  return out;
}

int http_status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument:
    case ErrorCode::invalid_config:
    case ErrorCode::invalid_input: return 400;
    case ErrorCode::unsupported: return 415;
    case ErrorCode::limit_exceeded: return 413;
    case ErrorCode::not_found: return 404;
    case ErrorCode::network:
    case ErrorCode::server: return 502;
    case ErrorCode::timeout: return 504;
    case ErrorCode::cancelled: return 409;
    case ErrorCode::io:
    case ErrorCode::internal: return 500;
  }
  return 500;
}

HttpResponse error_response(int status, std::string_view code, std::string_view message) {
  HttpResponse r;
  r.status = status;
  r.body = error_body(code, message);
  return r;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Walk the longer length whatever the contents, so timing reveals only lengths.
  std::size_t n = a.size() > b.size() ? a.size() : b.size();
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

namespace {

struct Route {
  std::string method;
  std::regex pattern;
  HttpHandler handler;
};

enum class ConnState { head, body, handling, draining };

struct Connection {
  int fd = -1;
  ConnState state = ConnState::head;
  std::string in;                   // bytes read and not yet consumed
  Clock::time_point deadline;       // head: the whole head; body: the whole body; draining: close
  Clock::time_point idle_deadline;  // body: the next bytes
  bool head_started = false;
  int requests = 0;
  // The request being read or handled.
  HttpRequest request;
  const Route* route = nullptr;
  bool keep_alive = true;
  bool head_only = false;  // HEAD: the GET route, headers only
  bool chunked = false;
  std::size_t content_length = 0;
  std::size_t body_budget = 0;  // bytes of the shared body budget this request holds
  // chunked decoding
  enum class Chunk { size, data, data_end, trailer } chunk = Chunk::size;
  std::size_t chunk_left = 0;
  std::shared_ptr<std::atomic<bool>> cancelled;
};

}  // namespace

struct HttpServer::Impl {
  HttpLimits limits;
  std::vector<Route> routes;
  std::string api_key;
  std::vector<std::string> exempt_paths;
  static constexpr const char* kCookieName = "glyph_api_key";

  int listen_fd = -1;
  int epoll_fd = -1;
  int wake_fd = -1;
  std::atomic<bool> stopping{false};
  std::atomic<bool> running{false};
  std::unordered_map<int, std::unique_ptr<Connection>> connections;
  std::size_t buffered_body_bytes = 0;  // loop thread only

  // Handler threads: grow on demand up to max_in_flight, then reused.
  std::mutex mutex;
  std::condition_variable work_ready;
  std::condition_variable all_idle;
  std::deque<Connection*> tasks;
  std::vector<std::thread> threads;
  std::size_t idle_threads = 0;
  std::atomic<std::size_t> in_flight{0};
  bool threads_stop = false;
  std::vector<std::pair<Connection*, bool>> returned;  // handled: (connection, keep open)

  ~Impl() {
    {
      std::lock_guard lock(mutex);
      threads_stop = true;
    }
    work_ready.notify_all();
    for (auto& t : threads)
      if (t.joinable()) t.join();
    for (auto& [fd, c] : connections) ::close(fd);
    if (listen_fd >= 0) ::close(listen_fd);
    if (epoll_fd >= 0) ::close(epoll_fd);
    if (wake_fd >= 0) ::close(wake_fd);
  }

  void wake() const {
    if (wake_fd < 0) return;
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
  }

  bool authorized(const HttpRequest& req) const {
    if (api_key.empty()) return true;
    for (const auto& p : exempt_paths)
      if (req.path == p) return true;
    std::string presented;
    auto auth = req.header("Authorization");
    auto x_key = req.header("X-API-Key");
    if (auth.size() > 7 && iequals(std::string_view(auth).substr(0, 7), "bearer "))
      presented = auth.substr(7);
    else if (!x_key.empty())
      presented = x_key;
    else {
      auto cookies = req.header("Cookie");
      std::string_view c = cookies;
      std::string needle = std::string(kCookieName) + "=";
      auto pos = c.find(needle);
      if (pos != std::string_view::npos && (pos == 0 || c[pos - 1] == ' ' || c[pos - 1] == ';')) {
        auto rest = c.substr(pos + needle.size());
        presented = std::string(rest.substr(0, rest.find(';')));
      }
    }
    return constant_time_equal(presented, api_key);
  }

  // ---- the loop's side ----------------------------------------------------------------------

  void arm(Connection& c, std::uint32_t events, int op = EPOLL_CTL_MOD) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = c.fd;
    ::epoll_ctl(epoll_fd, op, c.fd, &ev);
  }

  void release_budget(Connection& c) {
    buffered_body_bytes -= std::min(buffered_body_bytes, c.body_budget);
    c.body_budget = 0;
  }

  void close_connection(int fd) {
    auto it = connections.find(fd);
    if (it == connections.end()) return;
    release_budget(*it->second);
    ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    connections.erase(it);
  }

  // Answers from the loop (an error before any handler ran), then closes after draining what
  // the client still sends, so that it reads the answer rather than a reset.
  void refuse(Connection& c, HttpResponse r) {
    std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " +
                      std::string(reason_phrase(r.status)) + "\r\nContent-Type: " + r.content_type +
                      "\r\nContent-Length: " + std::to_string(r.body.size()) +
                      "\r\nConnection: close\r\n";
    for (const auto& [k, v] : r.headers) out += k + ": " + v + "\r\n";
    out += "\r\n" + r.body;
    [[maybe_unused]] auto n = ::send(c.fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::shutdown(c.fd, SHUT_WR);
    release_budget(c);
    c.state = ConnState::draining;
    c.in.clear();
    c.in.shrink_to_fit();
    c.deadline = Clock::now() + milliseconds(2000);
    arm(c, EPOLLIN | EPOLLRDHUP);
  }

  void refuse(Connection& c, int status, std::string_view code, const std::string& message,
              std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto r = error_response(status, code, message);
    r.headers = std::move(headers);
    refuse(c, std::move(r));
  }

  void start_head(Connection& c) {
    c.state = ConnState::head;
    c.head_started = !c.in.empty();
    c.idle_deadline = Clock::now() + milliseconds(limits.read_timeout_ms);
    c.deadline =
        Clock::now() + milliseconds(c.head_started || c.requests == 0 ? limits.head_timeout_ms
                                                                      : limits.idle_timeout_ms);
    c.request = HttpRequest{};
    c.route = nullptr;
    c.chunked = false;
    c.content_length = 0;
    c.chunk = Connection::Chunk::size;
    c.chunk_left = 0;
    c.cancelled = std::make_shared<std::atomic<bool>>(false);
    arm(c, EPOLLIN | EPOLLRDHUP);
  }

  // Out of descriptors: the listening socket stays readable, so it leaves the loop for a while
  // rather than spin.
  Clock::time_point accept_paused_until{};

  void accept_all() {
    while (true) {
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, listen_fd, nullptr);
          accept_paused_until = Clock::now() + milliseconds(100);
        }
        return;  // EAGAIN: all taken
      }
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto c = std::make_unique<Connection>();
      c->fd = fd;
      Connection& ref = *c;
      connections.emplace(fd, std::move(c));
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.fd = fd;
      ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
      if (connections.size() > limits.max_connections) {
        refuse(ref, 503, "limit_exceeded", "too many open connections; try again shortly",
               {{"Retry-After", "1"}});
        continue;
      }
      start_head(ref);
    }
  }

  // Reads what the socket has. Returns false when the connection is closed (EOF or error).
  bool fill(Connection& c) {
    char buf[64 * 1024];
    while (true) {
      ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        if (c.state == ConnState::draining) continue;  // discarded
        c.in.append(buf, static_cast<std::size_t>(n));
        // Stop reading once a stage has enough to decide; the rest waits in the socket.
        if (c.state == ConnState::head && c.in.size() > limits.max_head_bytes) return true;
        if (c.state == ConnState::body && c.in.size() > (1u << 20)) return true;
        continue;
      }
      if (n == 0) return false;
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
  }

  void on_readable(Connection& c) {
    if (!fill(c)) return close_connection(c.fd);  // the client went away (or reset)
    advance(c);
  }

  // Moves a connection through its states with what it has read.
  void advance(Connection& c) {
    if (c.state == ConnState::head) {
      if (c.in.empty()) return;
      if (!c.head_started) {
        c.head_started = true;
        c.deadline = Clock::now() + milliseconds(limits.head_timeout_ms);
      }
      c.idle_deadline = Clock::now() + milliseconds(limits.read_timeout_ms);
      // Tolerate blank lines before a request (RFC 9112 2.2).
      while (c.in.size() >= 2 && c.in.compare(0, 2, "\r\n") == 0) c.in.erase(0, 2);
      auto line_end = c.in.find('\n');
      if ((line_end == std::string::npos && c.in.size() > limits.max_request_line) ||
          (line_end != std::string::npos && line_end > limits.max_request_line))
        return refuse(c, 414, "limit_exceeded",
                      "the request line is longer than " + std::to_string(limits.max_request_line) +
                          " bytes");
      auto end = c.in.find("\r\n\r\n");
      std::size_t skip = 4;
      if (end == std::string::npos) {
        end = c.in.find("\n\n");
        skip = 2;
      }
      if (end == std::string::npos || end > limits.max_head_bytes) {
        if (c.in.size() > limits.max_head_bytes)
          return refuse(c, 431, "limit_exceeded",
                        "the request head is larger than " + std::to_string(limits.max_head_bytes) +
                            " bytes");
        return;
      }
      std::string head = c.in.substr(0, end);
      c.in.erase(0, end + skip);
      if (!parse_head(c, head)) return;
    }
    if (c.state == ConnState::body) read_body(c);
  }

  // Parses the head; on success the connection moves to body (or straight to handling).
  bool parse_head(Connection& c, std::string_view head) {
    HttpRequest& req = c.request;
    auto eol = head.find('\n');
    std::string_view line = trim(head.substr(0, eol));
    head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 1);
    auto sp1 = line.find(' ');
    auto sp2 = line.rfind(' ');
    if (sp1 == std::string_view::npos || sp2 == sp1) {
      refuse(c, 400, "invalid_argument", "malformed request line");
      return false;
    }
    req.method = std::string(line.substr(0, sp1));
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view version = line.substr(sp2 + 1);
    if (version != "HTTP/1.1" && version != "HTTP/1.0") {
      refuse(c, 400, "invalid_argument", "unsupported HTTP version (HTTP/1.1 or HTTP/1.0)");
      return false;
    }
    if (req.method.empty() || !std::all_of(req.method.begin(), req.method.end(), is_token_char) ||
        target.empty() || target.front() != '/') {
      refuse(c, 400, "invalid_argument", "malformed request line");
      return false;
    }
    std::size_t header_count = 0;
    while (!head.empty()) {
      eol = head.find('\n');
      auto h = head.substr(0, eol);
      head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 1);
      if (!h.empty() && h.back() == '\r') h.remove_suffix(1);
      if (h.empty()) continue;
      auto colon = h.find(':');
      if (colon == std::string_view::npos || colon == 0 ||
          !std::all_of(h.begin(), h.begin() + static_cast<std::ptrdiff_t>(colon), is_token_char)) {
        refuse(c, 400, "invalid_argument", "malformed request header line");
        return false;
      }
      if (++header_count > limits.max_headers) {
        refuse(c, 431, "limit_exceeded",
               "too many request headers (limit " + std::to_string(limits.max_headers) + ")");
        return false;
      }
      req.headers.emplace_back(std::string(h.substr(0, colon)),
                               std::string(trim(h.substr(colon + 1))));
    }
    auto q = target.find('?');
    req.path = percent_decode(target.substr(0, q), false);
    if (q != std::string_view::npos) {
      std::string_view query = target.substr(q + 1);
      while (!query.empty()) {
        auto amp = query.find('&');
        auto item = query.substr(0, amp);
        auto eq = item.find('=');
        if (!item.empty())
          req.query.emplace_back(
              percent_decode(item.substr(0, eq), true),
              eq == std::string_view::npos ? "" : percent_decode(item.substr(eq + 1), true));
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
      }
    }
    req.content_type = req.header("Content-Type");
    req.cancelled = c.cancelled;
    auto connection = req.header("Connection");
    c.keep_alive = version == "HTTP/1.1" ? !lists_token(connection, "close")
                                         : lists_token(connection, "keep-alive");
    c.head_only = req.method == "HEAD";
    ++c.requests;

    // The web page's sign-in: trade the key in the URL for a same-site cookie.
    if (!api_key.empty() && req.method == "GET" && req.path == "/" &&
        !req.query_value("api_key").empty()) {
      if (!constant_time_equal(req.query_value("api_key"), api_key)) {
        refuse(c, 401, "unauthorized", "wrong API key");
        return false;
      }
      HttpResponse r;
      r.status = 303;
      r.body = "{}";
      r.headers = {{"Location", "/"},
                   {"Set-Cookie", std::string(kCookieName) + "=" + api_key +
                                      "; Path=/; HttpOnly; SameSite=Strict"}};
      refuse(c, std::move(r));
      return false;
    }
    if (!authorized(req)) {
      refuse(c, 401, "unauthorized",
             "this server requires an API key: send \"Authorization: Bearer KEY\" or "
             "\"X-API-Key: KEY\"",
             {{"WWW-Authenticate", "Bearer"}});
      return false;
    }

    // Route.
    std::string method = c.head_only ? "GET" : req.method;
    bool path_known = false;
    for (const auto& route : routes) {
      std::smatch m;
      if (!std::regex_match(req.path, m, route.pattern)) continue;
      path_known = true;
      if (route.method != method) continue;
      c.route = &route;
      for (std::size_t i = 1; i < m.size(); ++i) req.captures.push_back(m[i].str());
      break;
    }
    if (!c.route) {
      if (path_known)
        refuse(c, 405, "method_not_allowed", req.method + " is not allowed on " + req.path);
      else
        refuse(c, 404, "not_found", "no such route: " + req.method + " " + req.path);
      return false;
    }

    // Body framing.
    auto te = req.header("Transfer-Encoding");
    bool has_length = false;
    for (const auto& [k, v] : req.headers) {
      if (!iequals(k, "Content-Length")) continue;
      if (v.empty() || v.size() > 18 ||
          !std::all_of(v.begin(), v.end(), [](char ch) { return ch >= '0' && ch <= '9'; }) ||
          (has_length && std::stoull(v) != c.content_length)) {
        refuse(c, 400, "invalid_argument", "bad Content-Length");
        return false;
      }
      has_length = true;
      c.content_length = std::stoull(v);
    }
    if (!te.empty()) {
      if (!iequals(trim(te), "chunked") || has_length) {
        refuse(c, has_length ? 400 : 501, "invalid_argument",
               "unsupported Transfer-Encoding (only chunked, without Content-Length)");
        return false;
      }
      c.chunked = true;
    }
    if (c.content_length > limits.max_body_bytes) {
      refuse(c, 413, "limit_exceeded", body_limit_message());
      return false;
    }
    std::size_t expected =
        c.chunked ? std::min<std::size_t>(limits.max_body_bytes, 1u << 20) : c.content_length;
    if (expected > 0 && buffered_body_bytes + expected > limits.max_buffered_body_bytes) {
      refuse(c, 503, "limit_exceeded",
             "the server holds too many request bodies; try again shortly", {{"Retry-After", "2"}});
      return false;
    }
    if (in_flight.load() >= limits.max_in_flight) {
      refuse(c, 503, "limit_exceeded", "the server is busy with other requests; try again shortly",
             {{"Retry-After", "1"}});
      return false;
    }
    c.body_budget = expected;
    buffered_body_bytes += expected;
    if ((c.chunked || c.content_length > 0) && lists_token(req.header("Expect"), "100-continue") &&
        c.in.empty()) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      [[maybe_unused]] auto n =
          ::send(c.fd, kContinue.data(), kContinue.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    c.state = ConnState::body;
    c.deadline = Clock::now() + milliseconds(limits.request_timeout_ms);
    c.idle_deadline = Clock::now() + milliseconds(limits.read_timeout_ms);
    return true;
  }

  std::string body_limit_message() const {
    return "the request body exceeds the upload limit of " + std::to_string(limits.max_body_bytes) +
           " bytes (" + std::to_string(limits.max_body_bytes / (1024 * 1024)) + " MB)";
  }

  void read_body(Connection& c) {
    HttpRequest& req = c.request;
    c.idle_deadline = Clock::now() + milliseconds(limits.read_timeout_ms);
    if (!c.chunked) {
      std::size_t want = c.content_length - req.body.size();
      std::size_t take = std::min(want, c.in.size());
      req.body.append(c.in, 0, take);
      c.in.erase(0, take);
      if (req.body.size() < c.content_length) return;
      return dispatch(c);
    }
    while (true) {
      if (c.chunk == Connection::Chunk::size || c.chunk == Connection::Chunk::trailer) {
        auto eol = c.in.find("\r\n");
        if (eol == std::string::npos) {
          if (c.in.size() > 4096)
            return refuse(c, 400, "invalid_argument", "malformed chunked body");
          return;
        }
        std::string line = c.in.substr(0, eol);
        c.in.erase(0, eol + 2);
        if (c.chunk == Connection::Chunk::trailer) {
          if (line.empty()) return dispatch(c);
          continue;  // trailer fields are ignored
        }
        auto semi = line.find(';');
        std::string size = std::string(trim(line.substr(0, semi)));
        if (size.empty() || size.size() > 15 ||
            !std::all_of(size.begin(), size.end(), [](char ch) { return hex_value(ch) >= 0; }))
          return refuse(c, 400, "invalid_argument", "malformed chunked body");
        c.chunk_left = std::stoull(size, nullptr, 16);
        if (req.body.size() + c.chunk_left > limits.max_body_bytes)
          return refuse(c, 413, "limit_exceeded", body_limit_message());
        c.chunk = c.chunk_left == 0 ? Connection::Chunk::trailer : Connection::Chunk::data;
      } else if (c.chunk == Connection::Chunk::data) {
        std::size_t take = std::min(c.chunk_left, c.in.size());
        if (take == 0) return;
        req.body.append(c.in, 0, take);
        c.in.erase(0, take);
        c.chunk_left -= take;
        if (req.body.size() > c.body_budget) {
          std::size_t more = req.body.size() - c.body_budget;
          if (buffered_body_bytes + more > limits.max_buffered_body_bytes)
            return refuse(c, 503, "limit_exceeded",
                          "the server holds too many request bodies; try again shortly",
                          {{"Retry-After", "2"}});
          buffered_body_bytes += more;
          c.body_budget += more;
        }
        if (c.chunk_left == 0) c.chunk = Connection::Chunk::data_end;
      } else {  // data_end: the CRLF after a chunk
        if (c.in.size() < 2) return;
        if (c.in.compare(0, 2, "\r\n") != 0)
          return refuse(c, 400, "invalid_argument", "malformed chunked body");
        c.in.erase(0, 2);
        c.chunk = Connection::Chunk::size;
      }
    }
  }

  void dispatch(Connection& c) {
    c.state = ConnState::handling;
    // Only a hang-up is watched now (once): it raises the request's cancel flag.
    arm(c, EPOLLRDHUP | EPOLLONESHOT);
    in_flight.fetch_add(1);
    std::lock_guard lock(mutex);
    tasks.push_back(&c);
    if (idle_threads == 0 && threads.size() < limits.max_in_flight)
      threads.emplace_back([this] { work(); });
    work_ready.notify_one();
  }

  void take_returned() {
    std::vector<std::pair<Connection*, bool>> done;
    {
      std::lock_guard lock(mutex);
      done.swap(returned);
    }
    for (auto [c, keep] : done) {
      release_budget(*c);
      if (!keep || stopping.load()) {
        close_connection(c->fd);
        continue;
      }
      start_head(*c);
      if (!c->in.empty()) advance(*c);
    }
  }

  void check_deadlines() {
    auto now = Clock::now();
    std::vector<int> expired;
    for (auto& [fd, c] : connections) {
      if (c->state == ConnState::handling) continue;
      bool silent =
          (c->state == ConnState::body || (c->state == ConnState::head && c->head_started)) &&
          now > c->idle_deadline;
      if (now > c->deadline || silent) expired.push_back(fd);
    }
    for (int fd : expired) {
      auto& c = *connections.at(fd);
      if (c.state == ConnState::head && c.head_started)
        refuse(c, 408, "timeout",
               "the request head did not arrive whole within " +
                   std::to_string(limits.head_timeout_ms) + " ms (or stalled for " +
                   std::to_string(limits.read_timeout_ms) + " ms)");
      else if (c.state == ConnState::body)
        refuse(c, 408, "timeout", "the request body arrived too slowly");
      else
        close_connection(fd);
    }
  }

  void loop() {
    epoll_event events[128];
    auto stop_started = Clock::time_point{};
    while (true) {
      int n = ::epoll_wait(epoll_fd, events, 128, 100);
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == wake_fd) {
          std::uint64_t v;
          [[maybe_unused]] auto r = ::read(wake_fd, &v, sizeof v);
          continue;
        }
        if (fd == listen_fd) {
          if (!stopping.load()) accept_all();
          continue;
        }
        auto it = connections.find(fd);
        if (it == connections.end()) continue;
        Connection& c = *it->second;
        if (c.state == ConnState::handling) {
          if (events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c.cancelled->store(true);
          continue;
        }
        if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(c);
      }
      take_returned();
      check_deadlines();
      if (accept_paused_until != Clock::time_point{} && Clock::now() > accept_paused_until &&
          !stopping.load()) {
        accept_paused_until = {};
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = listen_fd;
        ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &ev);
      }
      if (stopping.load()) {
        if (stop_started == Clock::time_point{}) {
          stop_started = Clock::now();
          ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, listen_fd, nullptr);
          for (auto& [fd, c] : connections)
            if (c->state == ConnState::handling) c->cancelled->store(true);
        }
        std::vector<int> idle;
        for (auto& [fd, c] : connections)
          if (c->state != ConnState::handling) idle.push_back(fd);
        for (int fd : idle) close_connection(fd);
        bool drained = in_flight.load() == 0;
        if (drained || Clock::now() - stop_started > milliseconds(limits.drain_timeout_ms)) break;
      }
    }
  }

  // ---- the handler threads' side ------------------------------------------------------------

  void work() {
    std::unique_lock lock(mutex);
    while (true) {
      ++idle_threads;
      work_ready.wait(lock, [this] { return threads_stop || !tasks.empty(); });
      --idle_threads;
      if (threads_stop && tasks.empty()) return;
      Connection* c = tasks.front();
      tasks.pop_front();
      lock.unlock();
      bool keep = handle(*c);
      lock.lock();
      returned.emplace_back(c, keep);
      in_flight.fetch_sub(1);
      wake();
    }
  }

  // Decodes the body (content coding, multipart). nullopt when it is fine.
  std::optional<HttpResponse> finish_body(HttpRequest& req) const {
    const std::string coding_header = req.header("Content-Encoding");
    const std::string_view coding = trim(coding_header);
    if (!coding.empty() && !iequals(coding, "identity")) {
      if (!iequals(coding, "gzip") && !iequals(coding, "deflate") && !iequals(coding, "x-gzip"))
        return error_response(415, "unsupported",
                              "unsupported Content-Encoding (gzip or deflate only)");
      bool too_big = false;
      auto plain = inflate_body(req.body, limits.max_body_bytes, too_big);
      if (too_big) return error_response(413, "limit_exceeded", body_limit_message());
      if (!plain)
        return error_response(400, "invalid_argument", "the compressed request body is malformed");
      req.body = std::move(*plain);
    }
    if (req.content_type.rfind("multipart/form-data", 0) == 0) {
      auto status = parse_multipart(req.body, req.content_type, limits.max_parts, req.parts);
      std::string().swap(req.body);
      if (status == MultipartStatus::too_many_parts)
        return error_response(
            400, "limit_exceeded",
            "too many multipart parts (limit " + std::to_string(limits.max_parts) + ")");
      if (status == MultipartStatus::malformed)
        return error_response(400, "invalid_argument", "malformed multipart/form-data body");
    }
    return std::nullopt;
  }

  static HttpResponse run_handler(const HttpHandler& handler, const HttpRequest& request) {
    try {
      return handler(request);
    } catch (const HttpStatusError& e) {
      auto r = error_response(e.status(), to_string(e.code()), e.what());
      if (e.retry_after_s() > 0)
        r.headers.emplace_back("Retry-After", std::to_string(e.retry_after_s()));
      return r;
    } catch (const Error& e) {
      return error_response(http_status_for(e.code()), to_string(e.code()), e.what());
    } catch (const std::exception& e) {
      return error_response(500, "internal", e.what());
    } catch (...) {
      return error_response(500, "internal", "unknown failure");
    }
  }

  // Runs the route and writes the answer. Returns whether the connection may serve another.
  bool handle(Connection& c) {
    HttpRequest& req = c.request;
    auto failed = finish_body(req);
    HttpResponse r = failed ? std::move(*failed) : run_handler(c.route->handler, req);
    // A whole (not streamed) answer must be taken within the request timeout.
    auto deadline = Clock::now() + milliseconds(limits.request_timeout_ms);
    bool keep = c.keep_alive && !failed && c.requests < 100;
    std::string head = "HTTP/1.1 " + std::to_string(r.status) + " " +
                       std::string(reason_phrase(r.status)) + "\r\n";
    auto add = [&](std::string_view k, std::string_view v) {
      head.append(k).append(": ").append(v).append("\r\n");
    };
    add("Content-Type", r.content_type);
    for (const auto& [k, v] : r.headers) add(k, v);
    if (!keep) add("Connection", "close");
    if (r.stream) {
      add("Transfer-Encoding", "chunked");
      head += "\r\n";
      if (!write_all(c.fd, head, limits.write_timeout_ms)) return false;
      if (c.head_only) return keep;
      bool ok = true;
      StreamWriter write = [&](std::string_view chunk) {
        if (!ok || c.cancelled->load()) return false;
        if (chunk.empty()) return true;
        char size[24];
        std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
        std::string frame = size;
        frame.append(chunk).append("\r\n");
        ok = write_all(c.fd, frame, limits.write_timeout_ms);
        return ok;
      };
      r.stream(write);
      if (ok) ok = write_all(c.fd, "0\r\n\r\n", limits.write_timeout_ms);
      return ok && keep && !c.cancelled->load();
    }
    std::string_view body = r.body;
    std::string encoded;
    // One byte range of a whole GET answer.
    auto range = req.header("Range");
    if (!range.empty() && r.status == 200 && req.method == "GET") {
      if (auto span = parse_range(range, body.size())) {
        if (span->first >= body.size()) {
          auto total = std::to_string(body.size());
          r = error_response(416, "invalid_argument",
                             "the Range is outside the " + total + " bytes of the resource");
          head = "HTTP/1.1 416 Range Not Satisfiable\r\n";
          add("Content-Type", r.content_type);
          add("Content-Range", "bytes */" + total);
          if (!keep) add("Connection", "close");
          body = r.body;
        } else {
          head = "HTTP/1.1 206 Partial Content\r\n";
          add("Content-Type", r.content_type);
          for (const auto& [k, v] : r.headers) add(k, v);
          add("Content-Range", "bytes " + std::to_string(span->first) + "-" +
                                   std::to_string(span->second - 1) + "/" +
                                   std::to_string(body.size()));
          if (!keep) add("Connection", "close");
          body = body.substr(span->first, span->second - span->first);
        }
        range = "handled";
      } else {
        range.clear();
      }
    } else {
      range.clear();
    }
    if (range.empty() && body.size() >= 1024 && compressible(r.content_type)) {
      auto accept = req.header("Accept-Encoding");
      std::optional<std::string> packed;
      std::string_view coding;
      if (lists_token(accept, "br")) {
        packed = brotli(body);
        coding = "br";
      } else if (lists_token(accept, "gzip")) {
        packed = gzip(body);
        coding = "gzip";
      }
      if (packed && packed->size() < body.size()) {
        encoded = std::move(*packed);
        body = encoded;
        add("Content-Encoding", coding);
      }
      add("Vary", "Accept-Encoding");
    }
    add("Content-Length", std::to_string(body.size()));
    head += "\r\n";
    if (c.head_only) return write_all(c.fd, head, limits.write_timeout_ms, deadline) && keep;
    if (body.size() <= 16 * 1024) {
      head.append(body);
      return write_all(c.fd, head, limits.write_timeout_ms, deadline) && keep;
    }
    return write_all(c.fd, head, limits.write_timeout_ms, deadline) &&
           write_all(c.fd, body, limits.write_timeout_ms, deadline) && keep;
  }
};

HttpServer::HttpServer(HttpLimits limits, int threads) : impl_(std::make_unique<Impl>()) {
  if (threads > 0)
    limits.max_in_flight = std::min<std::size_t>(limits.max_in_flight, std::size_t(threads));
  if (limits.max_in_flight == 0) limits.max_in_flight = 1;
  impl_->limits = limits;
}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::route(const std::string& method, const std::string& pattern, HttpHandler handler) {
  if (method != "GET" && method != "POST" && method != "DELETE")
    throw Error(ErrorCode::internal, "HttpServer::route: unsupported method " + method);
  impl_->routes.push_back({method, std::regex(pattern), std::move(handler)});
}

void HttpServer::require_api_key(std::string key, std::vector<std::string> exempt_paths) {
  impl_->api_key = std::move(key);
  impl_->exempt_paths = std::move(exempt_paths);
}

int HttpServer::bind(const std::string& host, int port) {
  // Room for max_connections sockets beside the files the service opens: raise the soft limit
  // on descriptors to the hard one.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  std::string service = std::to_string(port);
  if (::getaddrinfo(host.c_str(), service.c_str(), &hints, &found) != 0 || !found)
    throw Error(ErrorCode::io, "cannot bind " + host + ":" + service + " (unknown address)");
  int fd = -1;
  for (auto* a = found; a; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 1024) == 0) break;
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(found);
  if (fd < 0)
    throw Error(ErrorCode::io, "cannot bind " + host + ":" + service +
                                   " (in use, or not an address of this machine)");
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int bound = addr.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port)
                                         : ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  auto& s = *impl_;
  s.listen_fd = fd;
  s.epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  s.wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (s.epoll_fd < 0 || s.wake_fd < 0) throw Error(ErrorCode::io, "cannot create an event loop");
  for (int f : {s.listen_fd, s.wake_fd}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = f;
    ::epoll_ctl(s.epoll_fd, EPOLL_CTL_ADD, f, &ev);
  }
  return bound;
}

void HttpServer::listen() {
  auto& s = *impl_;
  if (s.listen_fd < 0) throw Error(ErrorCode::internal, "HttpServer::listen before bind");
  s.running = true;
  if (!s.stopping.load()) s.loop();
  // Handlers still running past the drain time keep their connections; the threads are joined
  // when the server is destroyed.
  s.running = false;
}

void HttpServer::stop() {
  if (!impl_) return;
  impl_->stopping = true;
  impl_->wake();
}

std::size_t HttpServer::in_flight() const {
  return impl_->in_flight.load();
}

}  // namespace glyph::serve
