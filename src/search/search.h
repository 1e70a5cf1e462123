// search: the rendering config with the best compression that a reader still reads.
//
// A genetic search over the Glyph paper's space (dpi, page size, font, size, line height,
// alignment, margins, indents, paragraph spacing, horizontal scale, colours, newline markup,
// auto-crop): fitness is compression (text tokens / visual tokens of a model family) subject to a
// fidelity floor (OCR character error rate as `glyph verify` computes it, by default). Mutation,
// uniform crossover, tournament selection and elitism draw from one seeded generator, so the same
// seed gives the same search; an optional proposer (an OpenAI-compatible model that sees the
// history, as in the paper) adds configs as JSON, validated before use.
//
// Every evaluation of (config, input) is appended to OUT/history.jsonl when it is done. A resumed
// search replays the same algorithm from the start and takes each evaluation (and each proposer
// answer) from the history instead of making it again, so it ends exactly where an uninterrupted
// run ends. See docs/search.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "eval/eval.h"
#include "ingest/ingest.h"

namespace glyph::search {

// --- the space -----------------------------------------------------------------------------

struct FontChoice {
  std::string path;   // "file" or "file#N" (a face of a collection)
  std::string name;   // "DejaVu Sans"
  std::string style;  // "sans", "serif" or "mono"
};

// The installed faces the search may choose among: DejaVu Sans, Sans Condensed, Serif, Serif
// Condensed, Sans Mono; Noto Sans, Serif and Sans Mono CJK SC; Droid Sans Fallback; those present.
std::vector<FontChoice> installed_fonts();

struct PageSize {
  std::string name;
  double width_pt, height_pt;
};
// A4, A5, B5, Letter, Legal, A4 landscape, square, 16:9 and 4:3 screens.
const std::vector<PageSize>& page_sizes();

struct Palette {
  std::string name;
  Rgb font, background;
};
// Legible text/background pairs: black on white (first), dark gray, navy, sepia, low contrast,
// white on black.
const std::vector<Palette>& palettes();

// One point of the space. Bounds (is_valid): dpi 45..300; font size 7..14 and line height
// size + 0..3 in steps of 0.5 pt; margins 10..40 pt; first-line indent 0..24, left and right
// indents 0..12, space before and after paragraphs 0..6 (whole points); horizontal scale
// 0.75..1.0 in steps of 0.05.
struct Genome {
  int dpi = 72;
  int page_size = 0;  // index into page_sizes()
  int font = 0;       // index into the space's fonts
  double font_size_pt = 9;
  double line_gap_pt = 1;  // line height = font size + this
  Alignment alignment = Alignment::left;
  int margin_x_pt = 10, margin_y_pt = 10;
  int first_line_indent_pt = 0, left_indent_pt = 0, right_indent_pt = 0;
  int space_before_pt = 0, space_after_pt = 0;
  double horizontal_scale = 1.0;
  int palette = 0;              // index into palettes()
  bool newline_marker = false;  // newlines drawn as the release's red " \n " in the running text
  bool auto_crop_width = true;  // auto-crop-width
  bool auto_crop_last_page = true;
  bool auto_crop_height = true;  // every page a break leaves short
  bool operator==(const Genome&) const = default;
};

struct SearchSpace {
  RenderConfig base;  // everything the genome does not set (fallback fonts, reflow, ...)
  std::vector<FontChoice> fonts;
};
// The space around `base` (a preset or the user's config), with the installed fonts and, when
// the base's own font is not among them, that font first.
SearchSpace make_space(const RenderConfig& base);

// Deterministic generator (SplitMix64): the same seed draws the same numbers on every machine
// (the standard library's distributions are implementation-defined).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  int uniform_int(int low, int high);  // inclusive
  double uniform();                    // [0, 1)
  bool chance(double p) { return uniform() < p; }
  uint64_t state() const { return state_; }

 private:
  uint64_t state_;
};

bool is_valid(const Genome& genome, const SearchSpace& space);
Genome random_genome(const SearchSpace& space, Rng& rng);
// Each gene changes with probability `rate` (at least one gene changes): numbers by a step or
// two up or down (clamped to the bounds), dpi by 2^(0.05..0.5) up or down; choices to another
// value, flags flipped. 15% of the changes redraw the gene over its whole range instead (dpi
// log-uniform), so that a search settled in one region can still jump far.
Genome mutate(const Genome& genome, const SearchSpace& space, Rng& rng, double rate);
// The preset at other resolutions (dpi is the gene that trades fidelity for compression most):
// the first `count` of 4/3, 5/3, 2/3, 2, 1/2 times its dpi, within the bounds and distinct.
// Generation 0 of the genetic search holds them beside the preset, so that a reader that needs
// more pixels than the preset gives (Chinese at 72 dpi) starts from the preset's own family.
std::vector<Genome> dpi_ladder(const Genome& preset, int count);
// Uniform crossover: each gene from either parent; font size and line gap travel together.
Genome crossover(const Genome& a, const Genome& b, Rng& rng);

RenderConfig to_config(const Genome& genome, const SearchSpace& space);
// The genome as the Glyph config keys it sets (JSON object text, keys sorted): the cache key.
std::string genome_key(const Genome& genome, const SearchSpace& space);
// The genome of a config (the preset as the search's first individual); values outside the space
// are clamped into it. The font must be one of the space's, else Error(invalid_argument).
Genome genome_from_config(const RenderConfig& config, const SearchSpace& space);
// A config a proposer sent: Glyph keys (any subset; the rest from `fallback`), each checked
// against the space; nullopt with `why` set when a key is malformed or out of bounds.
std::optional<Genome> genome_from_proposal(const std::string& json_object_text,
                                           const Genome& fallback, const SearchSpace& space,
                                           std::string* why);

// --- evaluation ----------------------------------------------------------------------------

struct Input {
  std::string name;   // the file, for messages
  Document document;  // as ingest read it; rendered with the config's reflow, as glyph does
  std::string id;     // sha256 of the text, 16 hex digits: the cache key's input part
};
Input make_input(std::string name, Document document);

// One config on one input. The error rate of a config is the sum of errors over the sum of
// weights: OCR CER (errors = edit distance, weight = reference characters), or an eval suite
// (errors = 1 - score, weight = 1 per item).
struct Measurement {
  int64_t text_tokens = 0, visual_tokens = 0;
  double errors = 0, weight = 0;
  double seconds = 0;
};

// Measures one config on one input. Called from several threads at once.
using Evaluator = std::function<Measurement(const RenderConfig&, const Input&)>;

// The visual tokens of one config on one input without reading it (its pages rendered and
// counted): the polish stage uses it to skip steps that cannot raise compression and to move dpi
// to the top of a token level. It must agree with the evaluator's visual tokens.
using VisualCounter = std::function<int64_t(const RenderConfig&, const Input&)>;
// The pages of the input rendered with the config, counted by `visual_token_model`'s rule (as
// ocr_evaluator counts them).
VisualCounter render_visual_counter(const std::string& visual_token_model);

struct OcrEvaluatorOptions {
  std::string visual_token_model = "glm-4.1v";
  std::string tokenizer_path;  // empty: the default tokenizer.json
  std::string ocr_language;    // empty: chi_sim+eng for text with Han characters, else eng
  bool use_ocr_cache = true;
};
// Text tokens of the input's text; visual tokens of its pages; errors and reference characters of
// the OCR round trip (verify_round_trip, the definition of `glyph verify`).
Evaluator ocr_evaluator(const OcrEvaluatorOptions& options);

// Fidelity as an eval suite's accuracy (src/eval): every item is one input (its context rendered
// with the config, read by a reader from `reader`, scored by the suite's metric); errors = 1 -
// score, weight 1. Text tokens are the context's, visual tokens its pages'.
std::vector<Input> inputs_from_items(const std::vector<eval::EvalItem>& items);
Evaluator eval_evaluator(const std::vector<eval::EvalItem>& items, eval::ReaderFactory reader,
                         eval::RunOptions options);

// --- the search ----------------------------------------------------------------------------

enum class Strategy { genetic, random };

struct SearchOptions {
  double floor = 0.02;  // the highest fidelity error allowed (CER: 0.02 = 2%)
  int generations = 6;
  int population = 8;
  int elite = 2;       // carried over unchanged
  int tournament = 3;  // contestants per parent
  double crossover_rate = 0.9;
  double mutation_rate = 0.25;            // per gene
  Strategy strategy = Strategy::genetic;  // random: every new individual drawn at random
  double budget_seconds = 0;              // 0: none; checked before each generation
  uint64_t seed = 1;
  int concurrency = 2;  // evaluations at once
  std::string out_dir;
  bool resume = false;
  int proposals = 0;  // per generation from the proposer (0: none)
  // Configs measured by the polish stage after the generations (0: none; the command's default
  // is 16); with Strategy::random, as many more random configs instead (the baseline keeps the
  // same number of evaluations).
  int polish = 0;
};

// Answers a prompt with the model's text (throws on failure).
using Proposer = std::function<std::string(const std::string& prompt)>;
// A proposer asking an OpenAI-compatible server (chat completions) through the VlmReader.
Proposer openai_proposer(const std::string& url, const std::string& model,
                         const std::string& api_key);

struct Individual {
  Genome genome;
  std::string key;
  std::string origin;  // preset, preset-dpi, random, child, elite, proposer, polish
  int generation = 0;
  double compression = 0;  // sum of text tokens / sum of visual tokens over the inputs
  double error_rate = 0;   // sum of errors / sum of reference characters
  int64_t text_tokens = 0, visual_tokens = 0;
  bool feasible = false;  // error_rate <= floor
};

// The elites of a generation from its members ranked best first (indices into `ranked`): the
// best, then the best whose dpi differs from every chosen elite's by more than a factor 1.25,
// and so on (crowding: elites of one family would hold the whole population where it first did
// well); when no other niche is left, the ranking fills the rest. Distinct keys only.
std::vector<size_t> select_elites(const std::vector<Individual>& ranked, int count);

struct SearchResult {
  std::vector<Individual> evaluated;  // every distinct config, in the order first evaluated
  std::vector<size_t> front;          // Pareto front (compression up, error down), by compression
  std::optional<size_t> best;         // highest compression within the floor
  size_t preset = 0;                  // the base config's individual
  int generations_done = 0;
  size_t polished = 0;  // configs the polish stage (or the random baseline's extra draws) added
  size_t measurements = 0, from_history = 0;  // (config, input) pairs: made, replayed
  size_t proposed = 0, proposals_accepted = 0, proposals_rejected = 0, proposer_failures = 0;
  bool stopped_by_budget = false, cancelled = false;
  std::string history_path, front_markdown_path, front_plot_path, best_config_path;
  std::string front_markdown;
};

struct SearchCallbacks {
  std::function<void(int generation, const SearchResult&)> on_generation;
  std::function<bool()> is_cancelled;
};

// Runs the search, then the polish stage (options.polish configs): from the best configs of
// distinct dpi families (the first within the floor, else the nearest to it), dpi is bisected to
// the lowest that reads within the floor (each tried dpi moved up to the highest with the same
// visual tokens, when `visual` is given), then single steps (font size, line height, margins,
// horizontal scale, page size, indents, paragraph spacing, alignment, auto-crop) are kept when
// they stay within the floor and raise compression, `visual` skipping those that cannot; dpi is
// bisected again after a kept step. Deterministic, cached and resumed like the generations.
// Writes OUT/history.jsonl, front.md, front.png and best.json (the best
// config as Glyph JSON, for -c; the preset when nothing is within the floor). Throws
// Error(invalid_argument) for bad options or when the history exists without resume, or belongs
// to another search (seed, floor, sizes, inputs or space differ).
SearchResult run_search(const std::vector<Input>& inputs, const SearchSpace& space,
                        const Evaluator& evaluator, const SearchOptions& options,
                        const Proposer& proposer = {}, const SearchCallbacks& callbacks = {},
                        const VisualCounter& visual = {});

// The front as a Markdown table, and as a PNG plot drawn by the project (compression against
// error rate, the floor as a line, the preset and the best marked).
std::string front_markdown(const SearchResult& result, const SearchSpace& space, double floor);
std::string front_png(const SearchResult& result, double floor, const std::string& title);

}  // namespace glyph::search
