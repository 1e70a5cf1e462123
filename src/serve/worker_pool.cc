#include "serve/worker_pool.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace glyph::serve {

void JobProgress::report(double fraction, std::string note) {
  std::lock_guard lock(mutex_);
  fraction_ = std::clamp(fraction, 0.0, 1.0);
  note_ = std::move(note);
}

double JobProgress::fraction() const {
  std::lock_guard lock(mutex_);
  return fraction_;
}

std::string JobProgress::note() const {
  std::lock_guard lock(mutex_);
  return note_;
}

void JobProgress::check() const {
  if (cancelled_) throw Error(ErrorCode::cancelled, "the job was cancelled");
}

bool is_retryable(ErrorCode code) {
  switch (code) {
    case ErrorCode::network:
    case ErrorCode::server:
    case ErrorCode::timeout:
    case ErrorCode::io:
    case ErrorCode::internal: return true;
    default: return false;
  }
}

WorkerPool::WorkerPool(JobQueue& queue, JobRunner runner, WorkerPoolOptions options)
    : queue_(queue), runner_(std::move(runner)), options_(options) {
  name_ = "pid" + std::to_string(::getpid());
  options_.heartbeat_ms =
      std::max(20, std::min(options_.heartbeat_ms, queue_.options().lease_ms / 3));
  int n = std::max(1, options_.workers);
  for (int i = 0; i < n; ++i) threads_.emplace_back([this, i] { work(i); });
  threads_.emplace_back([this] { beat(); });
}

WorkerPool::~WorkerPool() {
  stop();
}

void WorkerPool::notify() {
  wake_.notify_all();
}

void WorkerPool::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    for (auto& a : active_) a->progress->cancel();
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void WorkerPool::work(int index) {
  std::string worker = name_ + "/w" + std::to_string(index);
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    std::optional<JobClaim> claim;
    try {
      claim = queue_.claim(worker);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "serve: worker %s: claiming a job failed: %s\n", worker.c_str(),
                   e.what());
    }
    if (!claim) {
      std::unique_lock lock(mutex_);
      if (stopping_) return;
      wake_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms));
      continue;
    }
    auto active = std::make_shared<Active>(Active{*claim, std::make_shared<JobProgress>()});
    {
      std::lock_guard lock(mutex_);
      if (stopping_) active->progress->cancel();
      active_.push_back(active);
    }
    auto stopping = [&] {
      std::lock_guard lock(mutex_);
      return stopping_;
    };
    try {
      try {
        std::string result = runner_(*claim, *active->progress);
        queue_.complete(*claim, result);
      } catch (const Error& e) {
        if (e.code() == ErrorCode::cancelled && stopping())
          queue_.release(*claim);
        else if (e.code() != ErrorCode::cancelled || !active->progress->cancelled())
          queue_.fail(*claim, e.code(), e.what(), is_retryable(e.code()));
        // else: cancelled by a user; the queue already says so.
      } catch (const std::exception& e) {
        queue_.fail(*claim, ErrorCode::internal, e.what(), true);
      }
    } catch (const std::exception& e) {
      // The queue itself failed (disk full, locked too long): the lease will expire and the
      // job will be taken again.
      std::fprintf(stderr, "serve: worker %s: recording job %s failed: %s\n", worker.c_str(),
                   claim->id.c_str(), e.what());
    }
    std::lock_guard lock(mutex_);
    active_.erase(std::remove(active_.begin(), active_.end(), active), active_.end());
  }
}

void WorkerPool::beat() {
  auto next_purge = std::chrono::steady_clock::now();
  for (;;) {
    std::vector<std::shared_ptr<Active>> running;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, std::chrono::milliseconds(options_.heartbeat_ms));
      // Running jobs still need their leases renewed while they wind down.
      if (stopping_ && active_.empty()) return;
      running = active_;
    }
    for (auto& a : running) {
      try {
        auto status = queue_.heartbeat(a->claim, a->progress->fraction(), a->progress->note());
        if (status != HeartbeatStatus::ok) a->progress->cancel();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "serve: heartbeat for job %s failed: %s\n", a->claim.id.c_str(),
                     e.what());
      }
    }
    if (options_.purge_ms > 0 && std::chrono::steady_clock::now() >= next_purge) {
      next_purge = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.purge_ms);
      try {
        queue_.purge_finished();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "serve: deleting old finished jobs failed: %s\n", e.what());
      }
    }
  }
}

}  // namespace glyph::serve
