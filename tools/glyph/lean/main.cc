// glyph: render long text into page images a vision-language model reads, count what they cost,
// and read them back. See README.md for the commands. This program runs the rendering path itself
// and hands the rest to glyph-full (commands.h).
#include "commands.h"
#include "hand_over.h"

int main(int argc, char** argv) {
  if (glyph::cli::wants_full_tool(argc, argv)) return glyph::cli::hand_over(argv, "");
  CLI::App app{glyph::cli::kAppDescription, "glyph"};
  glyph::cli::add_common_commands(app);
  for (const glyph::cli::CommandSummary& command : glyph::cli::kFullOnlyCommands) {
    // Listed in --help; wants_full_tool() hands them over before parsing ever reaches them.
    auto* stub = app.add_subcommand(command.name, command.description);
    stub->prefix_command();
    stub->set_help_flag();
    stub->callback([] { throw glyph::cli::NeedsFullTool{}; });
  }
  try {
    return glyph::cli::run_app(app, argc, argv);
  } catch (const glyph::cli::NeedsFullTool& e) {
    return glyph::cli::hand_over(argv, e.input_bytes);
  }
}
