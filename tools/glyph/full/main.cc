// glyph-full: every command of glyph (see commands.h). `glyph` hands it the commands that need
// the OCR, PDF, HTTP and database libraries; run directly, it is a complete glyph.
#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{glyph::cli::kAppDescription, "glyph"};
  glyph::cli::add_common_commands(app);
  glyph::cli::add_serve_command(app);
  glyph::cli::add_ask_command(app);
  glyph::cli::add_summarize_command(app);
  glyph::cli::add_extract_command(app);
  glyph::cli::add_verify_command(app);
  glyph::cli::add_eval_command(app);
  glyph::cli::add_search_command(app);
  return glyph::cli::run_app(app, argc, argv);
}
