// RedisJobQueue: the job queue in Redis (7 or later), shared by the `glyph serve` processes of
// several hosts (docs/serve.md, "Several hosts").
//
// Keys, under the prefix "glyph:":
//   stream            a Stream with one entry per job ready to run (field id); consumer group
//                     "workers", one consumer per process (HOST/PID)
//   job:ID            a hash: the job (state, request, result, attempts, lease token, progress,
//                     the id of its live stream entry)
//   events:ID         a list: the job's history ("attempt<TAB>event<TAB>detail")
//   all, state:STATE  sorted sets of job ids by creation time (listing, pending())
//   finished          a sorted set of the finished jobs by finish time (purge_finished())
//   delayed           a sorted set: jobs waiting for a retry, by the time they may run again
//   dead              a Stream, the dead letters: one entry per job that ended failed
//
// A claim (one script, one round trip) reads a new entry with XREADGROUP (it stays in the
// group's pending list while the job runs); the heartbeat XCLAIMs it to its own consumer, which
// resets its idle time: the lease is the entry's idle time. A claim first takes, with
// XAUTOCLAIM, entries idle for longer than lease_ms (their worker died or lost Redis): the job
// runs again, or ends failed with the message of the SQLite queue when its attempts are used up.
// Every change of a job is one Lua script, so it is atomic and checks the caller's lease token and
// attempt: complete() writes the result only if the job is running under that lease and has no
// result yet (an idempotent write keyed by the job id); a stale worker's result is dropped. Times
// (created_ms, the retry backoff) come from the host's clock; leases only from Redis's.
#pragma once

#include <memory>
#include <string>

#include "serve/job_queue.h"
#include "serve/redis_client.h"

namespace glyph::serve {

class RedisJobQueue final : public JobQueue {
 public:
  // Connects to `url` (redis://HOST:PORT/DB) and creates the consumer group when missing.
  // Throws Error naming the address when Redis cannot be reached.
  explicit RedisJobQueue(const std::string& url, JobQueueOptions options = {});
  ~RedisJobQueue() override;

  std::string enqueue(std::string_view kind, std::string_view request) override;
  std::optional<JobClaim> claim(std::string_view worker) override;
  HeartbeatStatus heartbeat(const JobClaim& claim, double progress,
                            std::string_view note = {}) override;
  bool complete(const JobClaim& claim, std::string_view result) override;
  bool fail(const JobClaim& claim, ErrorCode code, std::string_view message,
            bool retryable) override;
  void release(const JobClaim& claim) override;
  bool cancel(std::string_view id) override;
  std::optional<JobRecord> get(std::string_view id) override;
  std::vector<JobRecord> list(std::size_t limit,
                              std::optional<JobState> state = std::nullopt) override;
  std::size_t pending() override;
  std::vector<std::pair<int, std::string>> events(std::string_view id) override;
  std::size_t purge_finished(std::size_t limit = 1000) override;
  std::string describe() const override { return client_->address().url(); }

  // The dead letters: ids of the jobs that ended failed, oldest first.
  std::vector<std::string> dead_letters(std::size_t limit);
  RedisClient& client() { return *client_; }

 private:
  void ensure_group();
  RedisReply script(const std::string& body, std::vector<std::string> args);

  std::unique_ptr<RedisClient> client_;
  std::string prefix_ = "glyph:";
  std::string consumer_;  // HOST/PID
};

}  // namespace glyph::serve
