// The job queue's own cost per job, SQLite against Redis: enqueue → claim (the time a job spends
// in the queue machinery before a worker holds it, with nobody else waiting), and a whole
// enqueue → claim → heartbeat → complete. The SQLite file is in a temporary folder; Redis is a
// redis-server started here on a free loopback port (appendonly off, as for a RAM-only figure;
// with appendfsync always every write also waits for an fsync).
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "serve/job_queue.h"

namespace {

namespace fs = std::filesystem;

struct Redis {
  pid_t pid = -1;
  int port = 0;
  std::string dir;
  Redis() {
    dir = fs::temp_directory_path() / ("glyph-queue-bench-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    ::close(fd);
    pid = ::fork();
    if (pid == 0) {
      std::string p = std::to_string(port), log = dir + "/redis.log";
      ::execlp("redis-server", "redis-server", "--port", p.c_str(), "--bind", "127.0.0.1", "--dir",
               dir.c_str(), "--save", "", "--appendonly", "no", "--logfile", log.c_str(), nullptr);
      std::_Exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      try {
        glyph::serve::open_job_queue(url());
        return;
      } catch (const std::exception&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }
  ~Redis() {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    fs::remove_all(dir);
  }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port) + "/0"; }
};

std::string where(bool redis) {
  static Redis server;
  static std::string sqlite_dir = [] {
    auto d = fs::temp_directory_path() / ("glyph-queue-bench-sqlite-" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    return d.string();
  }();
  return redis ? server.url() : sqlite_dir + "/queue.db";
}

const std::string kRequest = R"({"mode":"render","text":"a short text to render"})";

void enqueue_to_claim(benchmark::State& state, bool redis) {
  auto q = glyph::serve::open_job_queue(where(redis));
  for (auto _ : state) {
    q->enqueue("render", kRequest);
    auto claim = q->claim("bench");
    state.PauseTiming();
    q->complete(*claim, "{}");
    state.ResumeTiming();
  }
}

void whole_job(benchmark::State& state, bool redis) {
  auto q = glyph::serve::open_job_queue(where(redis));
  for (auto _ : state) {
    q->enqueue("render", kRequest);
    auto claim = q->claim("bench");
    q->heartbeat(*claim, 0.5, "half");
    q->complete(*claim, "{\"document_id\":\"0123456789abcdef0123456789abcdef\"}");
  }
}

BENCHMARK_CAPTURE(enqueue_to_claim, sqlite, false)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(enqueue_to_claim, redis, true)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(whole_job, sqlite, false)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(whole_job, redis, true)->Unit(benchmark::kMicrosecond);

}  // namespace
