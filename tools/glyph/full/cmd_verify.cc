// glyph verify INPUT: the OCR round trip. Renders the document, reads every page back with
// Tesseract and reports the character error rate per page and overall against the text the
// layout map says each page holds (definition in docs/readers.md).
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "core/error.h"
#include "reader_flags.h"

namespace glyph::cli {
namespace {

void run_verify(const ReaderFlags& flags, double max_cer) {
  const auto document = load_document(flags);
  const OcrOptions ocr = ocr_options(flags, *document);
  const FidelityReport report = verify_round_trip(*document, ocr, terminal_callbacks(flags));
  const TokenCounts tokens = count_document_tokens(*document, task_options(flags));
  clear_progress();
  if (flags.json) {
    nlohmann::json pages = nlohmann::json::array();
    for (const auto& page : report.pages) {
      pages.push_back({{"page", page.page},
                       {"reference_chars", page.reference_chars},
                       {"errors", page.errors},
                       {"cer", page.cer},
                       {"seconds", page.seconds},
                       {"from_cache", page.from_cache}});
    }
    nlohmann::json j = {{"pages", std::move(pages)},
                        {"reference_chars", report.reference_chars},
                        {"errors", report.errors},
                        {"cer", report.cer},
                        {"dpi", report.dpi},
                        {"ocr",
                         {{"language", ocr.language},
                          {"upscale", effective_upscale(ocr, report.dpi)},
                          {"page_segmentation_mode", ocr.page_segmentation_mode},
                          {"tesseract", tesseract_version()}}},
                        {"seconds", report.seconds}};
    if (tokens.text_tokens) j["text_tokens"] = *tokens.text_tokens;
    if (tokens.visual_tokens) j["visual_tokens"] = *tokens.visual_tokens;
    if (tokens.ratio) j["ratio"] = *tokens.ratio;
    std::cout << j.dump(2) << "\n";
  } else {
    std::printf("%-6s %8s %8s %8s %9s\n", "page", "chars", "errors", "CER", "seconds");
    for (const auto& page : report.pages) {
      std::printf("%-6d %8zu %8zu %7.2f%% %9s\n", page.page, page.reference_chars, page.errors,
                  100.0 * page.cer,
                  page.from_cache ? "cached" : (std::to_string(page.seconds).substr(0, 4)).c_str());
    }
    std::printf(
        "overall: %zu chars, %zu errors, CER %.2f%% at %g dpi (Tesseract %s, %s, upscale %g)\n",
        report.reference_chars, report.errors, 100.0 * report.cer, report.dpi,
        tesseract_version().c_str(), ocr.language.c_str(), effective_upscale(ocr, report.dpi));
    if (tokens.visual_tokens) {
      std::printf("tokens: %s text, %lld visual",
                  tokens.text_tokens ? std::to_string(*tokens.text_tokens).c_str() : "?",
                  static_cast<long long>(*tokens.visual_tokens));
      if (tokens.ratio) std::printf(" (compression %.2fx)", *tokens.ratio);
      std::printf("\n");
    }
  }
  if (max_cer >= 0 && report.cer > max_cer) {
    throw glyph::Error(ErrorCode::limit_exceeded,
                       "character error rate " + std::to_string(report.cer) +
                           " is above --max-cer " + std::to_string(max_cer));
  }
}

}  // namespace

void add_verify_command(CLI::App& app) {
  auto flags = std::make_shared<ReaderFlags>();
  auto max_cer = std::make_shared<double>(-1);
  auto* cmd = app.add_subcommand("verify", full_only_description("verify"));
  add_reader_flags(cmd, *flags, /*with_backend=*/false);
  cmd->add_option("--max-cer", *max_cer,
                  "Exit with an error when the overall CER is above this (0..1)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->callback([flags, max_cer] { run_verify(*flags, *max_cer); });
}

}  // namespace glyph::cli
