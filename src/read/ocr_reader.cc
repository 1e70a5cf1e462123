// recognize_pages(): parallel, cached recognition; OcrReader: extractive answers from it.
#include "read/ocr_reader.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/clock.h"
#include "core/error.h"
#include "image/image.h"
#include "read/ocr_detail.h"
#include "retrieval/retrieval.h"

namespace glyph {
namespace {

using Clock = std::chrono::steady_clock;

// Initialized sessions kept for the life of the process: loading a language model costs about
// 0.1-0.3 s, more than recognizing a small crop, and a question may recognize several rounds.
class SessionPool {
 public:
  std::unique_ptr<detail::TesseractSession> acquire(const OcrOptions& options) {
    {
      std::lock_guard lock(mutex_);
      auto& idle = idle_[key(options)];
      if (!idle.empty()) {
        auto session = std::move(idle.back());
        idle.pop_back();
        return session;
      }
    }
    return std::make_unique<detail::TesseractSession>(options);
  }
  void release(const OcrOptions& options, std::unique_ptr<detail::TesseractSession> session) {
    std::lock_guard lock(mutex_);
    auto& idle = idle_[key(options)];
    if (idle.size() < 8) idle.push_back(std::move(session));
  }

 private:
  static std::string key(const OcrOptions& o) {
    return o.language + "|" + o.tessdata_dir + "|" + std::to_string(o.page_segmentation_mode);
  }
  std::mutex mutex_;
  std::map<std::string, std::vector<std::unique_ptr<detail::TesseractSession>>> idle_;
};

SessionPool& session_pool() {
  static SessionPool* pool = new SessionPool;  // never destroyed: workers may outlive statics
  return *pool;
}

// Image pixels → page pixels (crops may have been rendered at another scale than the page).
PixelBox to_page(const PixelBox& box, const PageImage& image, const std::optional<PixelBox>& crop) {
  if (!crop) return box;
  const double sx = static_cast<double>(crop->right_px - crop->left_px) / image.width_px;
  const double sy = static_cast<double>(crop->bottom_px - crop->top_px) / image.height_px;
  PixelBox out;
  out.left_px = crop->left_px + static_cast<int>(std::floor(box.left_px * sx));
  out.top_px = crop->top_px + static_cast<int>(std::floor(box.top_px * sy));
  out.right_px = crop->left_px + static_cast<int>(std::ceil(box.right_px * sx));
  out.bottom_px = crop->top_px + static_cast<int>(std::ceil(box.bottom_px * sy));
  return out;
}

// Tesseract's words as recognized (and cached) → page boxes, confusions fixed, lines rejoined.
std::vector<OcrLine> mapped_to_page(std::vector<OcrLine> lines, const PageInput& input,
                                    const OcrOptions& options) {
  for (auto& line : lines) {
    line.box = to_page(line.box, *input.image, input.crop_of);
    line.text.clear();
    for (auto& word : line.words) {
      word.box = to_page(word.box, *input.image, input.crop_of);
      if (options.fix_common_confusions) word.text = detail::fix_common_confusions(word.text);
      if (!line.text.empty()) line.text += ' ';
      line.text += word.text;
    }
  }
  return lines;
}

// The dpi of an input image: a crop rendered larger than its page box has a higher dpi.
double input_dpi(const PageInput& input) {
  double dpi = input.dpi;
  if (dpi > 0 && input.crop_of && input.crop_of->right_px > input.crop_of->left_px) {
    dpi *= static_cast<double>(input.image->width_px) /
           (input.crop_of->right_px - input.crop_of->left_px);
  }
  return dpi;
}

}  // namespace

std::string OcrPageText::text() const {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) out += '\n';
    out += lines[i].text;
  }
  return out;
}

std::vector<OcrPageText> recognize_pages(const std::vector<PageInput>& pages,
                                         const OcrOptions& options, const OcrCallbacks& callbacks) {
  std::vector<OcrPageText> results(pages.size());
  std::vector<std::string> keys(pages.size());
  std::vector<size_t> pending;
  const std::string cache_dir = options.use_cache ? detail::ocr_cache_dir(options) : std::string();
  for (size_t i = 0; i < pages.size(); ++i) {
    const auto& input = pages[i];
    if (!input.image || input.image->empty()) {
      throw Error(ErrorCode::invalid_argument, "ocr: image " + std::to_string(i + 1) + " (page " +
                                                   std::to_string(input.page_number) +
                                                   ") is empty");
    }
    results[i].page_number = input.page_number;
    results[i].crop_of = input.crop_of;
    if (!cache_dir.empty()) {
      keys[i] = ocr_cache_key(*input.image, options, input_dpi(input));
      if (auto cached = detail::load_cached_lines(cache_dir, keys[i])) {
        results[i].lines = mapped_to_page(std::move(*cached), input, options);
        results[i].from_cache = true;
        continue;
      }
    }
    pending.push_back(i);
  }

  OcrProgress progress{pages.size() - pending.size(), pages.size()};
  std::mutex progress_mutex;
  if (callbacks.on_progress && progress.done) callbacks.on_progress(progress);
  if (pending.empty()) return results;

  // Language data problems surface here, on the calling thread, with their own message.
  auto first_session = session_pool().acquire(options);

  size_t thread_count = options.threads > 0 ? static_cast<size_t>(options.threads)
                                            : std::max(1u, std::thread::hardware_concurrency());
  thread_count = std::min(thread_count, pending.size());
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  const std::function<bool()> cancelled = [&] {
    return failed.load() || (callbacks.is_cancelled && callbacks.is_cancelled());
  };

  auto work = [&](std::unique_ptr<detail::TesseractSession> session) {
    try {
      for (size_t n = next++; n < pending.size() && !cancelled(); n = next++) {
        const size_t i = pending[n];
        const auto& input = pages[i];
        if (!session) session = session_pool().acquire(options);
        const auto start = Clock::now();
        const PageImage gray = input.image->channels == 1 ? PageImage() : to_gray(*input.image);
        const PageImage& source = input.image->channels == 1 ? *input.image : gray;
        const double dpi = input_dpi(input);
        auto lines = session->recognize(source, dpi, effective_upscale(options, dpi), cancelled);
        if (!keys[i].empty()) detail::store_cached_lines(cache_dir, keys[i], lines);
        results[i].lines = mapped_to_page(std::move(lines), input, options);
        results[i].seconds = seconds_since(start);
        std::lock_guard lock(progress_mutex);
        ++progress.done;
        if (callbacks.on_progress) callbacks.on_progress(progress);
      }
    } catch (...) {
      std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      failed = true;
      session.reset();  // a session interrupted mid-recognition is not reused
    }
    if (session) session_pool().release(options, std::move(session));
  };

  std::vector<std::thread> workers;
  for (size_t t = 1; t < thread_count; ++t) workers.emplace_back(work, nullptr);
  work(std::move(first_session));
  for (auto& worker : workers) worker.join();
  if (failure) std::rethrow_exception(failure);
  if (callbacks.is_cancelled && callbacks.is_cancelled())
    throw Error(ErrorCode::cancelled, "ocr: cancelled");
  return results;
}

// --- extractive answers ---

namespace {

// The recognized text of all inputs as one string, with each word's place in it. `lines` keeps
// the recognized lines apart ("\n"), for "Key: value" pairs; `flowing` is the same text with the
// line breaks inside a page or a run of whole pages made spaces (same offsets), for sentences.
struct ReadingText {
  std::string lines;
  std::string flowing;
  struct WordRef {
    size_t begin, end;  // bytes in text
    size_t image;       // index of the input
    const OcrWord* word;
  };
  std::vector<WordRef> words;
};

ReadingText reading_text(const std::vector<OcrPageText>& recognized) {
  ReadingText out;
  std::vector<size_t> hard_breaks;
  for (size_t i = 0; i < recognized.size(); ++i) {
    if (i) {
      // Whole pages continue each other's sentences; separate crops do not.
      if (recognized[i].crop_of || recognized[i - 1].crop_of)
        hard_breaks.push_back(out.lines.size());
      out.lines += '\n';
    }
    for (size_t l = 0; l < recognized[i].lines.size(); ++l) {
      if (l) out.lines += '\n';
      const auto& words = recognized[i].lines[l].words;
      for (size_t w = 0; w < words.size(); ++w) {
        if (w) out.lines += ' ';
        out.words.push_back(
            {out.lines.size(), out.lines.size() + words[w].text.size(), i, &words[w]});
        out.lines += words[w].text;
      }
    }
  }
  out.flowing = out.lines;
  for (char& c : out.flowing) {
    if (c == '\n') c = ' ';
  }
  for (size_t at : hard_breaks) out.flowing[at] = '\n';
  return out;
}

// The page and box of text[span]: the words it overlaps on the page of its first word.
OcrPassage passage_for(const ReadingText& reading, const std::vector<OcrPageText>& recognized,
                       TextSpan span, double score) {
  OcrPassage passage;
  passage.text = reading.flowing.substr(span.begin, span.end - span.begin);
  passage.score = score;
  bool first = true;
  for (const auto& ref : reading.words) {
    if (ref.end <= span.begin || ref.begin >= span.end) continue;
    const int page = recognized[ref.image].page_number;
    if (first) {
      passage.page_number = page;
      passage.box = ref.word->box;
      first = false;
    } else if (page == passage.page_number) {
      passage.box.left_px = std::min(passage.box.left_px, ref.word->box.left_px);
      passage.box.top_px = std::min(passage.box.top_px, ref.word->box.top_px);
      passage.box.right_px = std::max(passage.box.right_px, ref.word->box.right_px);
      passage.box.bottom_px = std::max(passage.box.bottom_px, ref.word->box.bottom_px);
    }
  }
  return passage;
}

nlohmann::json located(const OcrPassage& p) {
  return {{"page", p.page_number},
          {"bbox_px", {p.box.left_px, p.box.top_px, p.box.right_px, p.box.bottom_px}}};
}

}  // namespace

OcrReader::OcrReader(OcrOptions options) : options_(std::move(options)) {}
OcrReader::~OcrReader() = default;

OcrAnswer OcrReader::answer(const ReadRequest& request, const ReadCallbacks& callbacks,
                            const OcrCallbacks& ocr_callbacks) {
  if (request.pages.empty())
    throw Error(ErrorCode::invalid_argument, "ocr: no page images to read");
  OcrCallbacks ocr = ocr_callbacks;
  if (!ocr.is_cancelled) ocr.is_cancelled = callbacks.is_cancelled;

  OcrAnswer result;
  result.recognized = recognize_pages(request.pages, options_, ocr);
  const ReadingText reading = reading_text(result.recognized);
  const auto spans = split_sentences(reading.flowing);
  std::vector<std::string> sentences;
  sentences.reserve(spans.size());
  for (const auto& span : spans)
    sentences.push_back(reading.flowing.substr(span.begin, span.end - span.begin));

  switch (request.task) {
    case TaskKind::question: {
      const Bm25Index index(sentences);
      const auto hits = index.search(request.question, sentences.size());
      std::vector<double> scores(sentences.size(), 0.0);
      for (const auto& hit : hits) scores[hit.document] = hit.score;
      std::vector<bool> used(sentences.size(), false);
      for (const auto& hit : hits) {
        // The best passage, and others only when they score nearly as well.
        if (result.passages.size() >= std::max<size_t>(answer_passages_, 1)) break;
        if (!result.passages.empty() && hit.score < 0.8 * hits.front().score) break;
        if (used[hit.document]) continue;
        // A short sentence ("It was necessary to pay this frightful debt.") rarely answers alone:
        // the passage runs on through the following sentences that also match the question,
        // or while it is still very short.
        size_t last = hit.document;
        auto length = [&] { return spans[last].end - spans[hit.document].begin; };
        while (last + 1 < sentences.size() && !used[last + 1] &&
               reading.flowing.find('\n', spans[last].end) >= spans[last + 1].begin &&
               ((length() < 200 && scores[last + 1] > 0) || length() < 60)) {
          ++last;
        }
        for (size_t s = hit.document; s <= last; ++s) used[s] = true;
        result.passages.push_back(passage_for(
            reading, result.recognized, {spans[hit.document].begin, spans[last].end}, hit.score));
      }
      if (result.passages.empty()) {
        result.content =
            "Extractive answer (OCR reader): no passage of the recognized text matches the "
            "question.";
      } else {
        result.content = "Extractive answer (OCR reader): ";
        for (size_t i = 0; i < result.passages.size(); ++i) {
          if (i) result.content += " ... ";
          result.content += result.passages[i].text;
        }
      }
      break;
    }
    case TaskKind::summary: {
      const auto chosen = summarize_sentences(sentences, summary_sentences_);
      result.content = "Extractive summary (OCR reader, " + std::to_string(chosen.size()) +
                       (chosen.size() == 1 ? " sentence): " : " sentences): ");
      for (size_t i = 0; i < chosen.size(); ++i) {
        if (i) result.content += ' ';
        result.content += sentences[chosen[i]];
        result.passages.push_back(passage_for(reading, result.recognized, spans[chosen[i]], 0));
      }
      if (chosen.empty()) result.content += "(no text was recognized)";
      break;
    }
    case TaskKind::extraction: {
      const auto items = find_key_items(reading.lines);
      const auto fields = find_fields(reading.lines, request.fields);
      nlohmann::json j;
      j["note"] = "Extractive (OCR reader): values as recognized on the page images";
      if (!request.fields.empty()) {
        nlohmann::json jfields = nlohmann::json::object();
        for (const auto& field : fields) {
          if (!field.found) {
            jfields[field.field] = nullptr;
            continue;
          }
          const auto passage = passage_for(reading, result.recognized, field.span, 0);
          nlohmann::json jf = located(passage);
          jf["value"] = field.value;
          jf["match"] = field.how;
          jfields[field.field] = std::move(jf);
          result.passages.push_back(passage);
        }
        j["fields"] = std::move(jfields);
      }
      const std::pair<KeyKind, const char*> groups[] = {{KeyKind::date, "dates"},
                                                        {KeyKind::amount, "amounts"},
                                                        {KeyKind::quantity, "quantities"},
                                                        {KeyKind::email, "emails"},
                                                        {KeyKind::url, "urls"},
                                                        {KeyKind::pair, "pairs"},
                                                        {KeyKind::number, "numbers"}};
      for (const auto& [kind, name] : groups) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& item : items) {
          if (item.kind != kind) continue;
          nlohmann::json ji = located(passage_for(reading, result.recognized, item.span, 0));
          if (kind == KeyKind::pair) {
            ji["key"] = item.key;
            ji["value"] = item.value;
          } else {
            ji["text"] = item.text;
          }
          list.push_back(std::move(ji));
        }
        j[name] = std::move(list);
      }
      result.extraction_json = j.dump(2);
      result.content = result.extraction_json;
      break;
    }
  }
  if (callbacks.on_content) callbacks.on_content(result.content);
  return result;
}

ReadResult OcrReader::read(const ReadRequest& request, const ReadCallbacks& callbacks) {
  const auto start = Clock::now();
  OcrAnswer answered = answer(request, callbacks);
  ReadResult result;
  result.content = std::move(answered.content);
  result.finish_reason = "stop";
  result.model = "tesseract " + tesseract_version() + " (" + options_.language + ")";
  for (const auto& page : request.pages) {
    result.images.push_back({page.page_number, page.image->width_px, page.image->height_px, false});
  }
  result.total_seconds = seconds_since(start);
  result.first_token_seconds = result.total_seconds;
  return result;
}

}  // namespace glyph
