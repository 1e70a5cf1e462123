#include "serve/job_queue.h"

#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <random>
#include <thread>

#include "serve/redis_job_queue.h"

namespace glyph::serve {
namespace queue_detail {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string random_hex(std::size_t bytes) {
  static thread_local std::random_device device;
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes; ++i) {
    auto v = static_cast<unsigned>(device()) & 0xffu;
    out += digits[v >> 4];
    out += digits[v & 15];
  }
  return out;
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace queue_detail

namespace {

using queue_detail::host_name;
using queue_detail::now_ms;
using queue_detail::random_hex;

// Thrown inside a transaction when SQLite reports BUSY/LOCKED, so the whole transaction is
// retried from the start (a partial one would be wrong to continue).
struct Busy {};

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    int rc = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) throw Busy{};
    if (rc != SQLITE_OK)
      throw Error(ErrorCode::internal,
                  std::string("job queue: preparing SQL failed: ") + sqlite3_errmsg(db));
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, std::string_view v) {
    // An empty view may have a null data pointer, which SQLite would store as NULL.
    sqlite3_bind_text(stmt_, i, v.data() ? v.data() : "", static_cast<int>(v.size()),
                      SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  Statement& bind(int i, double v) {
    sqlite3_bind_double(stmt_, i, v);
    return *this;
  }
  Statement& bind_null(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }

  // True when a row is available.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) throw Busy{};
    throw Error(ErrorCode::io, std::string("job queue: ") + sqlite3_errmsg(db_));
  }
  std::string text(int col) const {
    auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const { return sqlite3_column_double(stmt_, col); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

void exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  std::string message = err ? err : "";
  sqlite3_free(err);
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) throw Busy{};
  if (rc != SQLITE_OK) throw Error(ErrorCode::io, "job queue: " + message);
}

// Runs `body` in a BEGIN IMMEDIATE transaction; on BUSY rolls back and retries with a short
// sleep until `deadline_ms` has passed (the busy timeout already waited inside SQLite).
template <typename F>
auto write_transaction(sqlite3* db, int busy_timeout_ms, F&& body) {
  auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms * 3);
  for (int attempt = 0;; ++attempt) {
    try {
      exec(db, "BEGIN IMMEDIATE");
      try {
        if constexpr (std::is_void_v<decltype(body())>) {
          body();
          exec(db, "COMMIT");
          return;
        } else {
          auto result = body();
          exec(db, "COMMIT");
          return result;
        }
      } catch (...) {
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
      }
    } catch (const Busy&) {
      if (std::chrono::steady_clock::now() > give_up)
        throw Error(ErrorCode::timeout,
                    "job queue: the database stayed locked by another process "
                    "for more than " +
                        std::to_string(busy_timeout_ms * 3) + " ms");
      std::this_thread::sleep_for(std::chrono::milliseconds(5 + 5 * std::min(attempt, 20)));
    }
  }
}

template <typename F>
auto read_retrying(int busy_timeout_ms, F&& body) {
  auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms * 3);
  for (int attempt = 0;; ++attempt) {
    try {
      return body();
    } catch (const Busy&) {
      if (std::chrono::steady_clock::now() > give_up)
        throw Error(ErrorCode::timeout, "job queue: the database stayed locked too long");
      std::this_thread::sleep_for(std::chrono::milliseconds(5 + 5 * std::min(attempt, 20)));
    }
  }
}

void add_event(sqlite3* db, std::string_view id, int attempt, std::string_view event,
               std::string_view detail = {}) {
  Statement(db, "INSERT INTO job_events(job_id, attempt, event, detail, at_ms) VALUES(?,?,?,?,?)")
      .bind(1, id)
      .bind(2, attempt)
      .bind(3, event)
      .bind(4, detail)
      .bind(5, now_ms())
      .step();
}

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  request TEXT NOT NULL,
  result TEXT,
  result_writes INTEGER NOT NULL DEFAULT 0,
  error_code TEXT NOT NULL DEFAULT '',
  error_message TEXT NOT NULL DEFAULT '',
  progress REAL NOT NULL DEFAULT 0,
  progress_note TEXT NOT NULL DEFAULT '',
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  lease_token TEXT,
  lease_host TEXT,
  lease_pid INTEGER,
  lease_expires_ms INTEGER,
  not_before_ms INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  finished_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state, created_ms);
CREATE INDEX IF NOT EXISTS jobs_by_finish ON jobs(finished_ms);
CREATE TABLE IF NOT EXISTS job_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  event TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '',
  at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS job_events_by_job ON job_events(job_id, seq);
)sql";

constexpr const char* kColumns =
    "id, kind, state, request, result, result_writes, error_code, error_message, progress, "
    "progress_note, attempts, max_attempts, created_ms, updated_ms, finished_ms";

JobRecord read_record(const Statement& s) {
  JobRecord r;
  r.id = s.text(0);
  r.kind = s.text(1);
  r.state = parse_job_state(s.text(2)).value_or(JobState::failed);
  r.request = s.text(3);
  if (!s.is_null(4)) r.result = s.text(4);
  r.result_writes = static_cast<int>(s.int64(5));
  r.error_code = s.text(6);
  r.error_message = s.text(7);
  r.progress = s.real(8);
  r.progress_note = s.text(9);
  r.attempts = static_cast<int>(s.int64(10));
  r.max_attempts = static_cast<int>(s.int64(11));
  r.created_ms = s.int64(12);
  r.updated_ms = s.int64(13);
  r.finished_ms = s.int64(14);
  return r;
}

bool process_is_gone(std::int64_t pid) {
  if (pid <= 0 || pid == ::getpid()) return false;
  return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

}  // namespace

std::string_view to_string(JobState state) {
  switch (state) {
    case JobState::queued: return "queued";
    case JobState::running: return "running";
    case JobState::done: return "done";
    case JobState::failed: return "failed";
    case JobState::cancelled: return "cancelled";
  }
  return "failed";
}

std::optional<JobState> parse_job_state(std::string_view name) {
  for (auto s :
       {JobState::queued, JobState::running, JobState::done, JobState::failed, JobState::cancelled})
    if (to_string(s) == name) return s;
  return std::nullopt;
}

SqliteJobQueue::SqliteJobQueue(const std::string& path, JobQueueOptions options)
    : JobQueue(options), path_(path) {
  int rc =
      sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(ErrorCode::io, "job queue " + path + ": cannot open: " + message);
  }
  sqlite3_busy_timeout(db_, options_.busy_timeout_ms);
  try {
    read_retrying(options_.busy_timeout_ms, [&] {
      exec(db_, "PRAGMA journal_mode=WAL");
      exec(db_, "PRAGMA synchronous=NORMAL");
    });
    write_transaction(db_, options_.busy_timeout_ms, [&] { exec(db_, kSchema); });
  } catch (const Error& e) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(e.code(), "job queue " + path + ": " + e.what());
  }
}

SqliteJobQueue::~SqliteJobQueue() {
  sqlite3_close(db_);
}

std::string SqliteJobQueue::enqueue(std::string_view kind, std::string_view request) {
  std::string id = random_hex(12);
  std::lock_guard lock(mutex_);
  write_transaction(db_, options_.busy_timeout_ms, [&] {
    auto t = now_ms();
    Statement(db_,
              "INSERT INTO jobs(id, kind, state, request, max_attempts, created_ms, updated_ms) "
              "VALUES(?,?,'queued',?,?,?,?)")
        .bind(1, id)
        .bind(2, kind)
        .bind(3, request)
        .bind(4, options_.max_attempts)
        .bind(5, t)
        .bind(6, t)
        .step();
    add_event(db_, id, 0, "queued");
  });
  return id;
}

std::optional<JobClaim> SqliteJobQueue::claim(std::string_view worker) {
  static const std::string host = host_name();
  std::lock_guard lock(mutex_);
  return write_transaction(db_, options_.busy_timeout_ms, [&]() -> std::optional<JobClaim> {
    auto t = now_ms();
    // Running jobs whose worker is gone: lease expired, or its process on this host has died.
    {
      Statement s(db_,
                  "SELECT id, attempts, max_attempts, lease_expires_ms, lease_host, lease_pid "
                  "FROM jobs WHERE state='running'");
      std::vector<std::tuple<std::string, int, int>> orphans;
      while (s.step()) {
        bool expired = s.int64(3) < t;
        bool dead = s.text(4) == host && process_is_gone(s.int64(5));
        if (expired || dead)
          orphans.emplace_back(s.text(0), static_cast<int>(s.int64(1)),
                               static_cast<int>(s.int64(2)));
      }
      for (const auto& [id, attempts, max_attempts] : orphans) {
        if (attempts >= max_attempts) {
          std::string message = "the worker running this job stopped during each of its " +
                                std::to_string(attempts) + " attempts";
          Statement(db_,
                    "UPDATE jobs SET state='failed', error_code='internal', error_message=?, "
                    "lease_token=NULL, updated_ms=?, finished_ms=? WHERE id=?")
              .bind(1, message)
              .bind(2, t)
              .bind(3, t)
              .bind(4, id)
              .step();
          add_event(db_, id, attempts, "failed", message);
        } else {
          Statement(db_,
                    "UPDATE jobs SET state='queued', lease_token=NULL, updated_ms=? WHERE id=?")
              .bind(1, t)
              .bind(2, id)
              .step();
          add_event(db_, id, attempts, "abandoned");
        }
      }
    }
    Statement pick(db_,
                   "SELECT id, kind, request, attempts FROM jobs WHERE state='queued' AND "
                   "not_before_ms <= ? ORDER BY created_ms, id LIMIT 1");
    pick.bind(1, t);
    if (!pick.step()) return std::nullopt;
    JobClaim c;
    c.id = pick.text(0);
    c.kind = pick.text(1);
    c.request = pick.text(2);
    c.attempt = static_cast<int>(pick.int64(3)) + 1;
    c.lease_token = std::string(worker) + "/" + random_hex(8);
    Statement(db_,
              "UPDATE jobs SET state='running', attempts=?, lease_token=?, lease_host=?, "
              "lease_pid=?, lease_expires_ms=?, progress=0, progress_note='', updated_ms=? "
              "WHERE id=?")
        .bind(1, c.attempt)
        .bind(2, c.lease_token)
        .bind(3, host)
        .bind(4, static_cast<std::int64_t>(::getpid()))
        .bind(5, t + options_.lease_ms)
        .bind(6, t)
        .bind(7, c.id)
        .step();
    add_event(db_, c.id, c.attempt, "claimed", worker);
    return c;
  });
}

HeartbeatStatus SqliteJobQueue::heartbeat(const JobClaim& claim, double progress,
                                          std::string_view note) {
  std::lock_guard lock(mutex_);
  return write_transaction(db_, options_.busy_timeout_ms, [&] {
    auto t = now_ms();
    Statement s(db_, "SELECT state, lease_token FROM jobs WHERE id=?");
    s.bind(1, claim.id);
    if (!s.step()) return HeartbeatStatus::lost;
    auto state = s.text(0);
    if (state == "cancelled") return HeartbeatStatus::cancelled;
    if (state != "running" || s.text(1) != claim.lease_token) return HeartbeatStatus::lost;
    Statement(db_,
              "UPDATE jobs SET lease_expires_ms=?, progress=?, progress_note=?, updated_ms=? "
              "WHERE id=?")
        .bind(1, t + options_.lease_ms)
        .bind(2, std::clamp(progress, 0.0, 1.0))
        .bind(3, note)
        .bind(4, t)
        .bind(5, claim.id)
        .step();
    return HeartbeatStatus::ok;
  });
}

bool SqliteJobQueue::complete(const JobClaim& claim, std::string_view result) {
  std::lock_guard lock(mutex_);
  return write_transaction(db_, options_.busy_timeout_ms, [&] {
    auto t = now_ms();
    Statement s(db_,
                "UPDATE jobs SET state='done', result=?, result_writes=result_writes+1, "
                "progress=1, error_code='', error_message='', lease_token=NULL, updated_ms=?, "
                "finished_ms=? WHERE id=? AND state='running' AND lease_token=? AND attempts=? "
                "AND result IS NULL");
    s.bind(1, result).bind(2, t).bind(3, t).bind(4, claim.id).bind(5, claim.lease_token);
    s.bind(6, claim.attempt);
    s.step();
    bool written = sqlite3_changes(db_) == 1;
    add_event(db_, claim.id, claim.attempt, written ? "completed" : "result_dropped");
    return written;
  });
}

bool SqliteJobQueue::fail(const JobClaim& claim, ErrorCode code, std::string_view message,
                          bool retryable) {
  std::lock_guard lock(mutex_);
  return write_transaction(db_, options_.busy_timeout_ms, [&] {
    auto t = now_ms();
    Statement s(db_, "SELECT state, lease_token, attempts, max_attempts FROM jobs WHERE id=?");
    s.bind(1, claim.id);
    if (!s.step() || s.text(0) != "running" || s.text(1) != claim.lease_token) return false;
    int attempts = static_cast<int>(s.int64(2));
    int max_attempts = static_cast<int>(s.int64(3));
    bool again = retryable && attempts < max_attempts;
    if (again) {
      std::int64_t backoff = static_cast<std::int64_t>(options_.retry_backoff_ms)
                             << std::min(attempts - 1, 16);
      backoff = std::min<std::int64_t>(backoff, 60000);
      Statement(db_,
                "UPDATE jobs SET state='queued', error_code=?, error_message=?, lease_token=NULL, "
                "not_before_ms=?, updated_ms=? WHERE id=?")
          .bind(1, to_string(code))
          .bind(2, message)
          .bind(3, t + backoff)
          .bind(4, t)
          .bind(5, claim.id)
          .step();
      add_event(db_, claim.id, claim.attempt, "retry", message);
    } else {
      Statement(db_,
                "UPDATE jobs SET state='failed', error_code=?, error_message=?, lease_token=NULL, "
                "updated_ms=?, finished_ms=? WHERE id=?")
          .bind(1, to_string(code))
          .bind(2, message)
          .bind(3, t)
          .bind(4, t)
          .bind(5, claim.id)
          .step();
      add_event(db_, claim.id, claim.attempt, "failed", message);
    }
    return true;
  });
}

void SqliteJobQueue::release(const JobClaim& claim) {
  std::lock_guard lock(mutex_);
  write_transaction(db_, options_.busy_timeout_ms, [&] {
    Statement(db_,
              "UPDATE jobs SET state='queued', attempts=attempts-1, lease_token=NULL, "
              "updated_ms=? WHERE id=? AND state='running' AND lease_token=?")
        .bind(1, now_ms())
        .bind(2, claim.id)
        .bind(3, claim.lease_token)
        .step();
    if (sqlite3_changes(db_) == 1) add_event(db_, claim.id, claim.attempt, "released");
  });
}

bool SqliteJobQueue::cancel(std::string_view id) {
  std::lock_guard lock(mutex_);
  return write_transaction(db_, options_.busy_timeout_ms, [&] {
    Statement s(db_, "SELECT state, attempts FROM jobs WHERE id=?");
    s.bind(1, id);
    if (!s.step()) throw Error(ErrorCode::not_found, "no job with id '" + std::string(id) + "'");
    auto state = s.text(0);
    int attempts = static_cast<int>(s.int64(1));
    if (state != "queued" && state != "running") return false;
    auto t = now_ms();
    Statement(db_,
              "UPDATE jobs SET state='cancelled', lease_token=NULL, updated_ms=?, finished_ms=? "
              "WHERE id=?")
        .bind(1, t)
        .bind(2, t)
        .bind(3, id)
        .step();
    add_event(db_, id, attempts, "cancelled");
    return true;
  });
}

std::optional<JobRecord> SqliteJobQueue::get(std::string_view id) {
  std::lock_guard lock(mutex_);
  return read_retrying(options_.busy_timeout_ms, [&]() -> std::optional<JobRecord> {
    Statement s(db_, (std::string("SELECT ") + kColumns + " FROM jobs WHERE id=?").c_str());
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return read_record(s);
  });
}

std::vector<JobRecord> SqliteJobQueue::list(std::size_t limit, std::optional<JobState> state) {
  std::lock_guard lock(mutex_);
  return read_retrying(options_.busy_timeout_ms, [&] {
    std::string sql = std::string("SELECT ") + kColumns + " FROM jobs";
    if (state) sql += " WHERE state=?";
    sql += " ORDER BY created_ms DESC, id LIMIT ?";
    Statement s(db_, sql.c_str());
    int i = 1;
    if (state) s.bind(i++, to_string(*state));
    s.bind(i, static_cast<std::int64_t>(limit));
    std::vector<JobRecord> out;
    while (s.step()) out.push_back(read_record(s));
    return out;
  });
}

std::size_t SqliteJobQueue::pending() {
  std::lock_guard lock(mutex_);
  return read_retrying(options_.busy_timeout_ms, [&] {
    Statement s(db_, "SELECT COUNT(*) FROM jobs WHERE state IN ('queued','running')");
    s.step();
    return static_cast<std::size_t>(s.int64(0));
  });
}

std::vector<std::pair<int, std::string>> SqliteJobQueue::events(std::string_view id) {
  std::lock_guard lock(mutex_);
  return read_retrying(options_.busy_timeout_ms, [&] {
    Statement s(db_, "SELECT attempt, event FROM job_events WHERE job_id=? ORDER BY seq");
    s.bind(1, id);
    std::vector<std::pair<int, std::string>> out;
    while (s.step()) out.emplace_back(static_cast<int>(s.int64(0)), s.text(1));
    return out;
  });
}

std::size_t SqliteJobQueue::purge_finished(std::size_t limit) {
  if (options_.keep_finished_ms <= 0 || limit == 0) return 0;
  std::lock_guard lock(mutex_);
  return write_transaction(db_, options_.busy_timeout_ms, [&] {
    Statement s(db_,
                "SELECT id FROM jobs WHERE state IN ('done','failed','cancelled') AND "
                "finished_ms < ? ORDER BY finished_ms LIMIT ?");
    s.bind(1, now_ms() - options_.keep_finished_ms).bind(2, static_cast<std::int64_t>(limit));
    std::vector<std::string> ids;
    while (s.step()) ids.push_back(s.text(0));
    for (const auto& id : ids) {
      Statement(db_, "DELETE FROM job_events WHERE job_id=?").bind(1, id).step();
      Statement(db_, "DELETE FROM jobs WHERE id=?").bind(1, id).step();
    }
    return ids.size();
  });
}

std::unique_ptr<JobQueue> open_job_queue(const std::string& where, JobQueueOptions options) {
  if (is_redis_url(where)) return std::make_unique<RedisJobQueue>(where, options);
  return std::make_unique<SqliteJobQueue>(where, options);
}

}  // namespace glyph::serve
