// glyph render INPUT [-c CONFIG] [-o OUTDIR] [--threads N] [--json] [--dpi D]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>

#include "commands.h"
#include "config/config.h"
#include "core/error.h"
#include "core/file.h"
#include "core/utf8.h"
#include "input.h"
#include "raster/renderer.h"
#include "reflow/reflow.h"
#include "tokens/page_tokens.h"

namespace glyph::cli {

namespace {

struct RenderArgs {
  std::string input;
  std::string config_path;
  std::string preset;
  std::string outdir = "pages";
  int threads = 0;
  bool json = false;
  std::optional<double> dpi;
  bool quiet = false;
  std::string png = "fast";
  InputFlags input_flags;
};

void run_render(const RenderArgs& args) {
  const auto started = std::chrono::steady_clock::now();
  Document document = read_input(args.input, args.input_flags);
  const std::string& bytes = document.text;

  std::vector<std::string> warnings;
  RenderConfig config;
  if (!args.config_path.empty()) {
    config = load_config(args.config_path, &warnings);
  } else if (!args.preset.empty()) {
    config = preset_config(args.preset);
  } else {
    // By content: CJK text gets the Chinese preset (as the Glyph demo), JSON, tables, code and
    // short lines their own (docs/config.md), anything else the English one.
    config = config_for_text(decode_utf8(bytes).text);
  }
  if (args.dpi) {
    if (!(*args.dpi > 0)) throw Error(ErrorCode::invalid_argument, "--dpi: must be positive");
    config.dpi = *args.dpi;
  }
  apply_reflow_flag(args.input_flags, config);
  for (const auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());

  const PreparedDocument prepared_document = prepare_document(document, config);
  const PreparedText& prepared = prepared_document.prepare;
  std::string().swap(document.text);  // the rendered text is all that is needed from here on
  if (prepared.invalid_utf8) {
    std::fprintf(
        stderr, "warning: %s: %zu invalid UTF-8 sequences replaced by U+FFFD (first at byte %zu)\n",
        args.input.c_str(), prepared.invalid_utf8, prepared.first_invalid_offset);
  }

  const Renderer renderer(config, config.max_text_tokens_per_page > 0
                                      ? text_token_counter(shared_tokenizer())
                                      : TextTokenCounter{});
  RenderOptions options;
  options.threads = args.threads;
  options.png = png_options_named(args.png);
  const bool progress = !args.quiet && isatty(STDERR_FILENO);
  if (progress) {
    options.on_page_written = [](size_t done, size_t total) {
      if (total >= 20 && (done % 10 == 0 || done == total)) {
        std::fprintf(stderr, "\rrendering: %zu/%zu pages", done, total);
        if (done == total) std::fputc('\n', stderr);
      }
    };
  }
  const RenderResult result =
      renderer.render_to_directory(prepared_document.text, args.outdir, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  if (result.missing_glyph_chars) {
    std::fprintf(
        stderr, "warning: %zu characters have no glyph in any font of the chain (drawn as boxes)\n",
        result.missing_glyph_chars);
  }
  if (args.json) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "{\"pages\": %zu, \"chars\": %zu, \"seconds\": %.3f, \"layout_seconds\": %.3f, "
                  "\"raster_seconds\": %.3f, \"missing_chars\": %zu}",
                  result.pages, result.chars, seconds, result.layout_seconds, result.raster_seconds,
                  result.missing_glyph_chars);
    std::cout << buf << "\n";
  } else {
    std::printf("rendered %zu pages (%zu characters) to %s in %.3f s\n", result.pages, result.chars,
                args.outdir.c_str(), seconds);
  }
}

}  // namespace

void add_render_command(CLI::App& app) {
  auto args = std::make_shared<RenderArgs>();
  auto* cmd = app.add_subcommand("render", "Render a text file into page images and layout.json");
  cmd->add_option("input", args->input,
                  "Document (txt in any encoding, pdf, docx, md, html), or - for standard input")
      ->required();
  add_input_flags(cmd, args->input_flags);
  auto* config_opt =
      cmd->add_option("-c,--config", args->config_path,
                      "Glyph JSON config (default: the preset of the text's script, en or zh)");
  cmd->add_option("--preset", args->preset, "Built-in config: en, zh, lines, code, json or table")
      ->excludes(config_opt);
  cmd->add_option("-o,--outdir", args->outdir, "Output folder (default: pages)");
  cmd->add_option("--threads", args->threads, "Rasterizing threads (default: all cores)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--json", args->json, "Print a one-line JSON summary");
  cmd->add_option("--dpi", args->dpi, "Override the config's dpi");
  cmd->add_flag("-q,--quiet", args->quiet, "No progress indication");
  cmd->add_option("--png", args->png,
                  "PNG compression: fast (libdeflate level 1), small (level 6: files half the "
                  "size, encoding 2x slower) or fastest (ISA-L: encoding 2.3x faster, files 25% "
                  "larger, bytes not reproducible run to run)")
      ->check(CLI::IsMember({"fast", "small", "fastest"}))
      ->capture_default_str();
  cmd->callback([args] { run_render(*args); });
}

}  // namespace glyph::cli
