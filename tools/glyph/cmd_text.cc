// glyph text INPUT: the text exactly as it will be rendered (after the text rules), or with
// --lines the lines and pages the layout makes of it.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "config/config.h"
#include "core/error.h"
#include "core/file.h"
#include "core/utf8.h"
#include "font/font.h"
#include "input.h"
#include "layout/layout.h"
#include "reflow/reflow.h"

namespace glyph::cli {
namespace {

struct TextOptions {
  std::string input;
  std::string config_path;
  std::string font;
  bool verbose = false;
  bool lines = false;
  bool json = false;
  InputFlags input_flags;
};

void run_text(const TextOptions& options) {
  const Document document = read_input(options.input, options.input_flags, options.verbose);
  const std::string& bytes = document.text;
  std::vector<std::string> warnings;
  RenderConfig config;
  if (!options.config_path.empty()) {
    config = is_preset_name(options.config_path) ? preset_config(options.config_path)
                                                 : load_config(options.config_path, &warnings);
  } else {
    const std::u32string decoded = decode_utf8(bytes).text;
    const std::string_view chosen = script_preset_name(decoded);
    config = preset_config(chosen);
    if (options.verbose) {
      std::fprintf(stderr, "config: preset %.*s (chosen by script)\n",
                   static_cast<int>(chosen.size()), chosen.data());
      if (const std::string_view fits = preset_name_for_text(decoded); fits != chosen)
        std::fprintf(stderr,
                     "config: the text looks like %.*s: `-c %.*s` keeps its lines as given "
                     "(less compression; docs/config.md)\n",
                     static_cast<int>(fits.size()), fits.data(), static_cast<int>(fits.size()),
                     fits.data());
    }
  }
  if (!options.font.empty()) config.font_path = options.font;
  apply_reflow_flag(options.input_flags, config);
  for (const std::string& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  const PreparedDocument document_prepared = prepare_document(document, config);
  const PreparedText& prepared = document_prepared.prepare;
  const std::u32string& text = document_prepared.text;
  if (options.verbose) {
    std::fprintf(stderr,
                 "text: %zu characters; invalid UTF-8 replaced: %zu; line breaks normalized: %zu; "
                 "tabs expanded: %zu "
                 "(to %d spaces); page breaks: %zu; controls dropped: %zu; invisible characters "
                 "removed: %zu; "
                 "made visible: %zu\n",
                 text.size(), prepared.invalid_utf8, prepared.line_breaks_normalized,
                 prepared.tabs_expanded, PreparedText::tab_width, prepared.page_breaks,
                 prepared.controls_dropped, prepared.invisible_removed, prepared.made_visible);
    if (prepared.invalid_utf8 > 0)
      std::fprintf(stderr, "text: first invalid UTF-8 at byte %zu\n",
                   prepared.first_invalid_offset);
    std::fprintf(stderr, "%s\n", document_prepared.reflow.summary().c_str());
  }
  if (!options.lines && !options.json) {
    std::cout << encode_utf8(text);
    return;
  }
  const FontSet fonts(config);
  const Layout layout = lay_out(text, config, fonts);
  if (options.verbose)
    std::fprintf(
        stderr,
        "layout: %zu pages; characters from fallback fonts: %zu; characters no font has: %zu\n",
        layout.pages.size(), layout.fallback_chars, layout.missing_glyph_chars);
  auto line_text = [&](const LineLayout& line) {
    return encode_utf8(drawn_text(line, text, config));
  };
  if (options.json) {
    nlohmann::json out = {{"chars", layout.char_count}, {"pages", nlohmann::json::array()}};
    for (const PageLayout& page : layout.pages) {
      nlohmann::json lines = nlohmann::json::array();
      for (const LineLayout& line : page.lines) {
        size_t fallback = 0;
        for (const PlacedGlyph& g : line.glyphs) fallback += g.font_index != 0 || g.glyph_id == 0;
        lines.push_back({{"text", line_text(line)},
                         {"char_start", line.char_start},
                         {"char_end", line.char_end},
                         {"baseline_pt", line.baseline_pt},
                         {"fallback_glyphs", fallback},
                         {"bbox_pt", {line.x0_pt, line.y0_pt, line.x1_pt, line.y1_pt}}});
        // A PDF: the source page the line's text begins on (reflow flows pages together).
        if (!document_prepared.map.page_starts.empty())
          lines.back()["source_page"] =
              document_prepared.map.source_page(line.char_start, line.char_end);
      }
      out["pages"].push_back({{"page", page.number},
                              {"char_start", page.char_start},
                              {"char_end", page.char_end},
                              {"lines", std::move(lines)}});
    }
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  for (const PageLayout& page : layout.pages) {
    std::cout << "--- page " << page.number << " (chars " << page.char_start << "-" << page.char_end
              << ")\n";
    for (const LineLayout& line : page.lines) std::cout << line_text(line) << "\n";
  }
}

}  // namespace

void add_text_command(CLI::App& app) {
  auto options = std::make_shared<TextOptions>();
  auto* cmd = app.add_subcommand(
      "text", "Print the text exactly as it will be rendered (or its lines with --lines)");
  cmd->add_option("input", options->input,
                  "Document (txt in any encoding, pdf, docx, md, html), or - for standard input")
      ->required();
  add_input_flags(cmd, options->input_flags);
  cmd->add_option("-c,--config", options->config_path,
                  "Glyph config JSON, or a preset name (en, zh, lines, code, json, table); "
                  "default: chosen by the text");
  cmd->add_option("--font", options->font, "Use this font file instead of the config's font-path");
  cmd->add_flag("--lines", options->lines,
                "Print the lines of each page as the layout breaks them");
  cmd->add_flag("--json", options->json,
                "Print the layout as JSON (pages, lines, char ranges, boxes in points)");
  cmd->add_flag("-v,--verbose", options->verbose,
                "Report replacements and fallback characters on stderr");
  cmd->callback([options] { run_text(*options); });
}

}  // namespace glyph::cli
