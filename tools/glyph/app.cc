#include <cstdio>
#include <exception>
#include <iostream>

#include "commands.h"
#include "core/error.h"

namespace glyph::cli {

void add_common_commands(CLI::App& app) {
  app.set_help_all_flag("--help-all", "Show help for every command");
  add_version_command(app);
  add_text_command(app);
  add_tokenize_command(app);
  add_vtokens_command(app);
  add_stats_command(app);
  add_plan_command(app);
  add_render_command(app);
}

int run_app(CLI::App& app, int argc, char** argv) {
  app.require_subcommand(1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const glyph::Error& e) {
    std::cout.flush();
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::cout.flush();
    std::fprintf(stderr, "error: internal: %s\n", e.what());
    return 70;
  }
  return 0;
}

}  // namespace glyph::cli
