// The service under hostile or careless clients: each test is one way a client broke it before
// (bounded nesting, invalid UTF-8, slow and huge heads, zip bombs, pages too large, clients that
// hang up, floods). Servers are `glyph serve` children on 127.0.0.1; every wait is bounded.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/file.h"
#include "core/utf8.h"
#include "support/http_client.h"
#include "support/ingest_fixtures.h"
#include "support/paths.h"
#include "support/run.h"
#include "support/server_process.h"

namespace glyph {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using test::http_request;
using test::send_raw;
using test::ServerProcess;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string story() {
  return read_file(test::shared_dir() + "/data/examples/case1.txt");
}

std::string long_text(std::size_t bytes) {
  std::string base = read_file(test::shared_dir() + "/data/examples/case2.txt");
  std::string text;
  while (text.size() < bytes) text += base;
  text.resize(bytes);
  return text;
}

// The reply is one JSON error of this status and code, and valid UTF-8 JSON.
void expect_error(const test::HttpReply& r, int status, const std::string& code) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_TRUE(is_valid_utf8(r.body)) << r.body;
  json e = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(e.is_object() && e.contains("error")) << r.body;
  EXPECT_EQ(e["error"]["code"], code) << r.body;
}

bool healthy(int port) {
  return http_request(port, "GET", "/health", {}, {}, 2000).status == 200;
}

// Opens a connection and sends the start of a request head, for slow-client tests.
int open_with(int port, const std::string& bytes) {
  int fd = test::connect_local(port);
  if (fd >= 0 && !bytes.empty()) ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  return fd;
}

// Item 1: deep nesting is refused before anything recursive reads it.
TEST(serve_hostile_e2e, nested_json_is_refused_not_a_crash) {
  ServerProcess server(test::scratch_dir() + "/data");
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  std::string body = R"({"text":"hello","config":{"x":)" + deep + "}}";
  expect_error(http_request(server.port(), "POST", "/v1/render", body), 400, "invalid_argument");
  expect_error(http_request(server.port(), "POST", "/v1/jobs", body), 400, "invalid_argument");
  auto [type, multipart] =
      test::multipart_body({{"text", "hello"}, {"config", R"({"x":)" + deep + "}"}}, "", "", "");
  expect_error(
      http_request(server.port(), "POST", "/v1/render", multipart, {"Content-Type: " + type}), 400,
      "invalid_argument");
  EXPECT_TRUE(healthy(server.port()));
  // Ordinary nesting still works.
  auto ok = http_request(server.port(), "POST", "/v1/render",
                         R"({"text":"hello","config":{"preset":"en"}})");
  EXPECT_EQ(ok.status, 200) << ok.body;
}

// Item 7: invalid UTF-8 from a client is a 400, and error bodies are always valid UTF-8 JSON.
TEST(serve_hostile_e2e, invalid_utf8_is_400_with_valid_json) {
  ServerProcess server(test::scratch_dir() + "/data");
  std::string bad = "caf\xe9 \xff\xfe";
  for (const auto& [field, route] :
       std::vector<std::pair<std::string, std::string>>{{"text", "/v1/render"},
                                                        {"text", "/v1/jobs"},
                                                        {"question", "/v1/jobs"},
                                                        {"question", "/v1/ask"},
                                                        {"fields", "/v1/jobs"}}) {
    std::vector<std::pair<std::string, std::string>> fields = {{"mode", "qa"}};
    if (field != "text") fields.emplace_back("text", "A short text.");
    if (field == "fields") fields[0].second = "extract";
    if (field != "question") fields.emplace_back("question", "What?");
    fields.emplace_back(field, bad);
    if (route == "/v1/render") fields = {{"text", bad}};
    auto [type, body] = test::multipart_body(fields, "", "", "");
    auto r = http_request(server.port(), "POST", route, body, {"Content-Type: " + type});
    SCOPED_TRACE(field + " → " + route);
    expect_error(r, 400, "invalid_argument");
  }
  // A JSON body with raw invalid bytes in a string: the parser's message quotes them.
  expect_error(http_request(server.port(), "POST", "/v1/render", "{\"text\":\"" + bad + "\"}"), 400,
               "invalid_argument");
  EXPECT_TRUE(healthy(server.port()));
}

// Item 8: max-text-tokens-per-page works through the HTTP API.
TEST(serve_hostile_e2e, max_text_tokens_per_page_through_http) {
  ServerProcess server(test::scratch_dir() + "/data");
  json body = {{"text", story()}, {"config", {{"preset", "en"}}}};
  auto plain = http_request(server.port(), "POST", "/v1/render", body.dump());
  ASSERT_EQ(plain.status, 200) << plain.body;
  body["config"]["max-text-tokens-per-page"] = 500;
  auto capped = http_request(server.port(), "POST", "/v1/render", body.dump());
  ASSERT_EQ(capped.status, 200) << capped.body;
  json a = json::parse(plain.body), b = json::parse(capped.body);
  auto tokens = b["stats"]["text_tokens"].get<int>();
  EXPECT_GE(b["pages"].size(), static_cast<std::size_t>((tokens + 499) / 500));
  EXPECT_GT(b["pages"].size(), a["pages"].size());
  EXPECT_EQ(b["config"]["max-text-tokens-per-page"], 500);
}

// Item 9: the smaller holes.
TEST(serve_hostile_e2e, queue_and_request_limits) {
  std::string data = test::scratch_dir() + "/data";
  // A temporary folder that a killed process left behind (its pid cannot exist).
  fs::create_directories(data + "/documents/.tmp-0123456789abcdef0123456789abcdef-999999999-42");
  write_file(data + "/documents/.tmp-0123456789abcdef0123456789abcdef-999999999-42/page_001.png",
             std::string(1000, 'x'));
  ServerProcess server(data, {"--workers", "1", "--max-queued-jobs", "3"});
  int port = server.port();
  EXPECT_FALSE(fs::exists(data + "/documents/.tmp-0123456789abcdef0123456789abcdef-999999999-42"))
      << "stale temporary folders are removed at start";

  // The queue refuses past its bound, with Retry-After.
  json job = {{"mode", "render"}, {"text", long_text(1u << 20)}};
  int accepted = 0;
  test::HttpReply refused;
  for (int i = 0; i < 6 && refused.status == 0; ++i) {
    job["text"] = long_text((1u << 20) + i);
    auto r = http_request(port, "POST", "/v1/jobs", job.dump());
    if (r.status == 202)
      ++accepted;
    else
      refused = r;
  }
  EXPECT_EQ(accepted, 3);
  expect_error(refused, 429, "limit_exceeded");
  EXPECT_FALSE(refused.header("retry-after").empty());

  // A POST without Content-Length is answered at once (no body), not after a timeout.
  auto start = std::chrono::steady_clock::now();
  auto no_length = send_raw(port,
                            "POST /v1/render HTTP/1.1\r\nHost: x\r\n"
                            "Content-Type: application/json\r\nConnection: close\r\n\r\n",
                            5000);
  EXPECT_LT(seconds_since(start), 1.0);
  expect_error(no_length, 400, "invalid_argument");

  // ?limit must be 1..1000.
  expect_error(http_request(port, "GET", "/v1/jobs?limit=-1"), 400, "invalid_argument");
  expect_error(http_request(port, "GET", "/v1/jobs?limit=abc"), 400, "invalid_argument");
  expect_error(http_request(port, "GET", "/v1/jobs?limit=0"), 400, "invalid_argument");
  EXPECT_EQ(http_request(port, "GET", "/v1/jobs?limit=2").status, 200);

  // Fields that do not apply to /v1/render are refused like unknown ones.
  expect_error(http_request(port, "POST", "/v1/render", R"({"text":"a","question":"why?"})"), 400,
               "invalid_argument");
  expect_error(http_request(port, "POST", "/v1/render", R"({"text":"a","stream":true})"), 400,
               "invalid_argument");

  // A face index the font file does not have is a bad config (400), not a missing route (404).
  expect_error(
      http_request(
          port, "POST", "/v1/render",
          R"({"text":"a","config":{"font-path":"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf#7"}})"),
      400, "invalid_config");

  // A range outside a page image: 416 in the one error shape; a good range: 206.
  auto doc = json::parse(http_request(port, "POST", "/v1/render", R"({"text":"hello"})").body);
  std::string url = doc["pages"][0]["url"];
  auto outside = http_request(port, "GET", url, {}, {"Range: bytes=99999999-"});
  expect_error(outside, 416, "invalid_argument");
  EXPECT_NE(outside.header("content-range").find("bytes */"), std::string::npos);
  auto first = http_request(port, "GET", url, {}, {"Range: bytes=0-3"});
  EXPECT_EQ(first.status, 206);
  EXPECT_EQ(first.body, "\x89PNG");
}

TEST(serve_hostile_e2e, empty_api_key_refuses_to_start) {
  // Bounded: a server that starts anyway is stopped after 10 s (and the test fails).
  auto run =
      test::run_command("timeout 10 " + test::binary_dir() + "/glyph serve --port 0 --data " +
                        test::scratch_dir() + "/data --api-key ''");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output().find("--api-key is empty"), std::string::npos) << run.output();
}

TEST(serve_hostile_e2e, document_cache_is_bounded) {
  std::string data = test::scratch_dir() + "/data";
  ServerProcess server(data, {"--cache-mb", "1"});
  std::string text = long_text(60000);
  for (int i = 0; i < 12; ++i) {
    json body = {{"text", std::to_string(i) + text}};
    ASSERT_EQ(http_request(server.port(), "POST", "/v1/render", body.dump()).status, 200);
  }
  std::size_t bytes = 0, documents = 0;
  for (const auto& entry : fs::recursive_directory_iterator(data + "/documents")) {
    if (entry.is_regular_file()) bytes += entry.file_size();
    if (entry.is_directory()) ++documents;
  }
  EXPECT_LE(bytes, std::size_t{1} << 20) << documents << " documents";
  EXPECT_GE(documents, 1u);
  EXPECT_LT(documents, 12u);
}

// Item 3: sizes are refused as bytes arrive, not after buffering them.
TEST(serve_hostile_e2e, huge_request_line_and_announced_body_refused_early) {
  ServerProcess server(test::scratch_dir() + "/data", {"--max-upload-mb", "1"});
  int port = server.port();
  long before = server.peak_rss_kib();
  std::string line = "GET /" + std::string(64u << 20, 'a');  // no newline, ever
  auto start = std::chrono::steady_clock::now();
  auto r = send_raw(port, line, 10000);
  EXPECT_EQ(r.status, 414) << r.body;
  EXPECT_LT(seconds_since(start), 5.0);
  std::string head(60000, 'h');
  auto big_head =
      send_raw(port, "GET /health HTTP/1.1\r\nX-A: " + head + "\r\nX-B: " + head + "\r\n\r\n");
  EXPECT_EQ(big_head.status, 431);
  EXPECT_LT(server.peak_rss_kib() - before, 16 * 1024)
      << "the request line was not held: " << before << " → " << server.peak_rss_kib() << " KiB";
  // A body announced over the limit is refused before it is sent, when the client waits.
  start = std::chrono::steady_clock::now();
  auto early = send_raw(port,
                        "POST /v1/render HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        "Content-Length: 2000000\r\nExpect: 100-continue\r\n\r\n",
                        5000);
  EXPECT_LT(seconds_since(start), 1.0);
  expect_error(early, 413, "limit_exceeded");
  EXPECT_TRUE(healthy(port));
}

// Item 4: a text cap in characters, checked before layout; a zip bomb stops early; a render
// stops when its client goes.
TEST(serve_hostile_e2e, text_cap_zip_bomb_and_abandoned_render) {
  std::string data = test::scratch_dir() + "/data";
  ServerProcess server(data, {"--max-text-chars", "200000"});
  int port = server.port();
  auto start = std::chrono::steady_clock::now();
  auto over = http_request(port, "POST", "/v1/render", json{{"text", long_text(300000)}}.dump());
  expect_error(over, 413, "limit_exceeded");
  EXPECT_NE(over.body.find("characters"), std::string::npos);
  EXPECT_LT(seconds_since(start), 1.0) << "refused before layout";

  std::string bomb = read_file(test::ingest_fixture("bomb_stream.docx"));
  ASSERT_LT(bomb.size(), 200000u);
  auto [type, body] = test::multipart_body({}, "file", "bomb.docx", bomb);
  auto r = http_request(port, "POST", "/v1/render", body, {"Content-Type: " + type});
  expect_error(r, 413, "limit_exceeded");
  auto [job_type, job_body] = test::multipart_body({{"mode", "render"}}, "file", "bomb.docx", bomb);
  auto job = http_request(port, "POST", "/v1/jobs", job_body, {"Content-Type: " + job_type});
  expect_error(job, 413, "limit_exceeded");
  EXPECT_LT(server.peak_rss_kib(), 400 * 1024) << "peak RSS of the server";
}

TEST(serve_hostile_e2e, render_stops_when_the_client_goes) {
  std::string data = test::scratch_dir() + "/data";
  ServerProcess server(data);
  int port = server.port();
  ASSERT_EQ(http_request(port, "POST", "/v1/render", R"({"text":"Warm."})").status, 200);
  // A render of several seconds; the client hangs up after 300 ms.
  std::string body = json{{"text", long_text(6u << 20)}}.dump();
  std::string raw =
      "POST /v1/render HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  send_raw(port, raw, 300);  // closes when its time is up
  std::this_thread::sleep_for(1s);
  double cpu = server.cpu_seconds();
  std::this_thread::sleep_for(1s);
  EXPECT_LT(server.cpu_seconds() - cpu, 0.2) << "the render went on after the client left";
  // Nothing half-rendered is left in the cache.
  for (const auto& entry : fs::directory_iterator(data + "/documents"))
    EXPECT_NE(entry.path().filename().string().rfind(".tmp-", 0), 0u) << entry.path();
  EXPECT_TRUE(healthy(port));
}

// Item 5: pixels per page are capped; renders in flight are bounded, so memory is too.
TEST(serve_hostile_e2e, page_pixels_and_renders_in_flight_bounded) {
  std::string data = test::scratch_dir() + "/data";
  ServerProcess server(data, {"--max-renders", "1", "--max-ask-pixels", "1000000"});
  int port = server.port();
  // A question over a document of more pixels than a reading may hold: 413 before reading.
  auto ask = http_request(port, "POST", "/v1/ask",
                          json{{"text", long_text(30000)}, {"mode", "summary"}}.dump());
  expect_error(ask, 413, "limit_exceeded");
  EXPECT_NE(ask.body.find("--max-ask-pixels"), std::string::npos) << ask.body;
  auto big = http_request(
      port, "POST", "/v1/render",
      json{{"text", "hello"}, {"config", {{"dpi", 300}, {"page-size", "813.6,813.6"}}}}.dump());
  expect_error(big, 413, "limit_exceeded");
  EXPECT_NE(big.body.find("pixels"), std::string::npos) << big.body;
  // Three renders at once at the largest page allowed (A4 at 300 dpi: 8.7 million pixels),
  // measured from the warm base (fonts and tokenizer loaded).
  ASSERT_EQ(http_request(port, "POST", "/v1/render", R"({"text":"Warm."})").status, 200);
  long base = server.peak_rss_kib();
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < 3; ++i)
    clients.emplace_back([&, i] {
      json body = {{"text", std::to_string(i) + long_text(20000)},
                   {"config", {{"dpi", 300}, {"preset", "en"}}}};
      auto r = http_request(port, "POST", "/v1/render", body.dump(), {}, 60000);
      if (r.status == 200) ++ok;
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok, 3);
  // And a text of a million characters (the text term).
  auto long_one = http_request(port, "POST", "/v1/render",
                               json{{"text", long_text(1'000'000)}}.dump(), {}, 60000);
  EXPECT_EQ(long_one.status, 200);
  // docs/serve.md: peak ≈ B + R × (2·c·P + 36·T) (+ bodies; no reading here), R = 1, c = 1,
  // P = 9 M pixels, T = 1 M characters; 32 MB for the bodies and allocator slack.
  long bound_kib = base + (2 * 9'000'000 + 36 * 1'000'000) / 1024 + 32 * 1024;
  EXPECT_LT(server.peak_rss_kib(), bound_kib) << "base " << base << " KiB";
}

// Item 6: a streamed answer stops when its client hangs up; SIGTERM ends the server quickly.
TEST(serve_hostile_e2e, abandoned_stream_stops_and_sigterm_exits_fast) {
  std::string data = test::scratch_dir() + "/data";
  auto server = std::make_unique<ServerProcess>(data);
  int port = server->port();
  // Warm (fonts, tokenizer, OCR models) so that only the abandoned work is measured.
  auto warm = http_request(port, "POST", "/v1/ask",
                           json{{"text", "A warm-up."}, {"mode", "summary"}}.dump(), {}, 60000);
  ASSERT_EQ(warm.status, 200) << warm.body;
  json body = {{"text", long_text(200000)}, {"mode", "summary"}, {"stream", true}};
  std::string raw =
      "POST /v1/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(body.dump().size()) + "\r\n\r\n" + body.dump();
  // The OCR reader works for many seconds on this; the client leaves after 1.5 s.
  send_raw(port, raw, 1500);
  std::this_thread::sleep_for(1s);
  double cpu = server->cpu_seconds();
  std::this_thread::sleep_for(1s);
  EXPECT_LT(server->cpu_seconds() - cpu, 0.2) << "reading went on after the client left";

  // Another one in flight when SIGTERM comes.
  std::thread client([&] { send_raw(port, raw, 8000); });
  std::this_thread::sleep_for(1500ms);
  double took = server->terminate(30);
  client.join();
  EXPECT_GE(took, 0);
  EXPECT_LT(took, 5.0);
}

// Item 2: slow clients hold no thread; a head must arrive whole within a few seconds.
TEST(serve_hostile_e2e, slow_clients_do_not_stop_the_service) {
  std::string data = test::scratch_dir() + "/data";
  ServerProcess server(data, {"--api-key", "k3y"});
  int port = server.port();
  // Warm (fonts, tokenizer) so that the timings below measure the waiting only.
  ASSERT_EQ(
      http_request(port, "POST", "/v1/render", R"({"text":"Warm."})", {"Authorization: Bearer k3y"})
          .status,
      200);
  std::vector<int> slow;
  for (int i = 0; i < 64; ++i) slow.push_back(open_with(port, "P"));
  std::atomic<bool> done{false};
  std::thread dribble([&] {
    const std::string rest = "OST /v1/render HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaa";
    for (std::size_t i = 0; i < rest.size() && !done; ++i) {
      for (int fd : slow) ::send(fd, &rest[i], 1, MSG_NOSIGNAL);
      std::this_thread::sleep_for(200ms);
    }
  });
  std::this_thread::sleep_for(500ms);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(healthy(port));
  EXPECT_LT(seconds_since(start), 1.0);
  start = std::chrono::steady_clock::now();
  auto r = http_request(port, "POST", "/v1/render", R"({"text":"Quick."})",
                        {"Authorization: Bearer k3y"});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_LT(seconds_since(start), 1.0);
  // The slow heads are cut off within the head timeout (5 s), each with a 408 or a close.
  auto cut_start = std::chrono::steady_clock::now();
  std::size_t closed = 0;
  while (closed < slow.size() && seconds_since(cut_start) < 8) {
    closed = 0;
    for (int fd : slow) {
      pollfd p{fd, POLLIN, 0};
      closed += ::poll(&p, 1, 0) > 0;
    }
    std::this_thread::sleep_for(100ms);
  }
  done = true;
  dribble.join();
  EXPECT_EQ(closed, slow.size());
  EXPECT_LT(seconds_since(cut_start), 7.0);
  for (int fd : slow) {
    char buf[512];
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      EXPECT_EQ(std::string(buf, static_cast<std::size_t>(n)).substr(0, 12), "HTTP/1.1 408");
    }
    ::close(fd);
  }
}

// Item 10: the layout only when asked; compression costs a small share of the request.
TEST(serve_hostile_e2e, large_render_answers_are_small_and_fast) {
  std::string data = test::scratch_dir() + "/data";
  ServerProcess server(data);
  int port = server.port();
  std::string body = json{{"text", long_text(2u << 20)}}.dump();
  auto first = http_request(port, "POST", "/v1/render", body, {}, 120000);
  ASSERT_EQ(first.status, 200);
  json d = json::parse(first.body);
  EXPECT_FALSE(d.contains("layout"));
  auto time_it = [&](const std::vector<std::string>& headers, test::HttpReply& out) {
    auto start = std::chrono::steady_clock::now();
    out = http_request(port, "POST", "/v1/render?layout=true", body, headers);
    return seconds_since(start);
  };
  test::HttpReply plain, br, gz;
  time_it({}, plain);  // warm: the cached body
  double t_plain = time_it({}, plain);
  double t_br = time_it({"Accept-Encoding: br"}, br);
  double t_gzip = time_it({"Accept-Encoding: gzip"}, gz);
  ASSERT_EQ(plain.status, 200);
  EXPECT_GT(plain.body.size(), 2u << 20) << "the layout of 2 MB of text is large";
  EXPECT_EQ(br.header("content-encoding"), "br");
  EXPECT_EQ(gz.header("content-encoding"), "gzip");
  EXPECT_LT(br.body.size(), plain.body.size() / 3);
  EXPECT_LT(gz.body.size(), plain.body.size() / 2);
  // Sending 2+ MB over loopback costs about as much as compressing it at these levels.
  EXPECT_LT(t_br, 2 * t_plain + 0.25) << t_plain << " s plain";
  EXPECT_LT(t_gzip, 2 * t_plain + 0.25) << t_plain << " s plain";
  auto small = http_request(port, "POST", "/v1/render", body, {"Accept-Encoding: br"});
  EXPECT_LT(small.body.size(), 64u << 10) << "without the layout the answer is small";
}

}  // namespace
}  // namespace glyph
