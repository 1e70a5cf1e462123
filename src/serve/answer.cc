// Reading a rendered document with the configured reader and turning its answer into the
// service's answer with citations.
//
// The OCR reader quotes passages it read off the pixels, with their boxes; those are the
// citations. A VLM answers in free text: its citations are the lines of the layout that best
// match the answer (BM25 over windows of three lines), so the page shows where the answer comes
// from even when the model does not say.
#include "serve/answer.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file.h"
#include "core/utf8.h"
#include "image/image.h"
#include "read/ocr_reader.h"
#include "read/vlm_reader.h"
#include "retrieval/retrieval.h"

namespace glyph::serve {
namespace {
using nlohmann::json;

struct LayoutLine {
  int page = 0;
  std::size_t char_start = 0, char_end = 0;
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  std::string text;
};

std::vector<LayoutLine> layout_lines(const RenderedDocument& d) {
  std::vector<LayoutLine> out;
  json layout = json::parse(d.layout_json);
  for (const auto& p : layout.at("pages")) {
    int page = p.at("page").get<int>();
    for (const auto& l : p.at("lines")) {
      const auto& b = l.at("bbox");
      out.push_back({page, l.at("char_start").get<std::size_t>(), l.at("char_end").get<std::size_t>(),
                     b[0].get<double>(), b[1].get<double>(), b[2].get<double>(), b[3].get<double>(),
                     l.value("text", "")});
    }
  }
  return out;
}

// The char range of the lines of `page` that overlap the box (for OCR passages).
std::pair<std::size_t, std::size_t> chars_in_box(const std::vector<LayoutLine>& lines, int page,
                                                 double x0, double y0, double x1, double y1) {
  std::size_t start = std::string::npos, end = 0;
  for (const auto& l : lines) {
    if (l.page != page) continue;
    double overlap = std::min(l.y1, y1) - std::max(l.y0, y0);
    if (overlap <= 0.3 * (l.y1 - l.y0) || l.x1 < x0 || l.x0 > x1) continue;
    start = std::min(start, l.char_start);
    end = std::max(end, l.char_end);
  }
  if (start == std::string::npos) return {0, 0};
  return {start, end};
}

// Citations for a free-text answer: the best matching windows of three lines.
std::vector<AskCitation> cite_by_retrieval(const std::vector<LayoutLine>& lines,
                                           const std::string& query, std::size_t count) {
  std::vector<AskCitation> out;
  if (lines.empty() || query.empty()) return out;
  constexpr std::size_t kWindow = 3;
  std::vector<std::string> windows;
  std::vector<std::size_t> first_line;
  for (std::size_t i = 0; i < lines.size(); i += 2) {
    std::string text;
    for (std::size_t k = i; k < std::min(lines.size(), i + kWindow); ++k)
      if (lines[k].page == lines[i].page) text += lines[k].text;
    windows.push_back(std::move(text));
    first_line.push_back(i);
  }
  Bm25Index index(windows);
  for (const auto& hit : index.search(query, count)) {
    std::size_t i = first_line[hit.document];
    AskCitation c;
    c.page = lines[i].page;
    c.x0_px = lines[i].x0;
    c.y0_px = lines[i].y0;
    c.x1_px = lines[i].x1;
    c.y1_px = lines[i].y1;
    c.char_start = lines[i].char_start;
    c.char_end = lines[i].char_end;
    for (std::size_t k = i + 1; k < std::min(lines.size(), i + kWindow); ++k) {
      if (lines[k].page != c.page) break;
      c.x0_px = std::min(c.x0_px, lines[k].x0);
      c.y0_px = std::min(c.y0_px, lines[k].y0);
      c.x1_px = std::max(c.x1_px, lines[k].x1);
      c.y1_px = std::max(c.y1_px, lines[k].y1);
      c.char_end = lines[k].char_end;
    }
    c.quote = windows[hit.document];
    while (!c.quote.empty() && (c.quote.back() == '\n' || c.quote.back() == ' ')) c.quote.pop_back();
    out.push_back(std::move(c));
  }
  return out;
}

std::string vlm_prompt(AskMode mode, const std::string& question,
                       const std::vector<std::string>& fields) {
  switch (mode) {
    case AskMode::qa:
      return "The images above are the pages of a document, in order. Answer the question from "
             "the document only, briefly, quoting the words that support the answer.\n\nQuestion: " +
             question;
    case AskMode::summary:
      return "The images above are the pages of a document, in order. Summarize the document in "
             "a few sentences." +
             (question.empty() ? std::string() : "\n\nFocus: " + question);
    case AskMode::extract: {
      std::string list;
      for (const auto& f : fields) list += (list.empty() ? "" : ", ") + f;
      return "The images above are the pages of a document, in order. Extract these fields: " +
             list +
             ". Answer with one JSON object mapping each field to its value as written in the "
             "document, or null when the document does not give it.";
    }
  }
  return question;
}

// The JSON object inside a model's answer (fenced or bare), or nothing.
std::vector<std::pair<std::string, std::string>> fields_from_text(
    const std::string& text, const std::vector<std::string>& wanted) {
  std::vector<std::pair<std::string, std::string>> out;
  auto open = text.find('{');
  auto close = text.rfind('}');
  if (open == std::string::npos || close == std::string::npos || close < open) return out;
  json j = json::parse(text.substr(open, close - open + 1), nullptr, false);
  if (!j.is_object()) return out;
  if (j.contains("fields") && j["fields"].is_object()) j = j["fields"];
  for (const auto& f : wanted) {
    std::string value;
    if (j.contains(f)) {
      const auto& v = j[f];
      if (v.is_string()) value = v.get<std::string>();
      else if (v.is_object() && v.contains("value") && v["value"].is_string())
        value = v["value"].get<std::string>();
      else if (!v.is_null()) value = v.dump();
    }
    out.emplace_back(f, value);
  }
  return out;
}

bool has_cjk(std::string_view utf8) {
  for (char32_t c : decode_utf8(utf8).text)
    if (c >= 0x4E00 && c <= 0x9FFF) return true;
  return false;
}

}  // namespace

AskMode parse_ask_mode(std::string_view name) {
  if (name == "qa") return AskMode::qa;
  if (name == "summary") return AskMode::summary;
  if (name == "extract") return AskMode::extract;
  throw Error(ErrorCode::invalid_argument,
              "\"mode\" must be qa, summary or extract, not \"" + std::string(name) + "\"");
}

std::string_view to_string(AskMode mode) {
  switch (mode) {
    case AskMode::qa: return "qa";
    case AskMode::summary: return "summary";
    case AskMode::extract: return "extract";
  }
  return "qa";
}

AskResult run_ask(const RenderedDocument& document, DocumentStore&, AskMode mode,
                  const std::string& question, const std::vector<std::string>& fields,
                  const ReaderSettings& settings, const AskCallbacks& callbacks) {
  auto start = std::chrono::steady_clock::now();
  ReadRequest request;
  request.task = mode == AskMode::qa        ? TaskKind::question
                 : mode == AskMode::summary ? TaskKind::summary
                                            : TaskKind::extraction;
  request.question = question;
  request.fields = fields;
  request.prompt = vlm_prompt(mode, question, fields);
  for (const auto& p : document.pages) {
    PageInput input;
    input.page_number = p.number;
    input.image = std::make_shared<const PageImage>(decode_png(read_file(document.page_path(p.number))));
    input.dpi = document.config.dpi;
    request.pages.push_back(std::move(input));
  }
  ReadCallbacks read_callbacks;
  read_callbacks.on_content = callbacks.on_content;
  read_callbacks.on_reasoning = callbacks.on_reasoning;
  read_callbacks.on_restart = callbacks.on_restart;
  read_callbacks.is_cancelled = callbacks.is_cancelled;

  auto lines = layout_lines(document);
  AskResult out;
  bool use_vlm = settings.backend == "openai" || settings.backend == "vlm" ||
                 (settings.backend.empty() && !settings.url.empty());
  if (!use_vlm) {
    OcrOptions options;
    options.language = has_cjk(document.text) ? "chi_sim+eng" : "eng";
    if (!settings.cache_dir.empty()) options.cache_dir = settings.cache_dir;
    OcrReader reader(options);
    OcrCallbacks ocr_callbacks;
    ocr_callbacks.is_cancelled = callbacks.is_cancelled;
    if (callbacks.on_progress)
      ocr_callbacks.on_progress = [&](const OcrProgress& p) {
        if (p.total) callbacks.on_progress(double(p.done) / double(p.total));
      };
    OcrAnswer a = reader.answer(request, read_callbacks, ocr_callbacks);
    out.answer = a.content;
    out.model = reader.name();
    out.finish_reason = "stop";
    for (const auto& passage : a.passages) {
      AskCitation c;
      c.page = passage.page_number;
      c.x0_px = passage.box.left_px;
      c.y0_px = passage.box.top_px;
      c.x1_px = passage.box.right_px;
      c.y1_px = passage.box.bottom_px;
      std::tie(c.char_start, c.char_end) =
          chars_in_box(lines, c.page, c.x0_px, c.y0_px, c.x1_px, c.y1_px);
      c.quote = passage.text;
      out.citations.push_back(std::move(c));
    }
    if (mode == AskMode::extract) out.fields = fields_from_text(a.extraction_json, fields);
  } else {
    VlmReaderOptions options;
    options.base_url = settings.url;
    options.model = settings.model;
    options.api_key = settings.api_key;
    if (settings.timeout_ms > 0) options.total_timeout_ms = settings.timeout_ms;
    VlmReader reader(options);
    ReadResult r = reader.read(request, read_callbacks);
    out.answer = r.content;
    out.reasoning = r.reasoning;
    out.model = r.model;
    out.finish_reason = r.finish_reason;
    out.prompt_tokens = r.usage.prompt_tokens;
    out.completion_tokens = r.usage.completion_tokens;
    if (mode == AskMode::extract) {
      out.fields = fields_from_text(r.content, fields);
      std::string values;
      for (const auto& [k, v] : out.fields) values += v + " ";
      out.citations = cite_by_retrieval(lines, values, fields.size());
    } else {
      out.citations = cite_by_retrieval(lines, r.content, mode == AskMode::qa ? 2 : 3);
    }
  }
  if (callbacks.on_progress) callbacks.on_progress(1.0);
  out.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace glyph::serve
