#include "serve/job_queue.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "serve/http_server.h"
#include "serve/redis_job_queue.h"
#include "serve/worker_pool.h"
#include "support/paths.h"
#include "support/redis_process.h"

namespace glyph::serve {
namespace {

using namespace std::chrono_literals;

// Every test of the queue runs against each backend: a SQLite file, and a Redis server of the
// test's own (loopback, a free port, its files in the test's folder).
class QueueTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = test::scratch_dir();
    if (GetParam() == "redis") redis_ = std::make_unique<test::RedisProcess>(dir_ + "/redis");
  }
  bool is_redis() const { return GetParam() == "redis"; }
  // Where the queue lives: the SQLite file, or the Redis URL.
  std::string where() const { return redis_ ? redis_->url() : dir_ + "/queue.db"; }
  std::unique_ptr<JobQueue> open(JobQueueOptions options = {}) {
    return open_job_queue(where(), options);
  }

  std::string dir_;
  std::unique_ptr<test::RedisProcess> redis_;
};

using job_queue = QueueTest;
using worker_pool = QueueTest;
using job_queue_integration = QueueTest;

std::string backend_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

template <typename F>
bool wait_until(F&& done, std::chrono::milliseconds limit = 10s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

TEST_P(job_queue, runs_a_job_through_its_states) {
  auto qp = open();
  auto& q = *qp;
  auto id = q.enqueue("ask", "{\"question\":\"q\"}");
  EXPECT_EQ(q.get(id)->state, JobState::queued);
  auto claim = q.claim("w1");
  ASSERT_TRUE(claim);
  EXPECT_EQ(claim->id, id);
  EXPECT_EQ(claim->request, "{\"question\":\"q\"}");
  EXPECT_EQ(claim->attempt, 1);
  EXPECT_FALSE(q.claim("w2")) << "a running job with a live lease is not handed out twice";
  EXPECT_EQ(q.heartbeat(*claim, 0.5, "page 1 of 2"), HeartbeatStatus::ok);
  auto mid = q.get(id);
  EXPECT_EQ(mid->state, JobState::running);
  EXPECT_DOUBLE_EQ(mid->progress, 0.5);
  EXPECT_EQ(mid->progress_note, "page 1 of 2");
  EXPECT_TRUE(q.complete(*claim, "{\"answer\":42}"));
  auto done = q.get(id);
  EXPECT_EQ(done->state, JobState::done);
  EXPECT_EQ(done->result.value_or(""), "{\"answer\":42}");
  EXPECT_EQ(done->result_writes, 1);
  EXPECT_DOUBLE_EQ(done->progress, 1.0);
  EXPECT_FALSE(q.complete(*claim, "again")) << "a result is written once";
  EXPECT_EQ(q.get(id)->result_writes, 1);
  EXPECT_FALSE(q.get("nope"));
}

TEST_P(job_queue, expired_lease_is_claimed_again_and_stale_result_dropped) {
  auto qp = open({.lease_ms = 50, .max_attempts = 3});
  auto& q = *qp;
  auto id = q.enqueue("ask", "r");
  auto first = q.claim("w1");
  ASSERT_TRUE(first);
  std::this_thread::sleep_for(80ms);
  auto second = q.claim("w2");
  ASSERT_TRUE(second) << "the lease of the first worker expired";
  EXPECT_EQ(second->id, id);
  EXPECT_EQ(second->attempt, 2);
  EXPECT_EQ(q.heartbeat(*first, 0.9), HeartbeatStatus::lost);
  EXPECT_FALSE(q.complete(*first, "stale")) << "the first worker no longer owns the job";
  EXPECT_TRUE(q.complete(*second, "fresh"));
  auto r = q.get(id);
  EXPECT_EQ(r->result.value_or(""), "fresh");
  EXPECT_EQ(r->result_writes, 1);
  EXPECT_EQ(r->attempts, 2);
}

TEST_P(job_queue, a_job_that_always_fails_stops_after_max_attempts_with_its_error) {
  auto qp = open({.lease_ms = 5000, .max_attempts = 3, .retry_backoff_ms = 1});
  auto& q = *qp;
  auto id = q.enqueue("ask", "r");
  int attempts = 0;
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(10ms);  // past the backoff
    auto c = q.claim("w");
    if (!c) continue;
    ++attempts;
    EXPECT_TRUE(q.fail(*c, ErrorCode::network, "connection refused by 127.0.0.1:9", true));
  }
  EXPECT_EQ(attempts, 3);
  auto r = q.get(id);
  EXPECT_EQ(r->state, JobState::failed);
  EXPECT_EQ(r->error_code, "network");
  EXPECT_EQ(r->error_message, "connection refused by 127.0.0.1:9");
  EXPECT_EQ(r->attempts, 3);
  EXPECT_FALSE(r->result);
}

TEST_P(job_queue, permanent_error_fails_at_once) {
  auto qp = open({.max_attempts = 3, .retry_backoff_ms = 1});
  auto& q = *qp;
  auto id = q.enqueue("ask", "r");
  auto c = q.claim("w");
  ASSERT_TRUE(c);
  q.fail(*c, ErrorCode::invalid_argument, "mode must be qa, summary or extract",
         is_retryable(ErrorCode::invalid_argument));
  EXPECT_EQ(q.get(id)->state, JobState::failed);
  EXPECT_EQ(q.get(id)->attempts, 1);
}

TEST_P(job_queue, crash_on_every_attempt_ends_failed) {
  auto qp = open({.lease_ms = 20, .max_attempts = 2});
  auto& q = *qp;
  auto id = q.enqueue("ask", "r");
  ASSERT_TRUE(q.claim("w1"));
  std::this_thread::sleep_for(40ms);
  ASSERT_TRUE(q.claim("w2"));
  std::this_thread::sleep_for(40ms);
  EXPECT_FALSE(q.claim("w3")) << "two attempts used up";
  auto r = q.get(id);
  EXPECT_EQ(r->state, JobState::failed);
  EXPECT_NE(r->error_message.find("2 attempts"), std::string::npos) << r->error_message;
}

TEST_P(job_queue, cancel_queued_and_running) {
  auto qp = open();
  auto& q = *qp;
  auto a = q.enqueue("ask", "a");
  auto b = q.enqueue("ask", "b");
  EXPECT_TRUE(q.cancel(a));
  auto c = q.claim("w");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->id, b) << "a cancelled job is never claimed";
  EXPECT_TRUE(q.cancel(b));
  EXPECT_EQ(q.heartbeat(*c, 0.1), HeartbeatStatus::cancelled);
  EXPECT_FALSE(q.complete(*c, "late")) << "no result for a cancelled job";
  EXPECT_EQ(q.get(b)->state, JobState::cancelled);
  EXPECT_FALSE(q.cancel(b)) << "already finished";
  EXPECT_THROW(q.cancel("missing"), Error);
}

TEST_P(job_queue, survives_reopen_and_lists_newest_first) {
  std::string a, b;
  {
    auto qp = open();
    auto& q = *qp;
    a = q.enqueue("ask", "1");
    std::this_thread::sleep_for(2ms);
    b = q.enqueue("ask", "2");
  }
  auto qp = open();
  auto& q = *qp;
  auto all = q.list(10);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, b);
  EXPECT_EQ(all[1].id, a);
  EXPECT_EQ(q.list(10, JobState::done).size(), 0u);
}

TEST_P(job_queue, purge_deletes_only_jobs_finished_longer_ago_than_kept) {
  auto qp = open({.keep_finished_ms = 300});
  auto& q = *qp;
  // One job at a time, so that each claim takes the job just enqueued.
  auto done = q.enqueue("ask", "done");
  auto c1 = q.claim("w");
  ASSERT_TRUE(c1);
  ASSERT_EQ(c1->id, done);
  ASSERT_TRUE(q.complete(*c1, "result"));
  auto cancelled = q.enqueue("ask", "cancelled");
  ASSERT_TRUE(q.cancel(cancelled));
  auto failed = q.enqueue("ask", "failed");
  auto c2 = q.claim("w");
  ASSERT_TRUE(c2);
  ASSERT_EQ(c2->id, failed);
  ASSERT_TRUE(q.fail(*c2, ErrorCode::invalid_argument, "bad", false));
  auto queued = q.enqueue("ask", "queued");
  EXPECT_EQ(q.purge_finished(), 0u) << "nothing finished 300 ms ago yet";
  std::this_thread::sleep_for(350ms);
  auto running = q.claim("w");
  ASSERT_TRUE(running);
  ASSERT_EQ(running->id, queued);
  auto fresh = q.enqueue("ask", "fresh");
  EXPECT_EQ(q.purge_finished(1), 1u) << "the limit bounds one call";
  EXPECT_EQ(q.purge_finished(), 2u);
  for (const auto& id : {done, cancelled, failed}) {
    EXPECT_FALSE(q.get(id)) << id;
    EXPECT_TRUE(q.events(id).empty()) << id;
  }
  EXPECT_EQ(q.get(queued)->state, JobState::running) << "a running job is never purged";
  EXPECT_EQ(q.get(fresh)->state, JobState::queued);
  auto all = q.list(10);
  ASSERT_EQ(all.size(), 2u) << "the listing forgets the purged jobs";
  EXPECT_TRUE(q.list(10, JobState::done).empty());
  EXPECT_EQ(q.pending(), 2u);
  ASSERT_TRUE(q.complete(*running, "late"));
  EXPECT_EQ(q.purge_finished(), 0u) << "just finished";

  auto keep_all = open();
  EXPECT_EQ(keep_all->purge_finished(), 0u) << "keep_finished_ms 0 keeps every job";
  EXPECT_TRUE(keep_all->get(queued));
}

TEST_P(worker_pool, deletes_finished_jobs_past_the_queue_keep_time) {
  auto qp = open({.lease_ms = 3000, .keep_finished_ms = 50});
  auto& q = *qp;
  WorkerPool pool(q, [](const JobClaim& c, JobProgress&) { return "ok:" + c.request; },
                  {.workers = 1, .poll_ms = 20, .heartbeat_ms = 20, .purge_ms = 20});
  auto id = q.enqueue("ask", "x");
  pool.notify();
  ASSERT_TRUE(wait_until([&] { return !q.get(id); }))
      << "the done job is deleted about 50 ms after it ends";
  EXPECT_TRUE(q.list(10).empty());
}

TEST(job_queue_sqlite, unopenable_path_names_it) {
  try {
    SqliteJobQueue q("/nonexistent-dir-xyz/queue.db");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io);
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir-xyz/queue.db"), std::string::npos);
  }
}

TEST_P(worker_pool, runs_jobs_reports_progress_and_retries_bounded) {
  auto qp = open({.lease_ms = 3000, .max_attempts = 2, .retry_backoff_ms = 1});
  auto& q = *qp;
  std::atomic<int> failing_calls{0};
  WorkerPool pool(q,
                  [&](const JobClaim& c, JobProgress& progress) -> std::string {
                    if (c.request == "fail") {
                      ++failing_calls;
                      throw Error(ErrorCode::server, "upstream answered 500");
                    }
                    if (c.request == "bad")
                      throw Error(ErrorCode::invalid_argument, "no text given");
                    progress.report(0.5, "half");
                    return "ok:" + c.request;
                  },
                  {.workers = 2, .poll_ms = 20, .heartbeat_ms = 20});
  auto good = q.enqueue("ask", "x");
  auto fail = q.enqueue("ask", "fail");
  auto bad = q.enqueue("ask", "bad");
  pool.notify();
  ASSERT_TRUE(wait_until([&] {
    return q.get(good)->state == JobState::done && q.get(fail)->state == JobState::failed &&
           q.get(bad)->state == JobState::failed;
  }));
  EXPECT_EQ(q.get(good)->result.value_or(""), "ok:x");
  EXPECT_EQ(failing_calls.load(), 2);
  EXPECT_EQ(q.get(fail)->error_message, "upstream answered 500");
  EXPECT_EQ(q.get(bad)->attempts, 1);
}

TEST_P(worker_pool, cancel_reaches_a_running_job) {
  auto qp = open({.lease_ms = 3000});
  auto& q = *qp;
  std::atomic<bool> started{false}, saw_cancel{false};
  WorkerPool pool(q,
                  [&](const JobClaim&, JobProgress& progress) -> std::string {
                    started = true;
                    for (int i = 0; i < 500; ++i) {
                      if (progress.cancelled()) {
                        saw_cancel = true;
                        progress.check();
                      }
                      std::this_thread::sleep_for(10ms);
                    }
                    return "finished";
                  },
                  {.workers = 1, .poll_ms = 20, .heartbeat_ms = 20});
  auto id = q.enqueue("ask", "slow");
  pool.notify();
  ASSERT_TRUE(wait_until([&] { return started.load(); }));
  EXPECT_TRUE(q.cancel(id));
  ASSERT_TRUE(wait_until([&] { return saw_cancel.load(); }, 3s));
  EXPECT_EQ(q.get(id)->state, JobState::cancelled);
  EXPECT_FALSE(q.get(id)->result);
}

// Two processes hammer one queue: every job completes exactly once and no caller ever sees
// SQLITE_BUSY (it would surface as an Error and a non-zero exit).
TEST_P(job_queue_integration, two_processes_share_one_queue_without_busy_errors) {
  auto path = where();
  constexpr int kJobsPerProcess = 150;
  pid_t children[2];
  for (int p = 0; p < 2; ++p) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int status = 0;
      try {
        auto qp = open_job_queue(path, {.lease_ms = 10000, .busy_timeout_ms = 5000});
        auto& q = *qp;
        for (int i = 0; i < kJobsPerProcess; ++i) {
          q.enqueue("ask", std::to_string(p) + ":" + std::to_string(i));
          if (auto c = q.claim("p" + std::to_string(p))) {
            q.heartbeat(*c, 0.5);
            q.complete(*c, "done by " + std::to_string(p));
          }
          q.list(5);
        }
        // Drain what is left.
        while (auto c = q.claim("p" + std::to_string(p))) q.complete(*c, "drained");
      } catch (const std::exception& e) {
        std::fprintf(stderr, "child %d: %s\n", p, e.what());
        status = 1;
      }
      std::_Exit(status);
    }
    children[p] = pid;
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a process saw an error";
  }
  auto qp = open();
  auto& q = *qp;
  auto all = q.list(10000);
  EXPECT_EQ(all.size(), 2u * kJobsPerProcess);
  std::set<std::string> ids;
  for (const auto& r : all) {
    ids.insert(r.id);
    EXPECT_EQ(r.state, JobState::done) << r.id;
    EXPECT_EQ(r.result_writes, 1) << r.id;
    EXPECT_EQ(r.attempts, 1) << r.id;
  }
  EXPECT_EQ(ids.size(), all.size());
}

TEST(job_queue_redis, bad_or_unreachable_address_is_named) {
  try {
    open_job_queue("redis://127.0.0.1:notaport/0");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("notaport"), std::string::npos) << e.what();
  }
  int port = test::free_port();
  try {
    open_job_queue("redis://127.0.0.1:" + std::to_string(port) + "/0");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::network);
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(port)), std::string::npos)
        << e.what();
  }
  auto a = parse_redis_url("redis://:secret@redis.internal:6380/3");
  EXPECT_EQ(a.host, "redis.internal");
  EXPECT_EQ(a.port, 6380);
  EXPECT_EQ(a.db, 3);
  EXPECT_EQ(a.password, "secret");
  EXPECT_EQ(a.url(), "redis://redis.internal:6380/3") << "the password is never shown";
}

TEST(job_queue_redis, failed_jobs_go_to_the_dead_letter_stream) {
  test::RedisProcess redis(test::scratch_dir() + "/redis");
  RedisJobQueue q(redis.url(), {.lease_ms = 20, .max_attempts = 1, .retry_backoff_ms = 1});
  auto bad = q.enqueue("ask", "bad");
  auto c = q.claim("w");
  ASSERT_TRUE(c);
  EXPECT_TRUE(q.fail(*c, ErrorCode::invalid_argument, "no text", false));
  auto crashed = q.enqueue("ask", "crash");
  ASSERT_TRUE(q.claim("w"));
  std::this_thread::sleep_for(40ms);
  EXPECT_FALSE(q.claim("w")) << "its one attempt was used up by a worker that went silent";
  EXPECT_EQ(q.get(crashed)->state, JobState::failed);
  EXPECT_EQ(q.dead_letters(10), (std::vector<std::string>{bad, crashed}));
  EXPECT_EQ(q.pending(), 0u);
}

// Redis killed (no SHUTDOWN) and started again with its append-only file: what was acknowledged
// is still there, calls fail with a 503-shaped error while it is away, and the same queue object
// works again by itself afterwards.
TEST(job_queue_redis, survives_a_redis_restart_with_appendonly) {
  test::RedisProcess redis(test::scratch_dir() + "/redis", /*appendonly=*/true);
  RedisJobQueue q(redis.url(), {.lease_ms = 10000});
  auto running = q.enqueue("ask", "a");
  auto waiting = q.enqueue("ask", "b");
  auto c = q.claim("w");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->id, running);
  redis.kill9();
  try {
    q.pending();
    FAIL() << "Redis is down";
  } catch (const HttpStatusError& e) {
    EXPECT_EQ(e.status(), 503);
    EXPECT_EQ(e.code(), ErrorCode::network);
  }
  redis.start();
  EXPECT_EQ(q.pending(), 2u);
  EXPECT_EQ(q.heartbeat(*c, 0.5), HeartbeatStatus::ok) << "the lease survived";
  EXPECT_TRUE(q.complete(*c, "r"));
  auto next = q.claim("w");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->id, waiting);
  EXPECT_TRUE(q.complete(*next, "r2"));
  EXPECT_EQ(q.get(running)->result_writes, 1);
  EXPECT_EQ(q.get(waiting)->state, JobState::done);
}

// A Redis without persistence comes back empty: the jobs are gone (docs/serve.md says to run it
// with AOF), but the queue makes its consumer group again and works on.
TEST(job_queue_redis, a_redis_that_lost_its_data_is_used_again) {
  test::RedisProcess redis(test::scratch_dir() + "/redis", /*appendonly=*/false);
  RedisJobQueue q(redis.url());
  q.enqueue("ask", "before");
  redis.kill9();
  redis.start();
  EXPECT_EQ(q.pending(), 0u);
  auto id = q.enqueue("ask", "after");
  auto c = q.claim("w");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->id, id);
  EXPECT_TRUE(q.complete(*c, "r"));
}

INSTANTIATE_TEST_SUITE_P(backends, job_queue, ::testing::Values("sqlite", "redis"), backend_name);
INSTANTIATE_TEST_SUITE_P(backends, worker_pool, ::testing::Values("sqlite", "redis"), backend_name);
INSTANTIATE_TEST_SUITE_P(backends, job_queue_integration, ::testing::Values("sqlite", "redis"),
                         backend_name);

}  // namespace
}  // namespace glyph::serve
