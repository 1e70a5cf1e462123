#include <iostream>

#include "commands.h"

namespace glyph::cli {

void add_version_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("version", "Print the version of glyph");
  cmd->callback([] { std::cout << "glyph " << GLYPH_VERSION << "\n"; });
}

}  // namespace glyph::cli
