// JobQueue: a durable job queue, shared safely by threads, processes and (on Redis) hosts.
// SqliteJobQueue keeps it in one SQLite file; RedisJobQueue (redis_job_queue.h) in Redis Streams.
// What follows holds for both (tests/job_queue_test.cc runs one suite against each).
//
// States: queued → running → done | failed | cancelled (and running → queued for a retry).
// Delivery is at least once: a worker claims a job with a lease it renews by heartbeat; a job
// whose lease expired, or whose worker process on this host is gone (kill -9), is claimed
// again. The result is written exactly once: complete() is one transaction that writes only if
// the job is still running under the caller's lease and attempt; a stale worker's result is
// dropped. A job is attempted at most max_attempts times (a crash counts as an attempt), then
// marked failed with its last error.
//
// SQLite: WAL journal, BEGIN IMMEDIATE for every write, a busy timeout, and a bounded
// retry around SQLITE_BUSY so that it never reaches a caller while another process holds the
// lock briefly. Each SqliteJobQueue owns one connection guarded by a mutex; methods are
// thread-safe. Payloads (request, result) are opaque strings to the queue.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

struct sqlite3;

namespace glyph::serve {

enum class JobState { queued, running, done, failed, cancelled };
std::string_view to_string(JobState state);
std::optional<JobState> parse_job_state(std::string_view name);

struct JobQueueOptions {
  int lease_ms = 15000;         // a running job not renewed for this long is taken again
  int max_attempts = 3;         // attempts (crashes included) before a job is marked failed
  int retry_backoff_ms = 1000;  // wait before attempt n+1: backoff * 2^(n-1), capped at 60 s
  int busy_timeout_ms = 10000;  // how long a write waits for another process's lock
  // Finished jobs (done, failed, cancelled) older than this are deleted by purge_finished(),
  // with their results and history; 0 keeps them for ever.
  std::int64_t keep_finished_ms = 0;
};

struct JobRecord {
  std::string id;
  std::string kind;
  JobState state = JobState::queued;
  double progress = 0;  // 0..1
  std::string progress_note;
  std::string request;
  std::optional<std::string> result;
  std::string error_code;  // last error (also kept while a retry is pending)
  std::string error_message;
  int attempts = 0;
  int max_attempts = 0;
  int result_writes = 0;  // how many times a result was stored (1 for a done job)
  std::int64_t created_ms = 0, updated_ms = 0, finished_ms = 0;
};

// What a worker holds while it runs a job. The lease token identifies this attempt.
struct JobClaim {
  std::string id;
  std::string kind;
  std::string request;
  int attempt = 0;
  std::string lease_token;
};

enum class HeartbeatStatus { ok, cancelled, lost };

// The queue every backend provides (SqliteJobQueue here, RedisJobQueue in redis_job_queue.h):
// the same states, the same guarantees, the same errors. Methods are thread-safe.
class JobQueue {
 public:
  virtual ~JobQueue() = default;

  // Adds a job and returns its id (random, URL-safe).
  virtual std::string enqueue(std::string_view kind, std::string_view request) = 0;

  // Takes the oldest job ready to run (queued, or running with a dead lease) for `worker`.
  virtual std::optional<JobClaim> claim(std::string_view worker) = 0;

  // Renews the lease and stores progress. `cancelled` when the job was cancelled meanwhile,
  // `lost` when another worker owns it now; either way the caller should stop.
  virtual HeartbeatStatus heartbeat(const JobClaim& claim, double progress,
                                    std::string_view note = {}) = 0;

  // Stores the result and marks the job done, only if `claim` still owns it. Returns whether
  // this call wrote the result.
  virtual bool complete(const JobClaim& claim, std::string_view result) = 0;

  // Records a failure of this attempt: back to queued (after a backoff) when `retryable` and
  // attempts remain, else failed. Returns false when the claim no longer owns the job.
  virtual bool fail(const JobClaim& claim, ErrorCode code, std::string_view message,
                    bool retryable) = 0;

  // Gives a job back without counting the attempt (a worker shutting down cleanly).
  virtual void release(const JobClaim& claim) = 0;

  // Cancels a queued or running job. Returns false when the job had already finished. Throws
  // Error(not_found) for an unknown id.
  virtual bool cancel(std::string_view id) = 0;

  virtual std::optional<JobRecord> get(std::string_view id) = 0;
  // Newest first; `state` filters when set.
  virtual std::vector<JobRecord> list(std::size_t limit,
                                      std::optional<JobState> state = std::nullopt) = 0;

  // How many jobs are queued or running (for the service's admission limit).
  virtual std::size_t pending() = 0;

  // The history of a job: (attempt, event) in order, e.g. (1,"claimed"), (2,"completed").
  virtual std::vector<std::pair<int, std::string>> events(std::string_view id) = 0;

  // Deletes up to `limit` jobs that finished more than options().keep_finished_ms ago (their
  // request, result and history); nothing when keep_finished_ms is 0. Returns how many went.
  // Queued and running jobs are never touched. The service calls it every minute.
  virtual std::size_t purge_finished(std::size_t limit = 1000) = 0;

  // Where the queue lives, for messages and /health ("sqlite:PATH", "redis://HOST:PORT/DB").
  virtual std::string describe() const = 0;

  const JobQueueOptions& options() const { return options_; }

 protected:
  explicit JobQueue(JobQueueOptions options) : options_(options) {}
  JobQueueOptions options_;
};

// What both backends use: the wall clock in ms, random hex digits (job ids, lease tokens), and
// this host's name (in worker names).
namespace queue_detail {
std::int64_t now_ms();
std::string random_hex(std::size_t bytes);
std::string host_name();
}  // namespace queue_detail

// Opens the queue that `where` names: "redis://HOST:PORT/DB" (RedisJobQueue), else the path of
// a SQLite file (SqliteJobQueue). Throws Error naming what could not be opened.
std::unique_ptr<JobQueue> open_job_queue(const std::string& where, JobQueueOptions options = {});

class SqliteJobQueue final : public JobQueue {
 public:
  // Opens (creating when missing) the queue at `path`. Throws Error(io) naming the path.
  explicit SqliteJobQueue(const std::string& path, JobQueueOptions options = {});
  ~SqliteJobQueue() override;
  SqliteJobQueue(const SqliteJobQueue&) = delete;
  SqliteJobQueue& operator=(const SqliteJobQueue&) = delete;

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
  std::string describe() const override { return "sqlite:" + path_; }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
  std::mutex mutex_;
};

}  // namespace glyph::serve
