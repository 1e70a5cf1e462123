// Legibility of the global pass (docs/budget.md): for documents and budgets of visual tokens per
// page, the global pass in each layout ("pages": one scaled image per page; "tiles": 8 pages
// stacked per image) made by the code that ask uses (plan_global_pass, compose_global_pass),
// read back with Tesseract as `glyph verify` reads pages (uniform-block mode, automatic
// enlargement by the image's dpi), and the page marks read as the fake server's selector reads
// them (sparse-text mode, a word "#N", no dpi given).
//
//   global_legibility [--model glm-4.1v] [--budgets 4,8,16,...] [--sample 8] [--threads 2]
//                     [--generate PAGES] FILE...
//
// Each document is laid out as `glyph ask` lays it out (the preset of its script); the pass is
// planned for the whole document at budget x pages tokens, and its first `--sample` pages (the
// first tile) are read. One JSON line per document, budget and layout:
//   chars       characters of the sampled pages' text (normalized as verify does)
//   errors      edit distance between that text and what Tesseract read (marks removed)
//   cer         errors / chars
//   tokens      visual tokens of the images holding the sampled pages
//   legible     characters of words read exactly (in order) per visual token
//   marks       sampled pages whose "#N" was read
// --sample 0 prints the plans only (dpi and tokens of each layout), without reading anything.
// --generate PAGES adds a generated document of that many pages (filler sentences of a small
// vocabulary, as bench/budget_needles.py writes them).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "budget/budget.h"
#include "config/config.h"
#include "core/utf8.h"
#include "ingest/ingest.h"
#include "layout/layout.h"
#include "read/ocr_reader.h"
#include "tasks/tasks.h"

namespace {

using namespace glyph;

std::string generated_text(int pages) {
  static const char* const kWords[] = {
      "harbour", "council", "winter",   "ledger",  "river",   "bridge", "market",  "salt",
      "cloth",   "school",  "teacher",  "pupil",   "road",    "valley", "rain",    "spring",
      "summer",  "autumn",  "merchant", "coast",   "village", "mill",   "grain",   "tower",
      "bell",    "lamp",    "garden",   "orchard", "letter",  "record", "meeting", "account",
      "vote",    "harvest", "fisher",   "boat",    "north",   "south",  "east",    "west",
      "chapel",  "square",  "stone",    "timber",  "wagon",   "horse",  "field",   "fence"};
  std::mt19937 rng(static_cast<unsigned>(pages));
  std::string text;
  int in_paragraph = 0;
  while (text.size() < static_cast<size_t>(pages) * 9800) {
    text += "The";
    const int words = 8 + static_cast<int>(rng() % 9);
    for (int w = 0; w < words; ++w) text += std::string(" ") + kWords[rng() % std::size(kWords)];
    text += ".";
    text += ++in_paragraph % 6 == 0 ? "\n" : " ";
  }
  return text;
}

bool has_han(std::u32string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char32_t c) { return c >= 0x4E00 && c <= 0x9FFF; });
}

std::vector<int> parse_list(const std::string& text) {
  std::vector<int> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    out.push_back(std::stoi(text.substr(start, comma - start)));
    start = comma + 1;
  }
  return out;
}

// Words of a normalized text (split at spaces; CJK text, which has none, one character a word).
std::vector<std::u32string> words_of(const std::u32string& text) {
  std::vector<std::u32string> words;
  std::u32string word;
  for (char32_t c : text) {
    const bool cjk = c >= 0x2E80 && c <= 0x9FFF;
    if (c == U' ' || cjk) {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
      if (cjk) words.push_back(std::u32string(1, c));
      continue;
    }
    word += c;
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

// Characters of the reference's words that were read exactly, in order: the longest common
// subsequence of the two word sequences, weighted by word length. Unlike chars - errors, a
// page read as noise scores about nothing.
size_t legible_chars(const std::u32string& reference, const std::u32string& hypothesis) {
  const auto a = words_of(reference);
  const auto b = words_of(hypothesis);
  std::vector<size_t> row(b.size() + 1, 0), previous(b.size() + 1, 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    std::swap(row, previous);
    row[0] = 0;
    for (size_t j = 1; j <= b.size(); ++j) {
      row[j] = a[i - 1] == b[j - 1] ? previous[j - 1] + a[i - 1].size()
                                    : std::max(previous[j], row[j - 1]);
    }
  }
  return row[b.size()];
}

struct Measure {
  size_t chars = 0;
  size_t errors = 0;
  size_t correct = 0;
  int64_t tokens = 0;
  int marks = 0;
  int pages = 0;
};

Measure measure(const RenderedDocument& document, const GlobalPassPlan& plan,
                const GlobalPassOptions& global, size_t sample, const OcrOptions& ocr) {
  std::vector<const PageImage*> images;
  std::vector<std::shared_ptr<const PageImage>> keep;
  std::vector<std::pair<int, int>> sizes;
  std::vector<int> numbers;
  for (size_t p = 0; p < sample; ++p) {
    keep.push_back(document.page_image(p));
    images.push_back(keep.back().get());
    sizes.emplace_back(keep.back()->width_px, keep.back()->height_px);
    numbers.push_back(document.layout().pages[p].number);
  }
  const auto composed = compose_global_pass(images, numbers, plan, global);
  const auto placements = global_pass_placements(sizes, plan, global);
  std::vector<PageInput> inputs;
  Measure m;
  for (const auto& image : composed) {
    PageInput input;
    input.page_number = static_cast<int>(inputs.size() + 1);
    input.image = std::make_shared<const PageImage>(image);
    input.dpi = document.dpi() * plan.scale;
    m.tokens += image_cost(global.model, image.width_px, image.height_px);
    inputs.push_back(std::move(input));
  }
  const auto read = recognize_pages(inputs, ocr);
  // The marks as the fake server's selector reads them: sparse-text mode, the image's dpi not
  // given (a request carries none), so enlarged 2x.
  OcrOptions sparse = ocr;
  sparse.page_segmentation_mode = 11;
  std::vector<PageInput> undated = inputs;
  for (auto& input : undated) input.dpi = 0;
  const auto sparse_read = recognize_pages(undated, sparse);
  static const std::regex mark(R"(^#(\d{1,5})[.,:;]?$)");
  for (size_t p = 0; p < sample; ++p) {
    const auto& placement = placements[p];
    const auto& page = document.layout().pages[p];
    const std::u32string reference =
        normalize_for_cer(std::u32string_view(document.text())
                              .substr(page.char_start, page.char_end - page.char_start));
    std::string hypothesis;
    for (const OcrLine& line : read[placement.image].lines) {
      const int middle = (line.box.top_px + line.box.bottom_px) / 2;
      if (middle < placement.band.top_px || middle >= placement.page.bottom_px) continue;
      for (const OcrWord& word : line.words) {
        if (std::regex_match(word.text, mark)) continue;
        hypothesis += (hypothesis.empty() ? "" : " ") + word.text;
      }
    }
    const std::u32string read_text = normalize_for_cer(decode_utf8(hypothesis).text);
    m.chars += reference.size();
    m.errors += edit_distance(reference, read_text);
    m.correct += legible_chars(reference, read_text);
    ++m.pages;
    bool found = false;
    for (const OcrLine& line : sparse_read[placement.image].lines) {
      for (const OcrWord& word : line.words) {
        std::smatch match;
        if (std::regex_match(word.text, match, mark) && std::stoi(match[1].str()) == numbers[p] &&
            word.box.top_px >= placement.band.top_px - 4 &&
            word.box.bottom_px <= placement.band.bottom_px + 4)
          found = true;
      }
    }
    m.marks += found ? 1 : 0;
  }
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = "glm-4.1v";
  std::vector<int> budgets = {4, 8, 16, 32, 64, 128, 256, 400};
  size_t sample = 8;
  int threads = 2;
  std::vector<std::string> files;
  std::vector<int> generate;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "global_legibility: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--model") {
      model = value();
    } else if (arg == "--budgets") {
      budgets = parse_list(value());
    } else if (arg == "--sample") {
      sample = static_cast<size_t>(std::stoi(value()));
    } else if (arg == "--threads") {
      threads = std::stoi(value());
    } else if (arg == "--generate") {
      generate.push_back(std::stoi(value()));
    } else {
      files.push_back(arg);
    }
  }
  try {
    std::vector<std::pair<std::string, std::string>> texts;
    for (const auto& file : files) texts.emplace_back(file, ingest_file(file, {}).text);
    for (int pages : generate)
      texts.emplace_back("generated " + std::to_string(pages) + " pages", generated_text(pages));
    for (const auto& [name, text] : texts) {
      Document source;
      source.text = text;
      source.format = "txt";
      RenderConfig config = config_for_text(decode_utf8(text).text);
      const RenderedDocument document(source, config);
      document.rasterize_all(threads);
      std::vector<std::pair<int, int>> sizes;
      for (size_t p = 0; p < document.page_count(); ++p) {
        const auto image = document.page_image(p);
        sizes.emplace_back(image->width_px, image->height_px);
      }
      OcrOptions ocr;
      ocr.language = has_han(document.text()) ? "chi_sim+eng" : "eng";
      ocr.threads = threads;
      const size_t pages = document.page_count();
      for (int per_page : budgets) {
        for (const char* layout : {"pages", "tiles"}) {
          GlobalPassOptions global;
          global.model = model;
          global.layout = layout;
          const int64_t budget = static_cast<int64_t>(per_page) * static_cast<int64_t>(pages);
          nlohmann::json row = {{"document", name},     {"pages", pages},   {"model", model},
                                {"per_page", per_page}, {"budget", budget}, {"layout", layout}};
          const auto plan = plan_global_pass(sizes, budget, global);
          if (!plan) {
            row["fits"] = false;
            std::printf("%s\n", row.dump().c_str());
            std::fflush(stdout);
            continue;
          }
          row["fits"] = true;
          row["dpi"] = std::round(document.dpi() * plan->scale * 10) / 10;
          row["pass_tokens"] = plan->tokens;
          if (sample == 0) {  // the plans only
            std::printf("%s\n", row.dump().c_str());
            continue;
          }
          const Measure m = measure(document, *plan, global, std::min(sample, pages), ocr);
          row["sample_pages"] = m.pages;
          row["chars"] = m.chars;
          row["errors"] = m.errors;
          row["cer"] = m.chars ? std::round(1000.0 * m.errors / m.chars) / 1000 : 0.0;
          row["tokens"] = m.tokens;
          row["legible"] = m.tokens ? std::round(100.0 * m.correct / m.tokens) / 100 : 0.0;
          row["marks"] = m.marks;
          std::printf("%s\n", row.dump().c_str());
          std::fflush(stdout);
        }
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "global_legibility: %s\n", e.what());
    return 1;
  }
  return 0;
}
