// glyph: render long text into page images a vision-language model reads, count what they cost,
// and read them back. See README.md for the commands.
#include <cstdio>
#include <exception>
#include <iostream>

#include "commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"glyph: render long text into compact page images for vision-language models", "glyph"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  glyph::cli::add_version_command(app);
  glyph::cli::add_text_command(app);
  glyph::cli::add_tokenize_command(app);
  glyph::cli::add_vtokens_command(app);
  glyph::cli::add_stats_command(app);
  glyph::cli::add_plan_command(app);
  glyph::cli::add_render_command(app);
  glyph::cli::add_serve_command(app);
  glyph::cli::add_ask_command(app);
  glyph::cli::add_summarize_command(app);
  glyph::cli::add_extract_command(app);
  glyph::cli::add_verify_command(app);
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
