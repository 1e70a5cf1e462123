// A redis-server child process for tests: loopback only, on a free port, its files in a folder
// of the test's; stopped (SIGKILL) when the test ends. start() after stop() brings it back on the
// same port with the same folder (with appendonly, with the same data).
#pragma once

#include <sys/types.h>

#include <string>

namespace glyph::test {

class RedisProcess {
 public:
  // `dir`: where it keeps its files. appendonly: AOF with fsync at every write.
  explicit RedisProcess(std::string dir, bool appendonly = false);
  ~RedisProcess();
  RedisProcess(const RedisProcess&) = delete;
  RedisProcess& operator=(const RedisProcess&) = delete;

  void start();
  void kill9();  // no SHUTDOWN: what a crash leaves
  int port() const { return port_; }
  std::string url(int db = 0) const;  // redis://127.0.0.1:PORT/DB

 private:
  std::string dir_;
  bool appendonly_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A free TCP port on 127.0.0.1 (bound and released: free now, very likely a moment later).
int free_port();

}  // namespace glyph::test
