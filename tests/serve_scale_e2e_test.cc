// End-to-end tests of several `glyph serve` processes on one Redis (docs/serve.md, "Several
// hosts"): real processes, a real redis-server of the test's own on a free loopback port.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "serve/redis_job_queue.h"
#include "support/fake_vlm_server.h"
#include "support/http_client.h"
#include "support/paths.h"
#include "support/redis_process.h"
#include "support/server_process.h"

namespace glyph {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::http_request;
using test::ServerProcess;

// A render job small enough to take milliseconds: a line of text on a small page at low dpi.
std::string small_render_job(int n) {
  json body = {{"mode", "render"},
               {"text", "Job " + std::to_string(n) + ": the quick brown fox jumps over the dog."},
               {"config", {{"dpi", 36}, {"page-size", "298,420"}}}};
  return body.dump();
}

std::string enqueue(int port, const std::string& body) {
  auto r = http_request(port, "POST", "/v1/jobs", body);
  if (r.status != 202) throw std::runtime_error("POST /v1/jobs: " + std::to_string(r.status));
  return json::parse(r.body)["id"].get<std::string>();
}

template <typename F>
bool wait_until(F&& done, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return done();
}

// The job's history as Redis keeps it: (event, detail) in order.
std::vector<std::pair<std::string, std::string>> history(serve::RedisJobQueue& q,
                                                         const std::string& id) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : q.client().command({"LRANGE", "glyph:events:" + id, "0", "-1"}).elements) {
    auto tab = e.str.find('\t');
    auto tab2 = e.str.find('\t', tab + 1);
    out.emplace_back(e.str.substr(tab + 1, tab2 - tab - 1), e.str.substr(tab2 + 1));
  }
  return out;
}

// Two hosts on one Redis run 500 jobs; one is killed with SIGKILL mid-run and started again:
// every job ends done with its result written once, none is lost, attempts stay bounded, and
// the jobs of the killed host were taken over (by the survivor or the restarted host).
TEST(serve_scale_e2e, two_hosts_500_jobs_one_killed_and_restarted) {
  std::string dir = test::scratch_dir();
  test::RedisProcess redis(dir + "/redis");
  std::vector<std::string> flags = {"--queue",        redis.url(), "--workers",     "2",
                                    "--job-lease-ms", "1000",      "--max-renders", "4"};
  auto a = std::make_unique<ServerProcess>(dir + "/a", flags);
  ServerProcess b(dir + "/b", flags);
  serve::RedisJobQueue q(redis.url());

  constexpr int kJobs = 500;
  std::vector<std::string> ids;
  for (int i = 0; i < kJobs; ++i)
    ids.push_back(enqueue(i % 2 ? b.port() : a->port(), small_render_job(i)));
  ASSERT_TRUE(wait_until([&] { return q.list(kJobs, serve::JobState::done).size() >= 100; }, 60s));
  int killed_pid = a->pid();
  // Killed while both its workers hold a job (two entries pending for its consumer, HOST/PID).
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::string consumer = std::string(host) + "/" + std::to_string(killed_pid);
  EXPECT_TRUE(wait_until(
      [&] {
        return q.client()
                   .command({"XPENDING", "glyph:stream", "workers", "-", "+", "10", consumer})
                   .elements.size() == 2;
      },
      10s));
  a->kill9();
  std::size_t done_at_kill = q.list(kJobs, serve::JobState::done).size();
  EXPECT_LT(done_at_kill, static_cast<std::size_t>(kJobs)) << "the kill must come mid-run";
  a = std::make_unique<ServerProcess>(dir + "/a", flags);
  ASSERT_TRUE(wait_until([&] { return q.pending() == 0; }, 120s))
      << q.pending() << " jobs still pending";

  std::set<std::string> claimers;
  int taken_over = 0;
  for (const auto& id : ids) {
    auto r = q.get(id);
    ASSERT_TRUE(r) << id << " was lost";
    EXPECT_EQ(r->state, serve::JobState::done) << id << ": " << r->error_message;
    EXPECT_EQ(r->result_writes, 1) << id;
    EXPECT_LE(r->attempts, 2) << id << ": one crash costs one attempt";
    int completed = 0;
    for (const auto& [event, detail] : history(q, id)) {
      completed += event == "completed";
      taken_over += event == "abandoned";
      if (event == "claimed") claimers.insert(detail.substr(0, detail.find('/')));
    }
    EXPECT_EQ(completed, 1) << id;
  }
  EXPECT_EQ(q.list(kJobs + 10).size(), static_cast<std::size_t>(kJobs));
  EXPECT_TRUE(claimers.count("pid" + std::to_string(killed_pid)));
  EXPECT_TRUE(claimers.count("pid" + std::to_string(b.pid())));
  EXPECT_TRUE(claimers.count("pid" + std::to_string(a->pid()))) << "the restarted host works too";
  EXPECT_GE(taken_over, 1) << "the killed host's running jobs were taken over";

  // Any host serves any document: a page rendered on one host is served by the other, the same
  // bytes (rendered again there from the text and config kept in Redis).
  auto result = json::parse(*q.get(ids[0])->result);
  std::string doc = result["document_id"].get<std::string>();
  std::string page = "/v1/documents/" + doc + "/pages/1.png";
  auto from_a = http_request(a->port(), "GET", page);
  auto from_b = http_request(b.port(), "GET", page);
  ASSERT_EQ(from_a.status, 200) << from_a.body;
  ASSERT_EQ(from_b.status, 200) << from_b.body;
  EXPECT_EQ(from_a.body, from_b.body);
}

// Redis killed mid-run and started again with its append-only file: the service answers 503
// (with Retry-After) while it is away, no acknowledged job is lost, and it recovers by itself.
TEST(serve_scale_e2e, redis_restart_mid_run_loses_nothing_and_503_while_away) {
  std::string dir = test::scratch_dir();
  test::RedisProcess redis(dir + "/redis", /*appendonly=*/true);
  ServerProcess host(dir + "/a",
                     {"--queue", redis.url(), "--workers", "2", "--job-lease-ms", "1000"});
  serve::RedisJobQueue q(redis.url());
  constexpr int kJobs = 80;
  std::vector<std::string> ids;
  for (int i = 0; i < kJobs; ++i) ids.push_back(enqueue(host.port(), small_render_job(1000 + i)));
  ASSERT_TRUE(wait_until([&] { return q.list(kJobs, serve::JobState::done).size() >= 10; }, 30s));
  std::size_t pending_at_kill = q.pending();
  redis.kill9();
  EXPECT_GT(pending_at_kill, 0u) << "the restart must come mid-run";
  auto listing = http_request(host.port(), "GET", "/v1/jobs");
  EXPECT_EQ(listing.status, 503) << listing.body;
  EXPECT_FALSE(listing.header("Retry-After").empty());
  EXPECT_EQ(http_request(host.port(), "GET", "/health").status, 503);
  EXPECT_EQ(http_request(host.port(), "POST", "/v1/jobs", small_render_job(5000)).status, 503);
  std::this_thread::sleep_for(1500ms);  // longer than the lease: running jobs are taken again
  redis.start();
  ASSERT_TRUE(wait_until([&] { return q.pending() == 0; }, 60s));
  EXPECT_EQ(http_request(host.port(), "GET", "/health").status, 200);
  for (const auto& id : ids) {
    auto r = q.get(id);
    ASSERT_TRUE(r) << id << " was lost";
    EXPECT_EQ(r->state, serve::JobState::done) << id << ": " << r->error_message;
    EXPECT_EQ(r->result_writes, 1) << id;
  }
  EXPECT_EQ(q.list(1000).size(), static_cast<std::size_t>(kJobs));
}

// Two VLM servers behind one service, one stopped mid-run: every question is still answered
// (failed over to the other server), and while both were up the load was spread over both.
TEST(serve_scale_e2e, two_vlm_endpoints_one_killed_all_asks_answered) {
  test::FakeServerOptions slow;
  slow.answer.chunk_delay_ms = 10;  // an answer takes ~40 ms, so asks overlap
  test::FakeVlmServer a(slow), b(slow);
  ServerProcess host(test::scratch_dir() + "/a", {"--url", a.url(), "--url", b.url(), "--max-asks",
                                                  "4", "--url-health-ms", "200"});
  constexpr int kAsks = 48, kClients = 4;
  std::atomic<int> next{0}, answered{0}, wrong{0};
  std::string failure;
  std::mutex failure_mutex;
  std::atomic<bool> b_stopped{false};
  int b_before_stop = 0;
  auto client = [&] {
    for (int i; (i = next++) < kAsks;) {
      if (i == kAsks / 3 && !b_stopped.exchange(true)) {
        b_before_stop = b.chat_requests();
        b.stop();
      }
      json body = {{"text", "Ask " + std::to_string(i) + ": what is the answer?"},
                   {"question", "What is the answer?"},
                   {"config", {{"dpi", 36}, {"page-size", "298,420"}}}};
      auto r = http_request(host.port(), "POST", "/v1/ask", body.dump());
      if (r.status == 200 && json::parse(r.body)["answer"] == "The answer is 42.") {
        ++answered;
      } else {
        ++wrong;
        std::lock_guard lock(failure_mutex);
        failure = std::to_string(r.status) + " " + r.body;
      }
    }
  };
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) clients.emplace_back(client);
  for (auto& t : clients) t.join();
  EXPECT_EQ(answered.load(), kAsks) << failure;
  // /health counts the servers that answer their checks (every 200 ms here).
  json health;
  EXPECT_TRUE(wait_until(
      [&] {
        health = json::parse(http_request(host.port(), "GET", "/health").body);
        return health["vlm_servers"]["up"] == 1;
      },
      5s))
      << health.dump();
  EXPECT_EQ(health["vlm_servers"]["total"], 2);
  EXPECT_EQ(wrong.load(), 0) << failure;
  EXPECT_GE(b_before_stop, 3) << "both servers took questions while both were up";
  EXPECT_GE(a.chat_requests(), kAsks - b_before_stop) << "server a took the rest";
}

// A streamed answer whose server breaks mid-stream (twice: its one retry there breaks too) is
// told to start again, and is answered whole by the other server.
TEST(serve_scale_e2e, streamed_ask_fails_over_mid_stream_with_a_restart_event) {
  test::FakeVlmServer a, b;
  for (int i = 0; i < 2; ++i)
    a.push_fault({.kind = test::FaultKind::reset_mid_stream, .after_events = 2});
  ServerProcess host(test::scratch_dir() + "/a", {"--url", a.url(), "--url", b.url()});
  json body = {{"text", "The answer to everything is written here."},
               {"question", "What is the answer?"},
               {"config", {{"dpi", 36}, {"page-size", "298,420"}}},
               {"stream", true}};
  auto r = http_request(host.port(), "POST", "/v1/ask", body.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  std::vector<std::string> events;
  std::string content;
  json done;
  for (const auto& [event, data] : test::sse_events(r.body)) {
    json payload = json::parse(data);
    events.push_back(event);
    if (event == "restart") content.clear();
    if (event == "content") content += payload["text"].get<std::string>();
    if (event == "done") done = payload;
  }
  EXPECT_NE(std::find(events.begin(), events.end(), "restart"), events.end()) << r.body;
  EXPECT_EQ(content, "The answer is 42.") << "what streamed after the last restart is whole";
  EXPECT_EQ(done["answer"], "The answer is 42.");
  EXPECT_EQ(a.chat_requests(), 2) << "the first server: the request and its one retry";
  EXPECT_EQ(b.chat_requests(), 1) << "then the other server";
}

}  // namespace
}  // namespace glyph
