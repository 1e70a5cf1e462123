// Running a program from a test (the build's glyph, node, ...): a shell command line, its exit
// code and its output.
#pragma once

#include <string>

namespace glyph::test {

struct CommandRun {
  int exit_code = -1;  // -1 when the command did not exit normally
  std::string out, err;
  double seconds = 0;  // wall clock
  // Standard output then standard error, for a test that looks in either.
  std::string output() const { return out + err; }
};

// Runs `command_line` with /bin/sh, standard output and standard error captured apart (in a
// temporary folder of their own, not scratch_dir(), which empties the test's folder on every call).
CommandRun run_command(const std::string& command_line);

// run_command of the build's glyph program with `args`.
CommandRun run_glyph(const std::string& args);

}  // namespace glyph::test
