#include "support/server_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/paths.h"

namespace glyph::test {

using namespace std::chrono_literals;

ServerProcess::ServerProcess(const std::string& data_dir, std::vector<std::string> extra) {
  int out[2];
  if (::pipe(out) != 0) throw std::runtime_error("pipe");
  std::vector<std::string> args = {
      test::binary_dir() + "/glyph", "serve", "--port", "0", "--data", data_dir};
  args.insert(args.end(), extra.begin(), extra.end());
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  ::close(out[1]);
  // The first line says where it listens.
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  char c;
  while (std::chrono::steady_clock::now() < deadline && ::read(out[0], &c, 1) == 1) {
    if (c == '\n') break;
    line += c;
  }
  stdout_fd_ = out[0];
  auto colon = line.rfind(':', line.find(" (data"));
  if (line.find("listening on") == std::string::npos || colon == std::string::npos)
    throw std::runtime_error("glyph serve did not start: '" + line + "'");
  port_ = std::stoi(line.substr(colon + 1));
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    wait_exit();
  }
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

void ServerProcess::kill9() {
  ::kill(pid_, SIGKILL);
  wait_exit();
}

double ServerProcess::terminate(double timeout_s) {
  auto start = std::chrono::steady_clock::now();
  ::kill(pid_, SIGTERM);
  int status;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() - start > std::chrono::duration<double>(timeout_s)) {
      kill9();
      return -1;
    }
    std::this_thread::sleep_for(10ms);
  }
  pid_ = -1;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void ServerProcess::wait_exit() {
  int status;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

long ServerProcess::peak_rss_kib() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

double ServerProcess::cpu_seconds() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  long utime = 0, stime = 0;
  // After the name: state is field 3; utime and stime are fields 14 and 15.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::atol(field.c_str());
    if (i == 15) stime = std::atol(field.c_str());
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace glyph::test
