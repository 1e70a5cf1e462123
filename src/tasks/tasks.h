// Tasks: ask / summarize / extract over a rendered document, with citations (page, box, chars),
// and verify (the OCR round trip, character error rate per page).
//
// The document is rendered once (RenderedDocument: text → layout → page images on demand). A
// task builds the reader's request (page images first, then the prompt, as the Glyph evaluation
// does), runs it, and maps what the reader quoted back to pages, pixel boxes and character
// offsets of the text as rendered.
//
// With the OCR reader, a question is answered from as few pixels as possible: BM25 over the
// layout map's lines says where the answer probably is; only those regions are cropped from the
// page images and recognized (upscaled), widening to more regions, then to whole pages, when what
// was read does not cover the question. The layout map only chooses where to look and when to
// stop looking: the answer's words are always what Tesseract read off the pixels.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "read/ocr_reader.h"
#include "read/reader.h"
#include "reflow/reflow.h"

namespace glyph {

class Renderer;
struct Layout;

struct Citation {
  int page = 0;                         // 1-based
  PixelBox bbox_px;                     // pixels of the page image at the document's dpi
  size_t char_start = 0, char_end = 0;  // [start, end) in code points of the rendered text
  std::string quote;                    // the words as the reader gave them
  // The page of the source document (PDF) the cited text begins on; 0 when it has no pages.
  int source_page = 0;
};

struct AnswerTimings {
  double render_seconds = 0;     // layout and the page images used
  double retrieval_seconds = 0;  // BM25 over the layout map (OCR reader)
  double read_seconds = 0;       // recognition or the model
  double first_token_seconds = 0;
  double total_seconds = 0;
};

// How a read was fitted into the model's context (budget of visual tokens). A document whose
// pages fit is sent whole, as always ("all pages"). Otherwise a question gets a global pass (every
// page scaled down, marked with its number) and crops at the document's dpi of the places a
// selector chose ("global + focus"); a summary or an extraction reads chunks of pages that fit
// and merges what they gave ("map-reduce").
struct PlanPart {
  std::string kind;             // "page", "global", "crop", "chunk"
  std::vector<int> pages;       // 1-based pages the image (or chunk) shows
  std::optional<PixelBox> box;  // crop: where on its page, in pixels at the document's dpi
  double dpi = 0;               // effective dpi of the pixels sent
  int width_px = 0, height_px = 0;
  int64_t tokens = 0;  // visual tokens, wrapper tokens included
};

struct ReadPlan {
  int64_t budget = 0;         // visual tokens a request may spend
  std::string budget_source;  // "--budget", "server", "family table (glm-4.1v)"
  int64_t context_tokens = 0, prompt_tokens = 0, answer_tokens = 0;
  int64_t all_pages_tokens = 0;  // every page at the document's dpi
  bool fits = true;
  std::string strategy = "all pages";  // "all pages", "global + focus", "map-reduce"
  std::string selector;                // global + focus: "retrieval" or "model"
  std::string global_layout;           // "pages" or "tiles"
  double global_dpi = 0;
  int64_t global_tokens = 0;
  std::vector<int> focus_pages;  // pages the crops come from, in the selector's order
  std::vector<PlanPart> parts;   // the final request's images (map-reduce: the chunks)
  int64_t tokens = 0;            // visual tokens of the final request (map-reduce: largest chunk)
  int requests = 1;              // requests made to the reader
};

// The plan as `--json` and the API report it: {"budget", "budget_source", "context_tokens",
// "prompt_tokens", "answer_tokens", "all_pages_tokens", "fits", "strategy", "tokens",
// "requests", "parts": [{"kind", "pages", "dpi", "width_px", "height_px", "tokens", "box_px"?}],
// and over budget for questions "selector", "global_layout", "global_dpi", "global_tokens",
// "focus_pages"}.
void to_json(nlohmann::json& out, const ReadPlan& plan);

struct Answer {
  TaskKind task = TaskKind::question;
  std::string text;
  std::string reasoning;
  std::vector<Citation> citations;
  ReadUsage usage;
  std::string reader;  // Reader::name()
  std::string model;   // as the reader reported it
  // Token accounting: text tokens of the rendered text (tokenizer), visual tokens of the page
  // images (the model family's rule), ratio = text / visual. Unset when not computed.
  std::optional<int64_t> text_tokens;
  std::optional<int64_t> visual_tokens;
  std::optional<double> ratio;
  AnswerTimings timings;
  int pages = 0;                   // pages of the document
  int images_read = 0;             // images the reader was given (pages and crops, all rounds)
  std::vector<std::string> steps;  // what was read, in order ("focus round 1: 1 region on page 13")
  std::string extraction_json;     // task == extraction: the JSON object
  std::string finish_reason = "stop";  // the reader's: "stop", "length", "repetition", ...
  RepetitionLoop repetition;           // a loop the reader stopped and retried (reader.h)
  std::optional<ReadPlan> plan;        // VLM readers: how the request fitted the budget
};

struct TaskRequest {
  TaskKind task = TaskKind::question;
  std::string question;
  std::vector<std::string> fields;
  size_t summary_sentences = 5;
  SamplingOptions sampling;
};

struct TaskProgress {
  std::string stage;  // "render", "ocr"
  size_t done = 0;
  size_t total = 0;
};

struct TaskCallbacks {
  std::function<void(std::string_view)> on_content;
  std::function<void(std::string_view)> on_reasoning;
  std::function<void()> on_restart;
  // What was streamed so far is replaced by this whole answer and reasoning (ReadCallbacks).
  std::function<void(std::string_view content, std::string_view reasoning)> on_replace;
  std::function<void(const TaskProgress&)> on_progress;
  std::function<bool()> is_cancelled;
};

struct TaskOptions {
  int threads = 0;  // rasterization and recognition threads; 0 = hardware threads
  // OCR reader, questions: read the regions that retrieval over the layout map points to first.
  bool focus = true;
  double focus_target_dpi = 216;  // crops are small: enlarge them more (3x at 72 dpi) than pages
  // A round is accepted when the passage read covers at least this share of what the best place
  // in the layout map covers of the question's terms (idf-weighted).
  double focus_acceptance = 0.8;
  // Visual-token model family for the accounting ("glm-4.1v" is Glyph's base model).
  std::string visual_token_model = "glm-4.1v";
  std::string tokenizer_path;  // empty: the default tokenizer.json
  // Budget of visual tokens per request (VLM readers). Unset: the model's context (the reader's
  // context_tokens(), else family_context_tokens(visual_token_model)) minus the prompt, the
  // answer's max_tokens and the chat template (src/budget/budget.h).
  std::optional<int64_t> budget;
  std::string selector = "retrieval";  // over budget, questions: "retrieval" or "model"
  std::string global_layout = "auto";  // "auto", "pages", "tiles"
  double global_share = 0.5;           // of the budget for the global pass
  // Parallel reads of the map step (summaries and extractions over budget): at most this many
  // at once, each with a reader from make_reader (without it, one at a time).
  int concurrency = 1;
  std::function<std::unique_ptr<Reader>()> make_reader;
};

// The document as readers see it: text → layout → page images, rasterized on demand and kept.
// Thread-safe after construction.
class RenderedDocument {
 public:
  // prepare_text + lay_out with the config (no reflow: the text is laid out as given). Throws
  // what they throw (fonts, config).
  RenderedDocument(std::string_view utf8_text, RenderConfig config);
  // A document as ingest read it: prepare_document (the config's reflow), then lay_out; the
  // source map says which source page each character comes from.
  RenderedDocument(const Document& document, RenderConfig config);
  ~RenderedDocument();
  RenderedDocument(const RenderedDocument&) = delete;
  RenderedDocument& operator=(const RenderedDocument&) = delete;

  const RenderConfig& config() const;
  const std::u32string& text() const;  // exactly what is rendered; offsets count these
  const Layout& layout() const;
  size_t page_count() const;
  double dpi() const;

  std::shared_ptr<const PageImage> page_image(size_t page_index) const;
  // Boxes of the page's lines in pixels of its image (rounded outwards).
  std::vector<PixelBox> line_boxes(size_t page_index) const;
  // Rasterizes every page not yet rasterized, in parallel.
  void rasterize_all(int threads, const std::function<void(size_t, size_t)>& on_page = {}) const;
  // Time spent laying out and rasterizing so far.
  double render_seconds() const;
  // UTF-8 text of [start, end) of the rendered text.
  std::string slice(size_t char_start, size_t char_end) const;
  // 1-based page of the source document (PDF) a character of the rendered text comes from; 0
  // when the source has no pages.
  int source_page(size_t char_index) const;
  // The page of [char_start, char_end): that of its first character taken from the source (not a
  // marker the reflow inserted).
  int source_page(size_t char_start, size_t char_end) const;
  // What the reflow stage did (mode off: nothing).
  const ReflowReport& reflow() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The text part of the request: the question as the Glyph evaluation asks it (after the page
// images), or the instruction for a summary or an extraction.
std::string build_prompt(const TaskRequest& request);

// Runs a task. OcrReader gets the focused strategy for questions (see the header comment); any
// other Reader gets every page image, then the prompt. Throws what the reader throws.
Answer run_task(const RenderedDocument& document, const TaskRequest& request, Reader& reader,
                const TaskOptions& options = {}, const TaskCallbacks& callbacks = {});

// Citations for a free-form answer (VLM readers): quoted passages ("> ..." lines, or text in
// quotation marks of 3+ words) and distinctive tokens (numbers of 3+ digits, long words) of the
// answer, found in the rendered text (exactly, else approximately); else the line window that
// best matches question + answer, when it covers most of the answer's terms.
std::vector<Citation> cite_answer(const RenderedDocument& document, std::string_view question,
                                  std::string_view answer);

// Token accounting of the whole document as rendered: text tokens of its text (the tokenizer at
// options.tokenizer_path, else the default one), visual tokens of its page images for
// options.visual_token_model, and their ratio. A count that cannot be made (no tokenizer file)
// stays unset.
struct TokenCounts {
  std::optional<int64_t> text_tokens;
  std::optional<int64_t> visual_tokens;
  std::optional<double> ratio;
};
TokenCounts count_document_tokens(const RenderedDocument& document, const TaskOptions& options);

// --- verify: the OCR round trip ---

// CER normalization: every run of white space (Unicode White_Space, including line and page
// breaks) becomes one U+0020, or nothing between two CJK characters (Han, kana, CJK punctuation,
// full-width forms: scripts without spaces between words); leading and trailing white space is
// removed; nothing else changes (case, punctuation and quotes count).
std::u32string normalize_for_cer(std::u32string_view text);
// Levenshtein distance over code points (insertions, deletions, substitutions cost 1).
size_t edit_distance(std::u32string_view a, std::u32string_view b);

struct PageFidelity {
  int page = 0;
  size_t reference_chars = 0;  // after normalization
  size_t errors = 0;           // edit distance
  double cer = 0;              // errors / reference_chars
  double seconds = 0;
  bool from_cache = false;
};

struct FidelityReport {
  std::vector<PageFidelity> pages;
  size_t reference_chars = 0;
  size_t errors = 0;
  double cer = 0;  // sum of errors / sum of reference chars
  double dpi = 0;
  double seconds = 0;
  OcrOptions ocr;
};

// Recognizes every page and compares it with the text the layout map says the page holds.
FidelityReport verify_round_trip(const RenderedDocument& document, const OcrOptions& ocr,
                                 const TaskCallbacks& callbacks = {});

}  // namespace glyph
