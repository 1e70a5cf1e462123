// The layout against the reference renderer (ReportLab → PDF, lines read back by pdftotext):
// same pages, same line texts, line boxes within a pixel. Small inputs keep it quick.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "config/config.h"
#include "core/file.h"
#include "core/utf8.h"
#include "font/font.h"
#include "layout/layout.h"
#include "support/paths.h"
#include "text/prepare.h"

namespace glyph {
namespace {

constexpr const char* kDejaVu = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
constexpr const char* kDroid = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf";
constexpr const char* kWenQuanYi = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";

std::string words(std::string_view text) {
  std::string out;
  std::istringstream in(std::string(text).c_str());
  std::string s(text);
  // Collapse whitespace (and U+00A0) to single spaces, as pdftotext joins words.
  std::string normalized;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 2, "\xC2\xA0") == 0) {
      normalized += ' ';
      ++i;
    } else {
      normalized += s[i] == '\n' || s[i] == '\t' ? ' ' : s[i];
    }
  }
  std::istringstream tokens(normalized);
  std::string word;
  while (tokens >> word) out += (out.empty() ? "" : " ") + word;
  return out;
}

struct Agreement {
  size_t pages = 0, reference_pages = 0, lines = 0, identical = 0;
  double max_box_px = 0;
};

// Runs the reference renderer on (config JSON with its font replaced, text) and compares.
Agreement compare(const std::string& config_file, const std::string& font, nlohmann::json overrides,
                  const std::string& text_utf8, const std::string& name) {
  const std::string dir = test::scratch_dir() + "/" + name;
  std::filesystem::create_directories(dir);
  nlohmann::json cfg =
      nlohmann::json::parse(read_file(test::shared_dir() + "/data/glyph-configs/" + config_file));
  cfg["font-path"] = font;
  for (auto it = overrides.begin(); it != overrides.end(); ++it) cfg[it.key()] = it.value();
  write_file(dir + "/config.json", cfg.dump());
  write_file(dir + "/input.txt", text_utf8);
  const std::string command = "/usr/bin/python3 " + test::shared_dir() +
                              "/reference/reportlab_render.py " + dir + "/config.json " + dir +
                              "/input.txt " + dir + "/ref --lines " + dir + "/lines.json > " + dir +
                              "/ref.log 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << read_file(dir + "/ref.log");
  const nlohmann::json ref = nlohmann::json::parse(read_file(dir + "/lines.json"));

  const RenderConfig config = load_config(dir + "/config.json");
  const FontSet fonts(config);
  const PreparedText prepared = prepare_text(text_utf8, config);
  const Layout layout = lay_out(prepared.text, config, fonts);
  const double scale = config.dpi / 72.0;

  Agreement a;
  a.pages = layout.pages.size();
  a.reference_pages = ref["pages"].size();
  for (size_t p = 0; p < std::max(a.pages, a.reference_pages); ++p) {
    std::vector<const LineLayout*> ours;
    std::vector<std::string> our_text;
    if (p < layout.pages.size()) {
      for (const LineLayout& line : layout.pages[p].lines) {
        const std::u32string drawn = drawn_text(line, prepared.text, config);
        std::string w = words(encode_utf8(drawn));
        if (w.empty()) continue;  // pdftotext lists no empty lines
        ours.push_back(&line);
        our_text.push_back(w);
      }
    }
    // pdftotext splits a line at a wide gap (justified text): join pieces sharing a baseline.
    nlohmann::json theirs = nlohmann::json::array();
    if (p < a.reference_pages) {
      for (const auto& line : ref["pages"][p]["lines"]) {
        if (!theirs.empty() &&
            std::abs(theirs.back()["bbox"][3].get<double>() - line["bbox"][3].get<double>()) <
                0.5 &&
            std::abs(theirs.back()["bbox"][1].get<double>() - line["bbox"][1].get<double>()) <
                0.5) {
          auto& prev = theirs.back();
          prev["text"] = prev["text"].get<std::string>() + " " + line["text"].get<std::string>();
          prev["bbox"][0] = std::min(prev["bbox"][0].get<double>(), line["bbox"][0].get<double>());
          prev["bbox"][2] = std::max(prev["bbox"][2].get<double>(), line["bbox"][2].get<double>());
        } else {
          theirs.push_back(line);
        }
      }
    }
    const size_t n = std::max(ours.size(), theirs.size());
    for (size_t i = 0; i < n; ++i) {
      ++a.lines;
      if (i >= ours.size() || i >= theirs.size()) continue;
      const std::string their_text = words(theirs[i]["text"].get<std::string>());
      if (their_text != our_text[i]) {
        ADD_FAILURE() << name << " page " << p + 1 << " line " << i + 1
                      << "\n  reference: " << their_text << "\n  ours:      " << our_text[i];
        continue;
      }
      ++a.identical;
      const auto& box = theirs[i]["bbox"];
      const double ours_box[4] = {ours[i]->x0_pt * scale, ours[i]->y0_pt * scale,
                                  ours[i]->x1_pt * scale, ours[i]->y1_pt * scale};
      for (int k = 0; k < 4; ++k)
        a.max_box_px = std::max(a.max_box_px, std::abs(box[k].get<double>() - ours_box[k]));
    }
  }
  std::printf(
      "%s: pages %zu (reference %zu), lines %zu, identical %.2f%%, max box deviation %.3f px\n",
      name.c_str(), a.pages, a.reference_pages, a.lines,
      100.0 * a.identical / std::max<size_t>(a.lines, 1), a.max_box_px);
  return a;
}

void expect_agreement(const Agreement& a) {
  EXPECT_EQ(a.pages, a.reference_pages);
  EXPECT_GT(a.lines, 0u);
  EXPECT_GE(a.identical * 100, a.lines * 99);
  EXPECT_LE(a.max_box_px, 1.0);
}

std::string example(const char* name) {
  return read_file(test::shared_dir() + "/data/examples/" + name);
}

// Cuts UTF-8 bytes at a character boundary at or after `size`.
std::string slice(const std::string& text, size_t size) {
  size = std::min(size, text.size());
  while (size < text.size() && (static_cast<unsigned char>(text[size]) & 0xC0) == 0x80) ++size;
  return text.substr(0, size);
}

TEST(reference_layout_integration, english_example_case1) {
  expect_agreement(
      compare("config_en.json", kDejaVu, nlohmann::json::object(), example("case1.txt"), "case1"));
}

TEST(reference_layout_integration, english_single_paragraph_case2_slices) {
  // case2 is one line of 146 KB (one paragraph over 16 pages). Its first 20 KB are plain English
  // (word wrapping); the 24 KB from byte 30000 hold its first Han characters, so ReportLab's CJK
  // wrapping applies to the whole slice, and the paragraph continues across two page breaks.
  const std::string text = example("case2.txt");
  expect_agreement(compare("config_en.json", kDejaVu, nlohmann::json::object(), slice(text, 20000),
                           "case2_head"));
  std::string middle = slice(text, 54000).substr(slice(text, 30000).size());
  const std::u32string middle_text = decode_utf8(middle).text;
  ASSERT_TRUE(std::any_of(middle_text.begin(), middle_text.end(),
                          [](char32_t c) { return c >= 0x4E00 && c <= 0x9FFF; }));
  expect_agreement(
      compare("config_en.json", kDejaVu, nlohmann::json::object(), middle, "case2_cjk"));
}

TEST(reference_layout_integration, chinese_prose_on_droid_sans_fallback) {
  expect_agreement(compare("config_zh.json", kDroid, nlohmann::json::object(),
                           read_file(test::source_dir() + "/tests/data/zh_prose.txt"), "zh_prose"));
}

// Chinese mixed with Latin (commands, options, URLs, version numbers, English words) on a TrueType
// CJK font with its own Latin glyphs: ReportLab's CJK wrapping over both scripts.
TEST(reference_layout_integration, chinese_mixed_with_latin_on_wenquanyi) {
  const std::string text = read_file(test::source_dir() + "/tests/data/zh_mixed.txt");
  expect_agreement(
      compare("config_zh.json", kWenQuanYi, nlohmann::json::object(), text, "zh_mixed"));
  expect_agreement(
      compare("config_zh.json", kWenQuanYi, {{"alignment", "JUSTIFY"}}, text, "zh_mixed_justify"));
}

TEST(reference_layout_integration, justify_indents_spacing_and_red_newlines) {
  const nlohmann::json overrides = {{"alignment", "JUSTIFY"},
                                    {"first-line-indent", 12},
                                    {"left-indent", 5},
                                    {"right-indent", 7},
                                    {"space-before", 4},
                                    {"space-after", 3},
                                    {"newline-markup", "<font color=\"#FF0000\"> \\n </font>"}};
  expect_agreement(
      compare("config_en.json", kDejaVu, overrides, example("case1.txt"), "case1_justify_red"));
}

// Generated edge cases: empty lines, leading and trailing spaces, runs of spaces, &, <, >, URLs and
// words longer than a line, at paragraph and page boundaries.
TEST(reference_layout_integration, english_edge_cases_justified_with_indents) {
  const nlohmann::json overrides = {{"alignment", "JUSTIFY"}, {"first-line-indent", 12},
                                    {"left-indent", 5},       {"right-indent", 7},
                                    {"space-before", 4},      {"space-after", 3}};
  expect_agreement(compare("config_en.json", kDejaVu, overrides,
                           read_file(test::source_dir() + "/tests/data/en_edge.txt"),
                           "en_edge_justify"));
}

// Chinese edge cases: leading spaces, runs of spaces, long Latin words, punctuation that may not
// start a line; paragraphs split across pages are broken again as ReportLab does.
TEST(reference_layout_integration, chinese_edge_cases_justified_centered_red_newlines) {
  const std::string text = read_file(test::source_dir() + "/tests/data/zh_edge.txt");
  expect_agreement(compare("config_zh.json", kDroid,
                           {{"alignment", "JUSTIFY"}, {"first-line-indent", 18}}, text,
                           "zh_edge_justify"));
  expect_agreement(
      compare("config_zh.json", kDroid, {{"alignment", "CENTER"}}, text, "zh_edge_center"));
  expect_agreement(compare("config_zh.json", kDroid,
                           {{"newline-markup", "<font color=\"#FF0000\"> \\n </font>"}}, text,
                           "zh_edge_red"));
}

TEST(reference_layout_integration, centered_and_right_aligned_short_lines) {
  std::string text;
  for (int i = 0; i < 120; ++i)
    text += "line " + std::to_string(i) + std::string(i % 7, 'x') + " end\n";
  expect_agreement(compare("config_en.json", kDejaVu, {{"alignment", "CENTER"}}, text, "center"));
  expect_agreement(compare("config_en.json", kDejaVu, {{"alignment", "RIGHT"}, {"margin-x", 30}},
                           text, "right"));
}

}  // namespace
}  // namespace glyph
