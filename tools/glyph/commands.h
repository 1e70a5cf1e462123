// The subcommands of the glyph tool. Each lives in cmd_<name>.cc and adds itself to the app;
// main.cc calls them in the order they appear in --help. Commands parse flags into native types,
// call the library, and print; glyph::Error thrown from a command becomes "error: ..." and exit 1.
#pragma once

#include <CLI/CLI.hpp>

namespace glyph::cli {

void add_version_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_text_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_vtokens_command(CLI::App& app);
void add_stats_command(CLI::App& app);
void add_plan_command(CLI::App& app);
void add_render_command(CLI::App& app);
void add_ask_command(CLI::App& app);
void add_summarize_command(CLI::App& app);
void add_extract_command(CLI::App& app);
void add_verify_command(CLI::App& app);

}  // namespace glyph::cli
