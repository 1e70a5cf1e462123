#include "support/fake_ocr_answer.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string_view>

#include "read/ocr_reader.h"
#include "retrieval/retrieval.h"

namespace glyph::test {
namespace {

std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string trim(std::string text) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  text.erase(text.begin(), std::find_if(text.begin(), text.end(), not_space));
  text.erase(std::find_if(text.rbegin(), text.rend(), not_space).base(), text.end());
  return text;
}

std::vector<PageInput> inputs_of(const std::vector<PageImage>& images) {
  std::vector<PageInput> inputs;
  for (size_t i = 0; i < images.size(); ++i) {
    PageInput input;
    input.page_number = static_cast<int>(i + 1);
    input.image = std::make_shared<const PageImage>(images[i]);
    inputs.push_back(std::move(input));
  }
  return inputs;
}

OcrOptions ocr_options(const OcrAnswerOptions& options) {
  OcrOptions ocr;
  ocr.language = options.language;
  ocr.use_cache = options.use_cache;
  ocr.threads = options.threads;
  return ocr;
}

// The key X of "What is the (special) magic number/value for X?", or empty.
std::string magic_key(const std::string& question) {
  static const std::regex pattern(R"(magic\s+(?:number|value|word|code)s?\s+for\s+([^?\n]+))",
                                  std::regex::icase);
  std::smatch match;
  if (!std::regex_search(question, match, pattern)) return {};
  std::string key = trim(match[1].str());
  for (const char* tail : {" mentioned", " in the ", " from the "}) {
    if (const size_t at = key.find(tail); at != std::string::npos) key.resize(at);
  }
  while (!key.empty() && (key.back() == '.' || key.back() == '"' || key.back() == '\''))
    key.pop_back();
  while (!key.empty() && (key.front() == '"' || key.front() == '\'')) key.erase(0, 1);
  return key;
}

// The number written after `key` in one image's recognized text (lines joined by spaces), with
// the sentence around it and the characters between the key and the number; empty when the key
// or a number after it was not read. Where the key's words occur more than once, the number
// nearest after them: "KEY is: 123" rather than the key's words in an unrelated sentence that
// another key's number follows.
struct ValueRead {
  std::string value, sentence;
  size_t gap = 0;
};
ValueRead value_after(const std::string& text, const std::string& key) {
  const std::string lower = lowercase(text);
  const std::string wanted = lowercase(key);
  static const std::regex number(R"(\d[\d,]{2,})");
  // OCR misreads a letter now and then ("lantem" for "lantern"): the key matches within an edit
  // distance of one per six characters.
  const size_t allowed = std::max<size_t>(1, wanted.size() / 6);
  auto distance = [](std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      size_t diagonal = row[0];
      row[0] = i;
      for (size_t j = 1; j <= b.size(); ++j) {
        const size_t up = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
        diagonal = up;
      }
    }
    return row[b.size()];
  };
  std::vector<std::pair<size_t, size_t>> found;  // [at, after)
  for (size_t at = 0; at < lower.size(); ++at) {
    if (at > 0 && std::isalnum(static_cast<unsigned char>(lower[at - 1]))) continue;
    for (size_t length = wanted.size() + allowed; length + allowed >= wanted.size() && length > 0;
         --length) {
      if (at + length > lower.size()) continue;
      if (distance(std::string_view(lower).substr(at, length), wanted) <= allowed) {
        found.emplace_back(at, at + length);
        break;
      }
    }
  }
  ValueRead best;
  for (const auto& [at, after] : found) {
    const std::string window = text.substr(after, 100);
    std::smatch match;
    if (!std::regex_search(window, match, number)) continue;
    const size_t gap = static_cast<size_t>(match.position(0));
    if (!best.value.empty() && gap >= best.gap) continue;
    std::string value = match.str();
    while (!value.empty() && value.back() == ',') value.pop_back();
    size_t begin = text.rfind(". ", at);
    begin = begin == std::string::npos || at - begin > 200 ? (at > 120 ? at - 120 : 0) : begin + 2;
    const size_t end = after + gap + static_cast<size_t>(match.length(0));
    best = {value, trim(text.substr(begin, end - begin)), gap};
  }
  return best;
}

std::string after_marker(const std::string& text, const std::string& marker) {
  const size_t at = text.find(marker);
  return at == std::string::npos ? std::string() : text.substr(at + marker.size());
}

std::string select_pages(const std::string& prompt, const std::vector<PageImage>& images,
                         const OcrAnswerOptions& options) {
  std::string question = after_marker(prompt, "Question:");
  if (question.empty()) question = prompt;
  question = trim(question);
  struct Mark {
    size_t image;
    int page;
    PixelBox box;
  };
  std::vector<Mark> marks;
  static const std::regex mark_pattern(R"(^#(\d{1,5})[.,:;]?$)");
  struct LineRef {
    size_t image;
    const OcrLine* line;
  };
  std::vector<LineRef> lines;
  std::vector<std::string> texts;
  // The marks are larger than the text around them: Tesseract's uniform-block mode drops them
  // (and reads the small text beside them badly); its sparse-text mode finds both.
  OcrOptions sparse = ocr_options(options);
  sparse.page_segmentation_mode = 11;
  const auto read = recognize_pages(inputs_of(images), sparse);
  const auto& marks_read = read;
  for (size_t i = 0; i < marks_read.size(); ++i) {
    for (const OcrLine& line : marks_read[i].lines) {
      for (const OcrWord& word : line.words) {
        std::smatch match;
        if (std::regex_match(word.text, match, mark_pattern))
          marks.push_back({i, std::stoi(match[1].str()), word.box});
      }
    }
  }
  for (size_t i = 0; i < read.size(); ++i) {
    for (const OcrLine& line : read[i].lines) {
      lines.push_back({i, &line});
      texts.push_back(line.text);
    }
  }
  const std::string key = magic_key(question);
  std::vector<std::string> terms = index_terms(key.empty() ? question : key);
  const std::set<std::string> wanted(terms.begin(), terms.end());
  const Bm25Index index(texts);
  const auto hits = index.search(key.empty() ? question : key, 3);
  std::map<int, double> votes;
  for (const auto& hit : hits) {
    if (hit.score < 0.5 * hits.front().score) break;
    const LineRef& ref = lines[hit.document];
    for (const OcrWord& word : ref.line->words) {
      const auto word_terms = index_terms(word.text);
      if (std::none_of(word_terms.begin(), word_terms.end(),
                       [&](const std::string& t) { return wanted.count(t) > 0; }))
        continue;
      // The page mark of the tile holding this word: the nearest mark above and to the left.
      const Mark* best = nullptr;
      for (const Mark& mark : marks) {
        if (mark.image != ref.image || mark.box.top_px > word.box.top_px ||
            mark.box.left_px > word.box.left_px + 2)
          continue;
        if (!best || mark.box.top_px > best->box.top_px + 4 ||
            (std::abs(mark.box.top_px - best->box.top_px) <= 4 &&
             mark.box.left_px > best->box.left_px))
          best = &mark;
      }
      if (best) votes[best->page] += hit.score;
    }
  }
  if (votes.empty()) return "Pages: none";
  std::vector<std::pair<double, int>> ranked;
  for (const auto& [page, score] : votes) ranked.emplace_back(-score, page);
  std::sort(ranked.begin(), ranked.end());
  std::string answer = "Pages: ";
  for (size_t i = 0; i < ranked.size() && i < 3; ++i)
    answer += (i ? ", " : "") + std::to_string(ranked[i].second);
  return answer;
}

}  // namespace

std::string fake_ocr_answer(const std::string& prompt, const std::vector<PageImage>& images,
                            const OcrAnswerOptions& options) {
  if (prompt.find("Which pages") != std::string::npos) {
    if (images.empty()) return "Pages: none";
    return select_pages(prompt, images, options);
  }
  ReadRequest request;
  size_t sentences = 5;
  if (prompt.starts_with("Summarize")) {
    request.task = TaskKind::summary;
    static const std::regex count(R"(in (\d+) sentences)");
    std::smatch match;
    if (std::regex_search(prompt, match, count)) sentences = std::stoul(match[1].str());
    const std::string material = after_marker(prompt, "\n---\n");
    if (images.empty()) {
      // Summaries to merge, given as text: summarized from that text.
      std::vector<std::string> parts;
      for (const auto& span : split_sentences(material))
        parts.push_back(material.substr(span.begin, span.end - span.begin));
      std::string answer;
      for (size_t index : summarize_sentences(parts, sentences))
        answer += (answer.empty() ? "" : " ") + parts[index];
      return answer.empty() ? "There is nothing to summarize." : answer;
    }
  } else if (prompt.starts_with("Extract the key information")) {
    request.task = TaskKind::extraction;
    const std::string list = after_marker(prompt, "for each of: ");
    const std::string fields = list.substr(0, list.find(". "));
    size_t start = 0;
    while (!list.empty() && start < fields.size()) {
      size_t comma = fields.find(", ", start);
      if (comma == std::string::npos) comma = fields.size();
      request.fields.push_back(fields.substr(start, comma - start));
      start = comma + 2;
    }
  } else {
    request.task = TaskKind::question;
    request.question = trim(prompt.substr(0, prompt.find("\n\n")));
  }
  if (images.empty()) return "No image was sent, so there is nothing to read.";
  request.prompt = prompt;
  request.pages = inputs_of(images);
  OcrReader reader(ocr_options(options));
  reader.set_summary_sentences(sentences);
  const OcrAnswer answer = reader.answer(request, {});
  if (request.task == TaskKind::question) {
    if (const std::string key = magic_key(request.question); !key.empty()) {
      // Where several images show it (a page at low resolution and a crop of it at full), the
      // reading with the number nearest after the key, then the clearest: the image read with
      // the highest mean confidence.
      std::string best_value, best_sentence;
      size_t best_gap = 0;
      double best_confidence = -1;
      for (const OcrPageText& page : answer.recognized) {
        // Lines joined; a line ending in a hyphen runs on into the next ("quiet-" "lantern").
        std::string text;
        for (const OcrLine& line : page.lines) {
          if (!text.empty() && text.back() != '-') text += ' ';
          text += line.text;
        }
        const ValueRead read = value_after(text, key);
        if (read.value.empty()) continue;
        double confidence = 0;
        for (const OcrLine& line : page.lines) confidence += line.confidence;
        confidence /= static_cast<double>(std::max<size_t>(1, page.lines.size()));
        // Gaps within a few characters are the same reading ("is: " or "is " by the OCR).
        const bool nearer = best_value.empty() || read.gap + 4 < best_gap;
        const bool as_near = !best_value.empty() && read.gap <= best_gap + 4 && !nearer;
        if (nearer || (as_near && confidence > best_confidence)) {
          best_confidence = confidence;
          best_value = read.value;
          best_sentence = read.sentence;
          best_gap = read.gap;
        }
      }
      if (!best_value.empty())
        return "The magic number for " + key + " is " + best_value + ".\n> " + best_sentence;
      return "I cannot find the magic number for " + key + " in the images.";
    }
    if (answer.passages.empty()) return answer.content;
    return answer.passages.front().text + "\n> " + answer.passages.front().text;
  }
  return answer.content;
}

}  // namespace glyph::test
