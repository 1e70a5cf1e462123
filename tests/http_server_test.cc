#include "serve/http_server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "support/http_client.h"

namespace glyph::serve {
namespace {

using namespace std::chrono_literals;
using test::http_request;
using test::send_raw;

// An HttpServer on a free port, serving in a thread for the test's lifetime.
class RunningServer {
 public:
  explicit RunningServer(HttpLimits limits, std::string api_key = {}) : server_(limits, 4) {
    server_.route("GET", "/health", [](const HttpRequest&) {
      HttpResponse r;
      r.body = "{\"status\":\"ok\"}";
      return r;
    });
    server_.route("GET", R"(/v1/items/([a-z0-9]+))", [](const HttpRequest& req) {
      if (req.captures.at(0) == "missing") throw Error(ErrorCode::not_found, "no item 'missing'");
      if (req.captures.at(0) == "boom") throw std::runtime_error("kaput");
      HttpResponse r;
      r.body = "{\"id\":\"" + req.captures.at(0) + "\"}";
      return r;
    });
    server_.route("POST", "/v1/echo", [](const HttpRequest& req) {
      HttpResponse r;
      r.content_type = "text/plain";
      r.body = std::to_string(req.body.size()) + ":" + std::to_string(req.parts.size());
      for (const auto& p : req.parts)
        r.body += "|" + p.name + "=" + p.filename + "#" + std::to_string(p.content.size());
      return r;
    });
    server_.route("POST", "/v1/stream", [](const HttpRequest&) {
      HttpResponse r;
      r.content_type = "text/event-stream";
      r.stream = [](const StreamWriter& write) {
        for (int i = 0; i < 3; ++i) write("data: " + std::to_string(i) + "\n\n");
      };
      return r;
    });
    // Waits until its client goes (or 5 s), then says how long it waited.
    server_.route("GET", "/v1/wait", [this](const HttpRequest& req) {
      auto start = std::chrono::steady_clock::now();
      while (!req.client_gone() && std::chrono::steady_clock::now() - start < 5s)
        std::this_thread::sleep_for(10ms);
      saw_gone_ = req.client_gone();
      HttpResponse r;
      r.body = "{}";
      return r;
    });
    server_.route("DELETE", "/v1/items/([a-z0-9]+)", [](const HttpRequest&) {
      HttpResponse r;
      r.body = "{}";
      return r;
    });
    if (!api_key.empty()) server_.require_api_key(api_key, {"/health"});
    port_ = server_.bind("127.0.0.1", 0);
    thread_ = std::thread([this] { server_.listen(); });
    // Wait until it accepts.
    for (int i = 0; i < 200; ++i) {
      int fd = test::connect_local(port_);
      if (fd >= 0) {
        ::close(fd);
        break;
      }
      std::this_thread::sleep_for(5ms);
    }
  }
  ~RunningServer() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  HttpServer& server() { return server_; }
  std::atomic<bool> saw_gone_{false};

 private:
  HttpServer server_;
  int port_ = 0;
  std::thread thread_;
};

HttpLimits small_limits() {
  HttpLimits l;
  l.max_body_bytes = 1024 * 1024;
  l.max_headers = 32;
  l.max_parts = 4;
  l.read_timeout_ms = 1000;
  l.idle_timeout_ms = 1000;
  return l;
}

TEST(http_server, errors_share_one_json_shape) {
  RunningServer s(small_limits());
  auto ok = http_request(s.port(), "GET", "/v1/items/abc");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "{\"id\":\"abc\"}");
  auto missing = http_request(s.port(), "GET", "/v1/items/missing");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, "{\"error\":{\"code\":\"not_found\",\"message\":\"no item 'missing'\"}}");
  EXPECT_EQ(missing.header("content-type"), "application/json");
  auto boom = http_request(s.port(), "GET", "/v1/items/boom");
  EXPECT_EQ(boom.status, 500);
  EXPECT_EQ(boom.body, "{\"error\":{\"code\":\"internal\",\"message\":\"kaput\"}}");
  auto no_route = http_request(s.port(), "GET", "/nowhere");
  EXPECT_EQ(no_route.status, 404);
  EXPECT_NE(no_route.body.find("\"code\":\"not_found\""), std::string::npos) << no_route.body;
  auto garbage = send_raw(s.port(), "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(garbage.status, 400);
  EXPECT_NE(garbage.body.find("\"error\""), std::string::npos);
}

TEST(http_server, error_body_escapes_json) {
  EXPECT_EQ(error_body("x", "a\"b\\c\n\x01"),
            "{\"error\":{\"code\":\"x\",\"message\":\"a\\\"b\\\\c\\n\\u0001\"}}");
  EXPECT_EQ(http_status_for(ErrorCode::invalid_config), 400);
  EXPECT_EQ(http_status_for(ErrorCode::limit_exceeded), 413);
  EXPECT_EQ(http_status_for(ErrorCode::network), 502);
}

TEST(http_server, streams_chunked) {
  RunningServer s(small_limits());
  auto r = http_request(s.port(), "POST", "/v1/stream", "{}");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  EXPECT_EQ(r.body, "data: 0\n\ndata: 1\n\ndata: 2\n\n");
}

TEST(http_server, multipart_parts_are_read_with_names) {
  RunningServer s(small_limits());
  auto [type, body] = test::multipart_body({{"mode", "qa"}}, "file", "../../etc/passwd", "hello");
  auto r = http_request(s.port(), "POST", "/v1/echo", body, {"Content-Type: " + type});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "0:2|mode=#2|file=../../etc/passwd#5");
}

TEST(http_server, oversized_upload_refused_with_413) {
  RunningServer s(small_limits());
  std::string big(2 * 1024 * 1024, 'a');
  auto r = http_request(s.port(), "POST", "/v1/echo", big, {"Content-Type: text/plain"});
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find("limit_exceeded"), std::string::npos) << r.body;
  // Announced but not sent: refused before the body, when the client asks first.
  auto early = send_raw(s.port(),
                        "POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                        "Content-Length: 900000000\r\nExpect: 100-continue\r\n\r\n",
                        3000);
  EXPECT_EQ(early.status, 413);
}

TEST(http_server, chunked_upload_counted_while_reading) {
  RunningServer s(small_limits());
  std::string raw =
      "POST /v1/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
      "Content-Type: text/plain\r\n\r\n";
  std::string chunk(64 * 1024, 'b');
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
  for (int i = 0; i < 40; ++i) raw += size_line + chunk + "\r\n";
  raw += "0\r\n\r\n";
  auto r = send_raw(s.port(), raw);
  EXPECT_EQ(r.status, 413);
}

TEST(http_server, memory_stays_flat_under_oversized_uploads) {
  RunningServer s(small_limits());
  // One request of 8 MB against a 1 MB limit, built once so that the client allocates nothing
  // per send; only the server's memory can move.
  std::string raw =
      "POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
      "Connection: close\r\nContent-Length: " +
      std::to_string(8 << 20) + "\r\n\r\n";
  raw.append(8 << 20, 'c');
  send_raw(s.port(), raw);  // warm up the thread pool and allocator
  long before = test::resident_kib(::getpid());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(send_raw(s.port(), raw).status, 413);
  long after = test::resident_kib(::getpid());
  // 40 MB went in against a 1 MB limit; the server kept none of it.
  EXPECT_LT(after - before, 8 * 1024) << before << " KiB → " << after << " KiB";
}

TEST(http_server, too_many_headers_431) {
  RunningServer s(small_limits());
  std::vector<std::string> headers;
  for (int i = 0; i < 100; ++i) headers.push_back("X-Filler-" + std::to_string(i) + ": v");
  auto r = http_request(s.port(), "GET", "/v1/items/abc", {}, headers);
  EXPECT_EQ(r.status, 431);
  EXPECT_NE(r.body.find("too many request headers"), std::string::npos) << r.body;
}

TEST(http_server, too_many_parts_and_malformed_multipart_400) {
  RunningServer s(small_limits());
  std::vector<std::pair<std::string, std::string>> fields;
  for (int i = 0; i < 10; ++i) fields.emplace_back(std::string("f") += std::to_string(i), "v");
  auto [type, body] = test::multipart_body(fields, "", "", "");
  auto r = http_request(s.port(), "POST", "/v1/echo", body, {"Content-Type: " + type});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("too many multipart parts"), std::string::npos) << r.body;

  auto broken = http_request(s.port(), "POST", "/v1/echo",
                             "--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end",
                             {"Content-Type: multipart/form-data; boundary=xyz"});
  EXPECT_EQ(broken.status, 400);
  auto no_boundary =
      http_request(s.port(), "POST", "/v1/echo", "x", {"Content-Type: multipart/form-data"});
  EXPECT_EQ(no_boundary.status, 400);
}

TEST(http_server, slow_client_is_cut_off) {
  RunningServer s(small_limits());
  // Headers that never finish: the read timeout (1 s) ends the connection.
  auto start = std::chrono::steady_clock::now();
  auto r = send_raw(s.port(), "POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Le", 5000);
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_LT(waited, 4s);
  EXPECT_TRUE(r.status == 0 || (r.status >= 400 && r.status < 500)) << r.status;
  // A body that stops halfway: 408 after the read timeout, not a hang.
  start = std::chrono::steady_clock::now();
  auto partial = send_raw(s.port(),
                          "POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                          "Content-Length: 1000\r\n\r\nonly a little",
                          5000);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
  EXPECT_EQ(partial.status, 408);
}

TEST(http_server, api_key_guards_every_route_but_health) {
  RunningServer s(small_limits(), "s3cret-key");
  EXPECT_EQ(http_request(s.port(), "GET", "/health").status, 200);
  for (auto [method, path] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/v1/items/abc"},
                                                        {"POST", "/v1/echo"},
                                                        {"POST", "/v1/stream"},
                                                        {"DELETE", "/v1/items/abc"},
                                                        {"GET", "/nowhere"},
                                                        {"GET", "/"}}) {
    auto none = http_request(s.port(), method, path, method == "POST" ? "{}" : "");
    EXPECT_EQ(none.status, 401) << method << " " << path;
    EXPECT_NE(none.body.find("\"unauthorized\""), std::string::npos);
    auto wrong = http_request(s.port(), method, path, method == "POST" ? "{}" : "",
                              {"Authorization: Bearer s3cret-kez"});
    EXPECT_EQ(wrong.status, 401) << method << " " << path;
  }
  EXPECT_EQ(http_request(s.port(), "GET", "/v1/items/abc", {}, {"Authorization: Bearer s3cret-key"})
                .status,
            200);
  EXPECT_EQ(http_request(s.port(), "GET", "/v1/items/abc", {}, {"X-API-Key: s3cret-key"}).status,
            200);
  EXPECT_EQ(http_request(s.port(), "GET", "/v1/items/abc", {}, {"Cookie: glyph_api_key=s3cret-key"})
                .status,
            200);
  // The page's sign-in trades the key for a same-site cookie.
  auto signin = http_request(s.port(), "GET", "/?api_key=s3cret-key");
  EXPECT_EQ(signin.status, 303);
  EXPECT_NE(signin.header("set-cookie").find("SameSite=Strict"), std::string::npos);
  EXPECT_EQ(http_request(s.port(), "GET", "/?api_key=nope").status, 401);
}

TEST(http_server, keep_alive_pipelining_head_and_gzip_bodies) {
  RunningServer s(small_limits());
  // Two requests in one write on one connection: two answers, in order.
  auto r = send_raw(s.port(),
                    "GET /v1/items/one HTTP/1.1\r\nHost: x\r\n\r\n"
                    "GET /v1/items/two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"id\":\"one\"}");
  int fd = test::connect_local(s.port());
  std::string both =
      "GET /v1/items/one HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /v1/items/two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(::send(fd, both.data(), both.size(), 0), static_cast<ssize_t>(both.size()));
  std::string in;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) in.append(buf, n);
  ::close(fd);
  EXPECT_NE(in.find("{\"id\":\"one\"}"), std::string::npos) << in;
  EXPECT_NE(in.find("{\"id\":\"two\"}"), std::string::npos) << in;
  EXPECT_LT(in.find("one"), in.find("two"));
  // HEAD: the GET route's headers, no body.
  auto head = send_raw(s.port(), "HEAD /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-length"), "15");
  // A method the path does not have: 405 in the error shape.
  auto wrong = http_request(s.port(), "DELETE", "/health");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_NE(wrong.body.find("method_not_allowed"), std::string::npos);
  // A gzip body is inflated, counted against the limit as it inflates.
  std::string gz(
      "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcb\x48\xcd\xc9\xc9\x07\x00\x86\xa6\x10\x36\x05\x00"
      "\x00\x00",
      25);  // "hello"
  auto inflated = http_request(s.port(), "POST", "/v1/echo", gz,
                               {"Content-Type: text/plain", "Content-Encoding: gzip"});
  EXPECT_EQ(inflated.body, "5:0");
  auto bad = http_request(s.port(), "POST", "/v1/echo", "not gzip",
                          {"Content-Type: text/plain", "Content-Encoding: gzip"});
  EXPECT_EQ(bad.status, 400);
  auto unknown = http_request(s.port(), "POST", "/v1/echo", "x",
                              {"Content-Type: text/plain", "Content-Encoding: zstd"});
  EXPECT_EQ(unknown.status, 415);
}

TEST(http_server, a_hang_up_raises_the_cancel_flag) {
  RunningServer s(small_limits());
  int fd = test::connect_local(s.port());
  std::string req = "GET /v1/wait HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(s.server().in_flight(), 1u);
  auto start = std::chrono::steady_clock::now();
  ::close(fd);
  while (s.server().in_flight() > 0 && std::chrono::steady_clock::now() - start < 3s)
    std::this_thread::sleep_for(5ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s) << "the handler saw the hang-up";
  EXPECT_TRUE(s.saw_gone_);
}

TEST(http_server, constant_time_equal_compares) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

}  // namespace
}  // namespace glyph::serve
