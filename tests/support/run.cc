#include "support/run.h"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "core/file.h"
#include "support/paths.h"

namespace glyph::test {

CommandRun run_command(const std::string& command_line) {
  static int counter = 0;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("glyph-run-" + std::to_string(getpid()) + "-" + std::to_string(++counter));
  std::filesystem::create_directories(dir);
  const std::string out = (dir / "out").string(), err = (dir / "err").string();
  CommandRun run;
  const auto start = std::chrono::steady_clock::now();
  const int status = std::system((command_line + " >" + out + " 2>" + err).c_str());
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = read_file(out);
  run.err = read_file(err);
  std::filesystem::remove_all(dir);
  return run;
}

CommandRun run_glyph(const std::string& args) {
  return run_command(binary_dir() + "/glyph " + args);
}

}  // namespace glyph::test
