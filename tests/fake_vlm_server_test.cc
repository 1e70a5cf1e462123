// The fake server as a program (build/fake_vlm_server), as the CLI and web-page end-to-end tests
// start it: it prints its address, answers as the mode's server would, and stops on SIGTERM.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "image/image.h"
#include "read/vlm_reader.h"
#include "support/paths.h"

extern char** environ;

namespace glyph {
namespace {

struct Spawned {
  pid_t pid = -1;
  int stdout_fd = -1;
};

Spawned spawn(const std::vector<std::string>& args) {
  int pipe_fds[2];
  EXPECT_EQ(::pipe(pipe_fds), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  Spawned spawned;
  EXPECT_EQ(posix_spawn(&spawned.pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  spawned.stdout_fd = pipe_fds[0];
  return spawned;
}

std::string read_line(int fd, std::chrono::milliseconds timeout) {
  std::string line;
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    pollfd waiting{fd, POLLIN, 0};
    if (::poll(&waiting, 1, 50) <= 0) continue;
    char c;
    if (::read(fd, &c, 1) != 1) break;
    if (c == '\n') return line;
    line += c;
  }
  return line;
}

int wait_for_exit(pid_t pid, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return -1;
}

TEST(fake_vlm_server_e2e, the_program_serves_a_scripted_answer_and_stops_on_sigterm) {
  Spawned server =
      spawn({test::binary_dir() + "/fake_vlm_server", "--port", "0", "--mode", "llamacpp",
             "--answer", "The code is 4217.", "--reasoning", "Page 1 says so.", "--api-key", "k1"});
  ASSERT_GT(server.pid, 0);
  std::string line = read_line(server.stdout_fd, std::chrono::seconds(10));
  ASSERT_TRUE(line.starts_with("listening on http://127.0.0.1:")) << line;
  const std::string url = line.substr(std::string("listening on ").size());

  VlmReaderOptions options;
  options.base_url = url;
  options.api_key = "k1";
  VlmReader reader(options);
  EXPECT_TRUE(reader.check_health().ok);
  ReadRequest request;
  request.prompt = "What is the code?";
  request.pages.push_back(
      PageInput{1, std::make_shared<PageImage>(120, 160, 1, 255), std::nullopt, 72});
  ReadResult result = reader.read(request, {});
  EXPECT_EQ(result.content, "The code is 4217.");
  EXPECT_EQ(result.reasoning, "Page 1 says so.");
  EXPECT_EQ(result.model, "glyph-q4_k_m.gguf");
  EXPECT_GT(result.usage.prompt_tokens, 0);

  ::kill(server.pid, SIGTERM);
  EXPECT_EQ(wait_for_exit(server.pid, std::chrono::seconds(10)), 0);
  ::close(server.stdout_fd);
}

TEST(fake_vlm_server_e2e, the_program_refuses_an_unknown_mode) {
  Spawned server = spawn({test::binary_dir() + "/fake_vlm_server", "--mode", "tgi"});
  ASSERT_GT(server.pid, 0);
  EXPECT_NE(wait_for_exit(server.pid, std::chrono::seconds(10)), 0);
  ::close(server.stdout_fd);
}

}  // namespace
}  // namespace glyph
