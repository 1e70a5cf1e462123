// Where the tests find things: the shared folder beside the project, the built binary, and a
// scratch folder per test.
#pragma once

#include <string>

namespace glyph::test {

// ../shared beside the project root (examples, configs, the reference renderer).
std::string shared_dir();
// The project's source root.
std::string source_dir();
// The build folder holding the glyph binary.
std::string binary_dir();
// A fresh empty folder for the running test, removed at the end of the test binary's run.
std::string scratch_dir();

}  // namespace glyph::test
