// glyph search INPUT...: the rendering config with the best compression that the reader still
// reads (OCR CER, or an eval suite's accuracy through any reader); see docs/search.md.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "commands.h"
#include "config/config.h"
#include "core/error.h"
#include "core/utf8.h"
#include "eval/eval.h"
#include "input.h"
#include "read/ocr_reader.h"
#include "read/vlm_reader.h"
#include "search/search.h"

namespace glyph::cli {
namespace {

std::atomic<bool> interrupted{false};
void on_interrupt(int) {
  interrupted = true;
}

struct SearchFlags {
  std::vector<std::string> inputs;
  InputFlags input_flags;
  std::string reader;  // "", "ocr", "openai"
  std::string url, model, api_key;
  std::string eval_suite;
  std::vector<std::string> data, tasks;
  std::vector<int> lengths{4096};
  int limit = 3;
  double floor = -1;
  int generations = 6, population = 8, elite = 2, concurrency = 2;
  double budget_seconds = 0;
  std::string out = "glyph-search";
  bool resume = false;
  uint64_t seed = 1;
  std::string config_path;
  std::string strategy = "genetic";
  std::string proposer_url, proposer_model;
  int proposals = -1;
  int polish = 16;
  int max_chars = 0;
  std::string visual_model = "glm-4.1v", tokenizer, ocr_language;
  bool no_cache = false;
};

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// The first `max_chars` characters, cut after the last line break (else space) before the limit.
std::string head_of(const std::string& text, int max_chars) {
  std::u32string chars = decode_utf8(text).text;
  if (max_chars <= 0 || chars.size() <= static_cast<size_t>(max_chars)) return text;
  chars.resize(static_cast<size_t>(max_chars));
  size_t cut = chars.rfind(U'\n');
  if (cut == std::u32string::npos || cut < chars.size() / 2) cut = chars.rfind(U' ');
  if (cut != std::u32string::npos && cut >= chars.size() / 2) chars.resize(cut);
  return encode_utf8(chars);
}

std::vector<eval::EvalItem> load_eval_items(const SearchFlags& flags) {
  eval::RulerOptions ruler;
  ruler.lengths = flags.lengths;
  ruler.samples = flags.limit;
  ruler.seed = flags.seed;
  ruler.tokenizer_path = flags.tokenizer;
  return eval::load_suite("search --eval", flags.eval_suite, flags.data, flags.tasks, flags.limit,
                          ruler);
}

void run_search_command(const SearchFlags& flags) {
  if (flags.floor < 0)
    throw Error(ErrorCode::invalid_argument,
                "search: give the fidelity floor, --floor X (the highest error rate allowed, "
                "0.02 = 2%)");
  const std::string url = !flags.url.empty() ? flags.url : env_or_empty("GLYPH_VLM_URL");
  const std::string reader_kind =
      !flags.reader.empty() ? flags.reader : (url.empty() ? "ocr" : "openai");
  if (reader_kind == "openai" && url.empty())
    throw Error(ErrorCode::invalid_argument,
                "--reader openai needs the server's address: --url http://host:port");
  if (reader_kind == "openai" && flags.eval_suite.empty())
    throw Error(ErrorCode::invalid_argument,
                "search: a server reader is measured on an eval suite: add --eval ruler (or "
                "longbench, mrcr with --data); the OCR reader's CER needs no suite");
  if (flags.eval_suite.empty() && flags.inputs.empty())
    throw Error(ErrorCode::invalid_argument, "search: give INPUT files, or --eval SUITE");

  std::vector<search::Input> inputs;
  std::vector<eval::EvalItem> items;
  if (flags.eval_suite.empty()) {
    for (const auto& path : flags.inputs) {
      Document document = read_input(path, flags.input_flags);
      document.text = head_of(document.text, flags.max_chars);
      if (flags.max_chars > 0) document.blocks.clear();  // they index the whole text
      inputs.push_back(search::make_input(path, std::move(document)));
    }
  } else {
    items = load_eval_items(flags);
    if (items.empty()) throw Error(ErrorCode::invalid_argument, "search: the suite has no item");
    inputs = search::inputs_from_items(items);
  }

  RenderConfig base;
  if (!flags.config_path.empty()) {
    std::vector<std::string> warnings;
    base = flags.config_path == "en" || flags.config_path == "zh"
               ? preset_config(flags.config_path)
               : load_config(flags.config_path, &warnings);
    for (const auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  } else {
    base = config_for_text(decode_utf8(inputs.front().document.text).text);
  }
  apply_reflow_flag(flags.input_flags, base);
  const search::SearchSpace space = search::make_space(base);

  search::Evaluator evaluator;
  if (flags.eval_suite.empty()) {
    search::OcrEvaluatorOptions o;
    o.visual_token_model = flags.visual_model;
    o.tokenizer_path = flags.tokenizer;
    o.ocr_language = flags.ocr_language;
    o.use_ocr_cache = !flags.no_cache;
    evaluator = search::ocr_evaluator(o);
  } else {
    eval::ReaderFactory reader;
    if (reader_kind == "ocr") {
      reader = [&flags]() -> std::unique_ptr<Reader> {
        OcrOptions o;
        if (!flags.ocr_language.empty()) o.language = flags.ocr_language;
        o.threads = 1;
        o.use_cache = !flags.no_cache;
        return std::make_unique<OcrReader>(o);
      };
    } else {
      reader = [url, &flags]() -> std::unique_ptr<Reader> {
        VlmReaderOptions o;
        o.base_url = url;
        o.model = flags.model;
        o.api_key = flags.api_key;
        return std::make_unique<VlmReader>(o);
      };
    }
    eval::RunOptions options;
    options.visual_token_model = flags.visual_model;
    options.tokenizer_path = flags.tokenizer;
    evaluator = search::eval_evaluator(items, reader, options);
  }

  search::SearchOptions options;
  options.floor = flags.floor;
  options.generations = flags.generations;
  options.population = flags.population;
  options.elite = std::min(flags.elite, flags.population - 1);
  options.budget_seconds = flags.budget_seconds;
  options.seed = flags.seed;
  options.concurrency = flags.concurrency;
  options.out_dir = flags.out;
  options.resume = flags.resume;
  options.polish = flags.polish;
  options.strategy =
      flags.strategy == "random" ? search::Strategy::random : search::Strategy::genetic;
  search::Proposer proposer;
  if (!flags.proposer_url.empty()) {
    proposer = search::openai_proposer(flags.proposer_url, flags.proposer_model, flags.api_key);
    options.proposals = flags.proposals >= 0 ? flags.proposals : flags.population / 2;
  }

  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  search::SearchCallbacks callbacks;
  callbacks.is_cancelled = [] { return interrupted.load(); };
  callbacks.on_generation = [](int generation, const search::SearchResult& r) {
    double best = -1;
    for (const auto& individual : r.evaluated)
      if (individual.feasible) best = std::max(best, individual.compression);
    char text[64] = "none within the floor";
    if (best >= 0) std::snprintf(text, sizeof text, "%.2fx", best);
    std::fprintf(stderr,
                 "generation %d: %zu configs, %zu measured, %zu from the history, best %s\n",
                 generation, r.evaluated.size(), r.measurements, r.from_history, text);
  };
  std::fprintf(stderr, "search: %zu input(s), population %d, %d generations, floor %g, out %s\n",
               inputs.size(), options.population, options.generations, options.floor,
               options.out_dir.c_str());
  const search::SearchResult result = search::run_search(
      inputs, space, evaluator, options, proposer, callbacks,
      flags.eval_suite.empty() ? search::render_visual_counter(flags.visual_model)
                               : search::VisualCounter{});
  std::cout << result.front_markdown << std::flush;
  if (options.proposals > 0) {
    std::fprintf(stderr,
                 "proposer: %zu configs proposed, %zu accepted, %zu rejected as invalid, %zu "
                 "failed answers\n",
                 result.proposed, result.proposals_accepted, result.proposals_rejected,
                 result.proposer_failures);
  }
  std::fprintf(stderr, "history %s\nfront %s, %s\nbest config %s%s\n", result.history_path.c_str(),
               result.front_markdown_path.c_str(), result.front_plot_path.c_str(),
               result.best_config_path.c_str(),
               result.best ? "" : " (the preset: no config is within the floor)");
  if (result.stopped_by_budget)
    std::fprintf(stderr, "stopped by --budget-seconds after %d generations\n",
                 result.generations_done);
  else if (result.polished > 0)
    std::fprintf(stderr, "polish: %zu configs\n", result.polished);
  if (result.cancelled)
    throw Error(ErrorCode::cancelled,
                "interrupted: run the same command with --resume to continue the search");
}

}  // namespace

void add_search_command(CLI::App& app) {
  auto flags = std::make_shared<SearchFlags>();
  auto* cmd = app.add_subcommand("search", full_only_description("search"));
  cmd->add_option("input", flags->inputs, "Documents to measure on (the OCR reader's CER)");
  add_input_flags(cmd, flags->input_flags);
  cmd->add_option("--reader", flags->reader,
                  "ocr (embedded Tesseract) or openai (a server, with --eval); default: openai "
                  "when --url is set, else ocr")
      ->check(CLI::IsMember({"ocr", "openai"}));
  cmd->add_option("--url", flags->url, "OpenAI-compatible server (default: $GLYPH_VLM_URL)");
  cmd->add_option("--model", flags->model, "Model name (default: the first the server lists)");
  cmd->add_option("--api-key", flags->api_key,
                  "API key (default: $GLYPH_API_KEY, else $OPENAI_API_KEY)");
  cmd->add_option("--eval", flags->eval_suite,
                  "Fidelity = this suite's accuracy through the reader instead of OCR CER")
      ->check(CLI::IsMember({"ruler", "longbench", "mrcr"}));
  cmd->add_option("--data", flags->data, "--eval: the suite's JSONL (repeatable)");
  cmd->add_option("--tasks", flags->tasks, "--eval: only these tasks")->delimiter(',');
  cmd->add_option("--lengths", flags->lengths, "--eval ruler: lengths in tokens (default 4096)")
      ->delimiter(',')
      ->check(CLI::Range(512, 1 << 21));
  cmd->add_option("--limit", flags->limit, "--eval: items per task and length (default 3)")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--floor", flags->floor,
                  "Highest error rate allowed: CER (0.02 = 2%), or 1 - accuracy with --eval")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--generations", flags->generations, "Generations (default 6)")
      ->check(CLI::Range(1, 10000));
  cmd->add_option("--population", flags->population, "Configs per generation (default 8)")
      ->check(CLI::Range(2, 10000));
  cmd->add_option("--elite", flags->elite, "Best configs carried over unchanged (default 2)")
      ->check(CLI::Range(0, 10000));
  cmd->add_option("--budget-seconds", flags->budget_seconds,
                  "Start no generation after this many seconds (default: no limit)")
      ->check(CLI::Range(0.0, 1e9));
  cmd->add_option("--out", flags->out, "Output folder (default glyph-search)");
  cmd->add_flag("--resume", flags->resume,
                "Continue the search in --out (evaluations in its history are not made again)");
  cmd->add_option("--seed", flags->seed, "Random seed (default 1)");
  cmd->add_option("--concurrency", flags->concurrency, "Evaluations at once (default 2)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("-c,--config", flags->config_path,
                  "The base config (a preset en/zh or a JSON file): the first individual and the "
                  "keys the search does not set (default: chosen by the first input's text)");
  cmd->add_option("--strategy", flags->strategy,
                  "genetic (default) or random (every new config drawn at random: a baseline)")
      ->check(CLI::IsMember({"genetic", "random"}));
  cmd->add_option("--polish", flags->polish,
                  "Configs measured by the polish stage after the generations: dpi bisected to "
                  "the floor, then single steps on the other genes (default 16; with --strategy "
                  "random, as many more random configs)")
      ->check(CLI::Range(0, 100000));
  cmd->add_option("--proposer-url", flags->proposer_url,
                  "An OpenAI-compatible server that proposes configs from the history");
  cmd->add_option("--proposer-model", flags->proposer_model, "The proposer's model");
  cmd->add_option("--proposals", flags->proposals,
                  "Configs asked of the proposer per generation (default population / 2)")
      ->check(CLI::Range(0, 10000));
  cmd->add_option("--max-chars", flags->max_chars,
                  "Measure on the first N characters of each input (default: all)")
      ->check(CLI::Range(0, 1 << 30));
  cmd->add_option("--visual-model", flags->visual_model,
                  "Model family for visual tokens (default glm-4.1v)");
  cmd->add_option("--tokenizer", flags->tokenizer, "tokenizer.json for text tokens");
  cmd->add_option("--ocr-lang", flags->ocr_language,
                  "Tesseract language(s) (default: chi_sim+eng for Chinese text, else eng)");
  cmd->add_flag("--no-cache", flags->no_cache, "OCR: do not read or write the page cache");
  cmd->callback([flags] { run_search_command(*flags); });
}

}  // namespace glyph::cli
