// A `glyph serve` child process on a free port, for the service's end-to-end tests: started from
// the build's program, stopped with SIGTERM (or killed) when the test ends.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace glyph::test {

class ServerProcess {
 public:
  // Starts `glyph serve --port 0 --data DATA_DIR EXTRA...` and waits for its first line.
  explicit ServerProcess(const std::string& data_dir, std::vector<std::string> extra = {});
  ~ServerProcess();  // SIGTERM, then waits
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  void kill9();
  // Sends SIGTERM and returns the seconds until the process exited (waits at most timeout_s;
  // then kills it and returns a negative number).
  double terminate(double timeout_s = 30);
  int port() const { return port_; }
  int pid() const { return pid_; }
  // Peak resident memory (VmHWM) and CPU time used so far (user + system), from /proc.
  long peak_rss_kib() const;
  double cpu_seconds() const;

 private:
  void wait_exit();
  pid_t pid_ = -1;
  int port_ = 0;
  int stdout_fd_ = -1;
};

}  // namespace glyph::test
