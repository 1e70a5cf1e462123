// The subcommands of the glyph tool. Each lives in cmd_<name>.cc and adds itself to the app;
// main.cc calls them in the order they appear in --help. Commands parse flags into native types,
// call the library, and print; glyph::Error thrown from a command becomes "error: ..." and exit 1.
//
// Two programs are built from these files (docs/architecture.md, "Two programs"):
// - glyph-full (full/main.cc): every command, linked with every library.
// - glyph (lean/main.cc): the commands of the rendering path, linked only with the libraries they
//   need, so that it starts in ~2 ms instead of ~17 ms (82 shared libraries: Tesseract, poppler,
//   curl, SQLite...). It hands the other commands, and PDF/DOCX input, to glyph-full beside it.
#pragma once

#include <CLI/CLI.hpp>
#include <string_view>

namespace glyph::cli {

// Commands of both programs (tools/glyph/).
void add_version_command(CLI::App& app);
void add_text_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_vtokens_command(CLI::App& app);
void add_stats_command(CLI::App& app);
void add_plan_command(CLI::App& app);
void add_render_command(CLI::App& app);

// Commands of glyph-full only (tools/glyph/full/).
void add_serve_command(CLI::App& app);
void add_ask_command(CLI::App& app);
void add_summarize_command(CLI::App& app);
void add_extract_command(CLI::App& app);
void add_verify_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_search_command(CLI::App& app);

struct CommandSummary {
  const char* name;
  const char* description;
};

// The glyph-full-only commands, in --help order, with the one line --help shows for each.
inline constexpr CommandSummary kFullOnlyCommands[] = {
    {"serve", "Run the HTTP service: the API (docs/api.md), the web page at /, the job queue"},
    {"ask", "Answer a question from the rendered pages (OCR reader, or a VLM server with --url)"},
    {"summarize", "Summarize a document from its rendered pages"},
    {"extract",
     "Extract key information (dates, amounts, quantities, emails, URLs, Key: value pairs, named "
     "fields) as JSON"},
    {"verify", "OCR round trip: render, read back with Tesseract, character error rate per page"},
    {"eval",
     "Evaluation suites (RULER, LongBench, MRCR) against a reader: accuracy vs compression"},
    {"search",
     "Search the rendering config: the best compression the reader still reads (CER floor)"},
};

// The description of a kFullOnlyCommands entry ("" for another name).
constexpr const char* full_only_description(std::string_view name) {
  for (const CommandSummary& c : kFullOnlyCommands)
    if (name == c.name) return c.description;
  return "";
}

// The app both programs start from: the description, --help-all, and the commands of both
// programs (version, text, tokenize, vtokens, stats, plan, render), in --help order.
void add_common_commands(CLI::App& app);
inline constexpr const char* kAppDescription =
    "glyph: render long text into compact page images for vision-language models";

// Parses argv with the commands added to `app` and runs the chosen one: the exit code. Errors
// print as "error: ..." (exit 1; 70 for an internal error), usage errors as CLI11 prints them.
int run_app(CLI::App& app, int argc, char** argv);

}  // namespace glyph::cli
