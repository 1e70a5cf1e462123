// WorkerPool: threads that take jobs from a JobQueue and run them.
//
// Each worker claims a job, runs it through the JobRunner and stores the result (or the error:
// retried when the error may pass — network, server, timeout, io, internal — else failed at
// once). One heartbeat thread renews the leases of running jobs and writes their progress; when
// a job is cancelled (DELETE) the heartbeat raises its cancel flag, which the runner sees
// through JobProgress. Idle workers wake on notify() (a job enqueued here) or poll every
// poll_ms (jobs enqueued by another process). The heartbeat thread also deletes, every purge_ms,
// the finished jobs older than the queue keeps them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "serve/job_queue.h"

namespace glyph::serve {

// Handed to a running job: report progress, and learn whether to stop.
class JobProgress {
 public:
  void report(double fraction, std::string note = {});
  bool cancelled() const { return cancelled_.load(); }
  // Throws Error(cancelled) when the job was cancelled or the pool is stopping.
  void check() const;

  double fraction() const;
  std::string note() const;
  void cancel() { cancelled_ = true; }

 private:
  mutable std::mutex mutex_;
  double fraction_ = 0;
  std::string note_;
  std::atomic<bool> cancelled_{false};
};

// Runs one job and returns its result payload; throws glyph::Error on failure.
using JobRunner = std::function<std::string(const JobClaim&, JobProgress&)>;

struct WorkerPoolOptions {
  int workers = 2;
  int poll_ms = 250;
  int heartbeat_ms = 500;  // capped at a third of the queue's lease
  // The heartbeat thread deletes finished jobs past the queue's keep_finished_ms this often
  // (JobQueue::purge_finished); 0 never.
  int purge_ms = 60000;
};

class WorkerPool {
 public:
  WorkerPool(JobQueue& queue, JobRunner runner, WorkerPoolOptions options = {});
  ~WorkerPool();  // stop()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void notify();
  // Stops claiming, cancels running jobs and gives them back to the queue, joins the threads.
  void stop();

 private:
  struct Active {
    JobClaim claim;
    std::shared_ptr<JobProgress> progress;
  };
  void work(int index);
  void beat();

  JobQueue& queue_;
  JobRunner runner_;
  WorkerPoolOptions options_;
  std::string name_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<std::shared_ptr<Active>> active_;
  std::vector<std::thread> threads_;
};

bool is_retryable(ErrorCode code);

}  // namespace glyph::serve
