// glyph-full: every command of glyph (see commands.h). `glyph` hands it the commands that need
// the OCR, PDF, HTTP and database libraries; run directly, it is a complete glyph.
#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"glyph: render long text into compact page images for vision-language models",
               "glyph"};
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
  return glyph::cli::run_app(app, argc, argv);
}
