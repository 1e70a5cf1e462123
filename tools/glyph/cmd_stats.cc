// glyph stats INPUT [-c CONFIG] [--model NAME] [--json]: what the render of INPUT costs a model.
// glyph plan INPUT --model NAME --budget N: the most legible render that fits N visual tokens.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "commands.h"
#include "config/config.h"
#include "core/error.h"
#include "core/file.h"
#include "core/utf8.h"
#include "input.h"
#include "planning/planning.h"
#include "reflow/reflow.h"
#include "tokens/tokenizer.h"

namespace glyph::cli {

namespace {

struct CostFlags {
  std::string input;
  InputFlags input_flags;
  std::string config_path;  // a file, or "en" / "zh"
  std::optional<double> dpi;
  std::string model = "glyph";
  std::string tokenizer;
  std::int64_t min_pixels = -1, max_pixels = -1;
  bool json = false;
};

void add_cost_flags(CLI::App* cmd, CostFlags& f) {
  cmd->add_option("input", f.input,
                  "Document to render (text, PDF, DOCX, Markdown, HTML; - = stdin)")
      ->required();
  add_input_flags(cmd, f.input_flags);
  cmd->add_option("-c,--config", f.config_path,
                  "Glyph JSON config, or a preset name (default: by content)");
  cmd->add_option("--dpi", f.dpi, "Override the config's dpi");
  cmd->add_option("--model,-m", f.model,
                  "Model reading the pages (default glyph); see glyph vtokens");
  cmd->add_option("--tokenizer", f.tokenizer, "tokenizer.json for text tokens (default: Qwen3's)");
  cmd->add_option("--min-pixels", f.min_pixels, "Pixel floor of the model's resize (Qwen/GLM)");
  cmd->add_option("--max-pixels", f.max_pixels, "Pixel cap of the model's resize (Qwen/GLM)");
  cmd->add_flag("--json", f.json, "Print JSON");
}

struct Prepared {
  RenderConfig config;
  std::u32string text;
  VisualTokenOptions options;
  ReflowReport reflow;
  SourceMap map;
  std::u32string source_text;  // with reflow: the document's text before it
};

Prepared prepare(const CostFlags& f) {
  const Document document = read_input(f.input, f.input_flags);
  Prepared p;
  std::vector<std::string> warnings;
  if (is_preset_name(f.config_path))
    p.config = preset_config(f.config_path);
  else if (!f.config_path.empty())
    p.config = load_config(f.config_path, &warnings);
  else
    p.config = config_for_text(decode_utf8(document.text).text);
  for (const auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (f.dpi) {
    if (!(*f.dpi > 0)) throw Error(ErrorCode::invalid_argument, "--dpi: must be positive");
    p.config.dpi = *f.dpi;
  }
  apply_reflow_flag(f.input_flags, p.config);
  PreparedDocument prepared = prepare_document(document, p.config);
  p.text = std::move(prepared.text);
  p.reflow = std::move(prepared.reflow);
  p.map = std::move(prepared.map);
  p.source_text = std::move(prepared.source_text);
  if (f.min_pixels >= 0) p.options.min_pixels = f.min_pixels;
  if (f.max_pixels >= 0) p.options.max_pixels = f.max_pixels;
  return p;
}

// With reflow, text tokens are those of the document's text (without the reflow's markers and
// joins): what the document costs a model as text. A page's are those of the source stretch its
// characters come from.
void count_source_tokens(RenderMeasure& m, const Prepared& p, const Tokenizer& tokenizer) {
  const std::u32string_view source = p.source_text;
  for (std::size_t i = 0; i < m.stats.pages.size() && i < m.layout.pages.size(); ++i) {
    const PageLayout& page = m.layout.pages[i];
    const std::size_t start = std::min(p.map.source_offset(page.char_start), source.size());
    std::size_t end = i + 1 < m.layout.pages.size()
                          ? p.map.source_offset(m.layout.pages[i + 1].char_start)
                          : source.size();
    end = std::clamp(end, start, source.size());
    PageTokenStats& stats = m.stats.pages[i];
    stats.text_tokens = tokenizer.count(encode_utf8(source.substr(start, end - start)));
    stats.ratio = stats.visual.tokens > 0 ? static_cast<double>(stats.text_tokens) /
                                                static_cast<double>(stats.visual.tokens)
                                          : 0;
  }
  m.stats.text_tokens = tokenizer.count(encode_utf8(source));
  m.stats.ratio = m.stats.visual_tokens > 0 ? static_cast<double>(m.stats.text_tokens) /
                                                  static_cast<double>(m.stats.visual_tokens)
                                            : 0;
}

std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

// {"mode": "auto", "joined": {"prose": 3}, "packed": {...}, "kept": {...}, "lines_joined": ...}
std::string reflow_json(const ReflowReport& r) {
  std::string out = "{\"mode\": \"" + std::string(reflow_mode_name(r.mode)) + "\"";
  for (ReflowAction action : {ReflowAction::joined, ReflowAction::packed, ReflowAction::kept}) {
    out += ", \"" + std::string(reflow_action_name(action)) + "\": {";
    bool first = true;
    for (int k = 0; k <= static_cast<int>(ReflowKind::lines); ++k) {
      const std::size_t n = r.count(static_cast<ReflowKind>(k), action);
      if (n == 0) continue;
      out += std::string(first ? "" : ", ") + "\"" +
             std::string(reflow_kind_name(static_cast<ReflowKind>(k))) + "\": " + std::to_string(n);
      first = false;
    }
    out += "}";
  }
  out += ", \"lines_joined\": " + std::to_string(r.lines_joined) +
         ", \"lines_packed\": " + std::to_string(r.lines_packed) +
         ", \"words_dehyphenated\": " + std::to_string(r.words_dehyphenated) +
         ", \"page_markers\": " + std::to_string(r.page_markers) +
         ", \"paragraphs_flowed\": " + std::to_string(r.paragraphs_flowed) +
         ", \"blank_lines_dropped\": " + std::to_string(r.blank_lines_dropped) +
         ", \"leaders_collapsed\": " + std::to_string(r.leaders_collapsed) +
         ", \"rules_shortened\": " + std::to_string(r.rules_shortened) + "}";
  return out;
}

void print_stats(const TokenStats& s, const ReflowReport& reflow, const Tokenizer& tokenizer,
                 bool json) {
  if (json) {
    std::string out = "{\"model\": \"" + s.model + "\", \"chars\": " + std::to_string(s.chars) +
                      ", \"text_tokens\": " + std::to_string(s.text_tokens) +
                      ", \"visual_tokens\": " + std::to_string(s.visual_tokens) +
                      ", \"wrapper_tokens\": " + std::to_string(s.wrapper_tokens) +
                      ", \"saved_by_crop\": " + std::to_string(s.saved_by_crop) +
                      ", \"reflow\": " + reflow_json(reflow) + ", \"ratio\": " + fixed(s.ratio, 4) +
                      ", \"pages\": [";
    for (std::size_t i = 0; i < s.pages.size(); ++i) {
      const PageTokenStats& p = s.pages[i];
      if (i) out += ", ";
      out += "{\"page\": " + std::to_string(p.page) + ", \"chars\": " + std::to_string(p.chars) +
             ", \"text_tokens\": " + std::to_string(p.text_tokens) +
             ", \"width\": " + std::to_string(p.width_px) +
             ", \"height\": " + std::to_string(p.height_px) +
             ", \"resized_width\": " + std::to_string(p.visual.resized_width_px) +
             ", \"resized_height\": " + std::to_string(p.visual.resized_height_px) +
             ", \"visual_tokens\": " + std::to_string(p.visual.tokens) +
             ", \"saved_by_crop\": " + std::to_string(p.saved_by_crop) +
             ", \"ratio\": " + fixed(p.ratio, 4) + "}";
    }
    std::cout << out << "]}\n";
    return;
  }
  std::printf("%5s %9s %12s %11s %11s %8s %10s %7s\n", "page", "chars", "text tokens", "image px",
              "model px", "visual", "crop saved", "ratio");
  for (const PageTokenStats& p : s.pages) {
    const std::string image = std::to_string(p.width_px) + "x" + std::to_string(p.height_px);
    const std::string resized = std::to_string(p.visual.resized_width_px) + "x" +
                                std::to_string(p.visual.resized_height_px);
    std::printf("%5d %9zu %12zu %11s %11s %8lld %10lld %6.2fx\n", p.page, p.chars, p.text_tokens,
                image.c_str(), resized.c_str(), static_cast<long long>(p.visual.tokens),
                static_cast<long long>(p.saved_by_crop), p.ratio);
  }
  std::printf("%5s %9zu %12zu %11s %11s %8lld %10lld %6.2fx\n", "total", s.chars, s.text_tokens, "",
              "", static_cast<long long>(s.visual_tokens), static_cast<long long>(s.saved_by_crop),
              s.ratio);
  std::printf(
      "model %s; text tokens by %s; ratio = text tokens / visual tokens (+%lld image start/end "
      "tokens); crop saved = visual tokens the height crops saved\n",
      s.model.c_str(), tokenizer.source().c_str(), static_cast<long long>(s.wrapper_tokens));
  std::printf("%s\n", reflow.summary().c_str());
  if (reflow.mode != ReflowMode::off)
    std::printf("text tokens: of the document's text before reflow (its markers not counted)\n");
}

std::string describe(const PlanStep& s) {
  return "dpi " + fixed(s.dpi, 0) + ", font " + fixed(s.font_size_pt, 1) + " pt, line height " +
         fixed(s.line_height_pt, 1) + " pt, newlines " +
         (s.inline_newlines ? "inline (\\n markers)" : "as line breaks");
}

}  // namespace

void add_stats_command(CLI::App& app) {
  auto flags = std::make_shared<CostFlags>();
  auto* cmd = app.add_subcommand(
      "stats", "Text tokens, visual tokens and compression ratio of a render, per page");
  add_cost_flags(cmd, *flags);
  cmd->callback([flags] {
    const Prepared p = prepare(*flags);
    const Tokenizer& tokenizer = shared_tokenizer(flags->tokenizer);
    RenderMeasure m = measure_render(p.text, p.config, tokenizer, flags->model, p.options);
    if (!p.source_text.empty()) count_source_tokens(m, p, tokenizer);
    print_stats(m.stats, p.reflow, tokenizer, flags->json);
  });
}

void add_plan_command(CLI::App& app) {
  auto flags = std::make_shared<CostFlags>();
  auto budget = std::make_shared<std::int64_t>(0);
  auto save = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "plan", "Find the most legible render whose pages fit a visual-token budget");
  add_cost_flags(cmd, *flags);
  cmd->add_option("--budget,-b", *budget, "Visual tokens the pages may cost in all")->required();
  cmd->add_option("--save-config", *save, "Write the chosen settings as a Glyph JSON config");
  cmd->callback([flags, budget, save] {
    const Prepared p = prepare(*flags);
    const Tokenizer& tokenizer = shared_tokenizer(flags->tokenizer);
    const PlanResult plan =
        plan_render(p.text, p.config, tokenizer, flags->model, *budget, p.options);
    if (!plan.found) {
      const PlanStep* cheapest = &plan.tried.front();
      for (const auto& s : plan.tried) {
        if (s.visual_tokens < cheapest->visual_tokens) cheapest = &s;
      }
      throw Error(ErrorCode::limit_exceeded,
                  "nothing fits in " + std::to_string(*budget) + " visual tokens for " +
                      flags->model + ": the cheapest setting tried (" + describe(*cheapest) +
                      ") needs " + std::to_string(cheapest->visual_tokens) + " over " +
                      std::to_string(cheapest->pages) + " pages; raise --budget or split the text");
    }
    const PlanStep& chosen = plan.tried.back();
    if (!save->empty()) write_file(*save, config_to_json(plan.config) + "\n");
    if (flags->json) {
      std::cout << "{\"found\": true, \"dpi\": " << fixed(chosen.dpi, 0)
                << ", \"font_size\": " << fixed(chosen.font_size_pt, 1)
                << ", \"line_height\": " << fixed(chosen.line_height_pt, 1)
                << ", \"newline_markup\": \"" << (chosen.inline_newlines ? "inline" : "<br/>")
                << "\", \"pages\": " << chosen.pages
                << ", \"visual_tokens\": " << chosen.visual_tokens << ", \"budget\": " << *budget
                << ", \"text_tokens\": " << plan.stats.text_tokens
                << ", \"ratio\": " << fixed(plan.stats.ratio, 4)
                << ", \"tried\": " << plan.tried.size() << "}\n";
      return;
    }
    std::printf("fits: %s\n", describe(chosen).c_str());
    std::printf("%zu pages, %lld visual tokens of %lld for %s; %zu text tokens; ratio %.2fx\n",
                chosen.pages, static_cast<long long>(chosen.visual_tokens),
                static_cast<long long>(*budget), plan.stats.model.c_str(), plan.stats.text_tokens,
                plan.stats.ratio);
    if (plan.tried.size() > 1) {
      std::printf("more legible settings over the budget:\n");
      for (std::size_t i = 0; i + 1 < plan.tried.size(); ++i) {
        std::printf("  %s: %lld visual tokens, %zu pages\n", describe(plan.tried[i]).c_str(),
                    static_cast<long long>(plan.tried[i].visual_tokens), plan.tried[i].pages);
      }
    }
    if (!save->empty()) std::printf("config written to %s\n", save->c_str());
  });
}

}  // namespace glyph::cli
