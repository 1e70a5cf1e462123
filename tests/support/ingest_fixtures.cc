#include "support/ingest_fixtures.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <stdexcept>

#include "core/file.h"
#include "support/paths.h"

namespace glyph::test {

std::string ingest_fixtures_dir() {
  static const std::string dir = [] {
    const std::string script = source_dir() + "/tests/fixtures/make_ingest_fixtures.py";
    // A folder per version of the script, so an edited script regenerates.
    const size_t hash = std::hash<std::string>{}(read_file(script));
    const std::string final_dir = binary_dir() + "/ingest-fixtures-" + std::to_string(hash);
    if (std::filesystem::exists(final_dir + "/done")) return final_dir;
    const std::string tmp = final_dir + ".tmp." + std::to_string(::getpid());
    std::filesystem::remove_all(tmp);
    // ReportLab is Debian's python3-reportlab: the system interpreter, whatever PATH says.
    const std::string command = "/usr/bin/python3 '" + script + "' '" + tmp + "' >/dev/null";
    if (std::system(command.c_str()) != 0) {
      throw std::runtime_error("fixture generation failed: " + command);
    }
    write_file(tmp + "/done", "");
    std::error_code ec;
    std::filesystem::rename(tmp, final_dir, ec);
    if (ec) std::filesystem::remove_all(tmp);  // another test process won the race
    return final_dir;
  }();
  return dir;
}

std::string ingest_fixture(const std::string& name) {
  return ingest_fixtures_dir() + "/" + name;
}

}  // namespace glyph::test
