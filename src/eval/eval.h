// Evaluation: the suites of the Glyph release (RULER, LongBench, MRCR) against any Reader, with
// the metrics of each benchmark, a run loop that survives crashes, a summary and a plot.
//
// - Metrics: the benchmarks' own scoring re-implemented (RULER's string_match_all / _part,
//   LongBench's qa_f1, rouge-L, classification, retrieval, count, code_sim, MRCR's difflib
//   SequenceMatcher ratio with its random-prefix rule). Each returns 0..1 for one answer.
// - Suites: a seeded RULER generator (no download: the haystacks and words come from embedded
//   lists), LongBench JSONL as published, MRCR JSONL (the openai/mrcr form or the Glyph release's
//   preprocessed form). Every item says what is rendered (context), what is asked after the page
//   images (prompt), what the OCR reader searches for (question) and the whole prompt as text
//   (for a text-only baseline).
// - run_eval: renders each item at each dpi, counts text and visual tokens, asks the reader,
//   scores the answer and appends one line per item to OUT/results.jsonl (flushed per item).
//   A run resumed on the same folder skips the items already there, so a crash or Ctrl-C loses
//   at most the items in flight and never repeats a finished one. Then OUT/summary.md,
//   OUT/summary.json and OUT/plot.png (accuracy against compression).
//
// Honest limits (docs/eval.md): RULER's essay haystack is generated English-like text, not Paul
// Graham's essays; Chinese answers are tokenized per character where LongBench uses jieba words;
// code_sim uses difflib's ratio (fuzzywuzzy without python-Levenshtein).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "read/reader.h"

namespace glyph::eval {

// --- metrics -------------------------------------------------------------------------------

// RULER's postprocess_pred: strip, control characters (U+0000..U+001F) become "\n", strip again.
std::string ruler_postprocess(std::string_view prediction);
// RULER: the share of references found in the prediction (case-insensitive substring).
double string_match_all(std::string_view prediction, const std::vector<std::string>& references);
// RULER: 1 when any reference is found in the prediction (case-insensitive substring), else 0.
double string_match_part(std::string_view prediction, const std::vector<std::string>& references);

// LongBench's normalize_answer: lowercase, drop ASCII punctuation, drop the words a/an/the,
// collapse white space.
std::string normalize_answer(std::string_view text);
// LongBench's normalize_zh_answer: lowercase, drop ASCII and CJK punctuation, drop white space.
std::string normalize_zh_answer(std::string_view text);
// jieba's accurate mode, jieba.cut(text) (HMM on), over jieba's own dictionary and HMM tables
// read at run time from Debian's python3-jieba (src/eval/jieba.cc says how it follows jieba).
class JiebaSegmenter {
 public:
  // Reads DIR/dict.txt and DIR/finalseg/prob_{start,trans,emit}.py. Throws Error(not_found) or
  // Error(invalid_input) naming the file.
  explicit JiebaSegmenter(const std::string& dir);
  ~JiebaSegmenter();
  // The one of $GLYPH_JIEBA_DIR, else /usr/lib/python3/dist-packages/jieba; loaded on the first
  // call (about a second); nullptr when that folder has no dict.txt.
  static const JiebaSegmenter* shared();
  std::vector<std::u32string> cut(std::u32string_view text) const;

 private:
  struct Tables;
  void cut_block(std::u32string_view text, std::vector<std::u32string>& out) const;
  void cut_hmm(std::u32string_view text, std::vector<std::u32string>& out) const;
  std::unique_ptr<Tables> tables_;
};

// LongBench's Chinese tokens: jieba's words (JiebaSegmenter::shared()). Without jieba's data,
// an approximation: each Han character alone; runs of [A-Za-z0-9+#&._%-] together; each
// white-space and other character alone (as jieba yields them).
std::vector<std::string> chinese_tokens(std::string_view text);
// The approximation alone (what chinese_tokens gives without jieba's data).
std::vector<std::string> chinese_tokens_per_character(std::string_view text);
// Token F1 of two token lists (LongBench's f1_score; multiset overlap).
double token_f1(const std::vector<std::string>& prediction, const std::vector<std::string>& truth);
double qa_f1(std::string_view prediction, std::string_view truth);
double qa_f1_zh(std::string_view prediction, std::string_view truth);
// ROUGE-L F-measure, summary level, as the `rouge` package (pltrdy) computes it: sentences split
// at ".", words at " ", union LCS over sets of words. 0 when the prediction has no sentence.
double rouge_l(std::string_view prediction, std::string_view truth);
// rouge_l over chinese_tokens joined by spaces.
double rouge_l_zh(std::string_view prediction, std::string_view truth);
double classification_score(std::string_view prediction, std::string_view truth,
                            const std::vector<std::string>& all_classes);
// The share of the prediction's numbers that are the paragraph number in the truth
// ("Paragraph 12" / "段落12"). Throws Error(invalid_input) when the truth names none.
double retrieval_score(std::string_view prediction, std::string_view truth);
double retrieval_zh_score(std::string_view prediction, std::string_view truth);
// The share of the prediction's numbers equal to the truth.
double count_score(std::string_view prediction, std::string_view truth);
// fuzzywuzzy's fuzz.ratio / 100 (100 when equal, 0 when either is empty, else
// round(100 * SequenceMatcher ratio)) between the first line of the prediction without `, # or
// // and the truth.
double code_sim_score(std::string_view prediction, std::string_view truth);
// The answer's first line (LongBench scores only that for trec, triviaqa, samsum and lsht).
std::string first_line(std::string_view prediction);

// Python difflib.SequenceMatcher(None, a, b).ratio() over code points, autojunk included: in a
// b of 200+ elements, an element occurring more than len(b) / 100 + 1 times never starts a match.
double sequence_matcher_ratio(std::u32string_view a, std::u32string_view b);
double sequence_matcher_ratio(std::string_view a, std::string_view b);  // UTF-8
// MRCR: 0 unless the response starts with the random prefix; else the ratio between the response
// and the answer, both without the prefix (and "<|user|>" removed from the response, as the Glyph
// release does).
double mrcr_score(std::string_view response, std::string_view answer, std::string_view prefix);

enum class Metric {
  string_match_all,
  string_match_part,
  qa_f1,
  qa_f1_zh,
  rouge,
  rouge_zh,
  classification,
  retrieval,
  retrieval_zh,
  count,
  code_sim,
  mrcr,
};
std::string_view to_string(Metric metric);

// --- suites --------------------------------------------------------------------------------

struct EvalItem {
  std::string id;     // unique in the run: "niah_single_1/4096/3", "hotpotqa/<_id>"
  std::string suite;  // "ruler", "longbench", "mrcr"
  std::string task;   // "niah_single_1", "hotpotqa", "mrcr_4needle"
  // The length bin of the summary ("4096", "0-4k", ...); empty = chosen from the text tokens.
  std::string length_bin;
  std::string context;      // rendered into pages
  std::string prompt;       // sent as text after the page images
  std::string question;     // what the OCR reader looks for in the pages
  std::string text_prompt;  // the whole prompt as text, context included (text-only baseline)
  std::vector<std::string> answers;
  std::vector<std::string> all_classes;  // classification
  std::string prefix;                    // MRCR's random prefix
  Metric metric = Metric::string_match_all;
  bool first_line_only = false;
  int max_answer_tokens = 0;  // 0 = the reader's default
  bool uuid_task = false;     // RULER tasks with UUIDs: reported apart, not in the mean
  // One of the 12 LongBench datasets the Glyph release renders with a visible newline marker
  // when asked to (its --chose-newline).
  bool newline_marker_suggested = false;
};

// The score of one answer for the item: the best over its answers, 0..1.
double score_answer(const EvalItem& item, std::string_view answer);

// RULER's synthetic tasks, in the order reported.
const std::vector<std::string>& ruler_task_names();

struct QaRecord {
  std::vector<std::string> documents;  // the passages that hold the answer
  std::string question;
  std::vector<std::string> answers;
};
// Reads QA JSONL: one object per line with "context" (a string or an array of passages),
// "question" and "answers" (an array or a string). Throws Error(invalid_input) naming the line.
std::vector<QaRecord> read_qa_jsonl(const std::string& path);

struct RulerOptions {
  std::vector<std::string> tasks;     // empty = every synthetic task (and qa with records)
  std::vector<int> lengths = {4096};  // tokens of the whole text prompt
  int samples = 10;                   // items per task and length
  uint64_t seed = 42;
  std::string tokenizer_path;  // empty = the default tokenizer.json
  std::vector<QaRecord> qa;    // the qa task's source (task "qa")
};
// Generates the items. The same options give the same items on every machine. Throws
// Error(invalid_argument) for an unknown task or a length under 512 tokens.
std::vector<EvalItem> generate_ruler(const RulerOptions& options);

// LongBench JSONL as published: one object per line with input, context, answers, length,
// dataset, language, all_classes, _id. Per-dataset prompts of the Glyph release (the context is
// "shown in the images") and LongBench's own for the text baseline. Throws Error(invalid_input)
// naming the file, line and field.
std::vector<EvalItem> read_longbench(const std::string& path);
// The LongBench datasets this reader knows.
const std::vector<std::string>& longbench_dataset_names();

// MRCR JSONL: the openai/mrcr form ("prompt": the messages as a JSON string or array, "answer",
// "random_string_to_prepend", "n_needles") or the Glyph release's ("context", "question",
// "answer", "random_string_to_prepend", "unique_id"). The context is every message but the last,
// each turn as "User: ..." / "Assistant: ..."; the question is the last user message.
std::vector<EvalItem> read_mrcr(const std::string& path);

// At most `limit` items of each task and length bin, in order (limit <= 0: all).
std::vector<EvalItem> limit_items(std::vector<EvalItem> items, int limit);

// The items of a suite as `glyph eval` and `glyph search --eval` take them: "ruler" generated
// with `ruler` (its qa task's records read from the `data` files), "longbench" or "mrcr" read
// from the `data` files (none: Error(invalid_argument) naming `command`), keeping the `tasks`
// given (empty: all) and at most `limit` items per task and length (limit_items).
std::vector<EvalItem> load_suite(std::string_view command, std::string_view suite,
                                 const std::vector<std::string>& data,
                                 const std::vector<std::string>& tasks, int limit,
                                 RulerOptions ruler);

// --- the run -------------------------------------------------------------------------------

struct ItemResult {
  std::string key;  // id + "@" + mode: "niah_single_1/4096/3@96dpi" or "...@text"
  std::string id, suite, task, length_bin;
  std::string mode;  // "96dpi", or "text" for the text-only baseline
  double dpi = 0;    // 0 for text
  bool uuid_task = false;
  int64_t text_tokens = 0;    // the context as text, the chosen tokenizer
  int64_t visual_tokens = 0;  // the page images, the visual-token model's rule (0 for text)
  double compression = 0;     // text_tokens / visual_tokens (1 for text)
  int pages = 0;
  double render_seconds = 0;  // layout and rasterization
  double reader_seconds = 0;  // the reader's call (OCR, or the server, retries included)
  double total_seconds = 0;   // everything for this item
  std::string answer;
  double score = 0;   // 0..1
  std::string error;  // the reader's or the scorer's error; such an item is redone on resume
};

struct RunOptions {
  std::vector<double> dpis = {72};
  // The render config; unset = the preset for the item's text (en, or zh for Chinese).
  std::optional<RenderConfig> config;
  int concurrency = 1;
  std::string out_dir;
  bool resume = false;
  std::string visual_token_model = "glm-4.1v";
  std::string tokenizer_path;
  SamplingOptions sampling;  // max_tokens unset = the item's max_answer_tokens
  int ocr_threads = 1;       // rasterization and OCR threads per item (OCR reader)
  // The Glyph release's visible newline marker (a red " \n " drawn where the text breaks):
  // never, for the items that suggest it (LongBench's 12 datasets), or for every item.
  enum class NewlineMarker { none, suggested, all } newline_marker = NewlineMarker::none;
};

// Makes a reader for one worker thread (a Reader serves one thread at a time).
using ReaderFactory = std::function<std::unique_ptr<Reader>()>;

struct RunProgress {
  size_t done = 0;     // finished in this run (errors included)
  size_t total = 0;    // to do in this run
  size_t skipped = 0;  // already in results.jsonl
  size_t errors = 0;
  double elapsed_seconds = 0;
  double eta_seconds = -1;  // -1 until an item has finished
  double mean_score = 0;    // of this run's scored items, 0..1
};

struct RunCallbacks {
  std::function<void(const RunProgress&)> on_progress;  // serialized, after each item
  std::function<void(const ItemResult&)> on_result;     // serialized, after each item
  std::function<bool()> is_cancelled;  // polled; true stops taking items and aborts reads
};

struct RunReport {
  size_t done = 0, skipped = 0, errors = 0;
  bool cancelled = false;
  double seconds = 0;
  // The items' loop alone (no summary or plot), and the readers' calls summed over its items: at
  // concurrency 1, loop_seconds - reader_seconds is what the harness adds to the readers' time.
  double loop_seconds = 0, reader_seconds = 0;
  std::string results_path, summary_markdown_path, summary_json_path, plot_path;
  std::string summary_markdown;  // the table as written
  std::string first_error;       // the first item error of this run, empty when none
};

// Runs every item at every dpi through `reader` (and through `text_reader` as text, when given),
// `concurrency` items at once. Writes OUT/results.jsonl, summary.md, summary.json and plot.png.
// Throws Error(invalid_argument) when OUT/results.jsonl exists and resume is off, Error(io) when
// OUT cannot be written. A reader's failure is recorded in the item's result (not thrown).
RunReport run_eval(const std::vector<EvalItem>& items, const ReaderFactory& reader,
                   const ReaderFactory& text_reader, const RunOptions& options,
                   const RunCallbacks& callbacks = {});

// One item at the config's dpi through `reader`, as run_eval does it (without the results file):
// rendered with `config`, read, scored. A reader's failure is in the result's error.
ItemResult evaluate_item(const EvalItem& item, const RenderConfig& config, Reader& reader,
                         const RunOptions& options, const std::function<bool()>& is_cancelled = {});

// Reads results.jsonl: the last line of each key wins; a torn last line is ignored.
std::vector<ItemResult> read_results(const std::string& path);

// --- summary and plot ----------------------------------------------------------------------

struct SummaryRow {
  std::string suite, task, mode, length_bin;
  bool uuid_task = false;
  size_t items = 0, errors = 0;
  double score = 0;  // mean, 0..100
  double compression = 0, max_compression = 0;
  double text_tokens = 0, visual_tokens = 0;  // means
  double reader_seconds = 0, total_seconds = 0;
};

// The mean over tasks per mode (RULER: UUID tasks apart), as the papers report.
struct ModeSummary {
  std::string mode;
  double dpi = 0;
  double score = 0;  // mean over tasks of the task means, 0..100
  double compression = 0, max_compression = 0;
  double uuid_score = -1;  // RULER's UUID tasks, -1 when none
  size_t items = 0, errors = 0;
  double reader_seconds = 0, total_seconds = 0;  // means per item
};

struct Summary {
  std::vector<SummaryRow> rows;  // per task x mode x length bin
  std::vector<ModeSummary> modes;
};

Summary summarize(const std::vector<ItemResult>& results);
std::string summary_markdown(const Summary& summary);
std::string summary_json(const Summary& summary);

// Accuracy (0..100) against compression: one point per mode and task-mean, labelled; a line
// through the modes' means. PNG bytes, drawn with the project's renderer and fonts.
std::string plot_png(const Summary& summary, const std::string& title);

}  // namespace glyph::eval
