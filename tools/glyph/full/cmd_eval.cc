// glyph eval SUITE: the Glyph evaluation suites (RULER, LongBench, MRCR) against the OCR reader or
// an OpenAI-compatible server, optionally with a text-only baseline; see docs/eval.md.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "commands.h"
#include "config/config.h"
#include "core/error.h"
#include "eval/eval.h"
#include "read/ocr_reader.h"
#include "read/vlm_reader.h"

namespace glyph::cli {
namespace {

std::atomic<bool> interrupted{false};
void on_interrupt(int) {
  interrupted = true;
}

struct EvalFlags {
  std::string suite;
  std::vector<std::string> data;
  std::string reader;  // "", "ocr", "openai"
  std::string url, model, api_key, server_kind;
  std::string text_url, text_model;
  std::vector<double> dpis{72};
  std::string config_path;
  int concurrency = 1;
  int limit = -1;
  std::string out;
  bool resume = false;
  std::vector<std::string> tasks;
  std::vector<int> lengths{4096};
  uint64_t seed = 42;
  std::string tokenizer;
  std::string visual_model = "glm-4.1v";
  std::optional<double> temperature;
  std::optional<int> max_tokens;
  bool glyph_sampling = false;
  int ocr_threads = 1;
  std::string ocr_language = "eng";
  bool no_cache = false;
  std::string newline_marker = "none";
};

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string duration(double seconds) {
  if (seconds < 0) return "?";
  const long s = std::lround(seconds);
  char text[32];
  if (s >= 3600)
    std::snprintf(text, sizeof text, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  else if (s >= 60)
    std::snprintf(text, sizeof text, "%ldm%02lds", s / 60, s % 60);
  else
    std::snprintf(text, sizeof text, "%lds", s);
  return text;
}

std::vector<eval::EvalItem> load_items(const EvalFlags& flags) {
  eval::RulerOptions ruler;
  ruler.lengths = flags.lengths;
  ruler.samples = flags.limit > 0 ? flags.limit : 10;
  ruler.seed = flags.seed;
  ruler.tokenizer_path = flags.tokenizer;
  return eval::load_suite("eval", flags.suite, flags.data, flags.tasks, flags.limit, ruler);
}

void run_eval_command(const EvalFlags& flags) {
  const std::string url = !flags.url.empty() ? flags.url : env_or_empty("GLYPH_VLM_URL");
  const std::string reader_kind =
      !flags.reader.empty() ? flags.reader : (url.empty() ? "ocr" : "openai");
  if (reader_kind == "openai" && url.empty()) {
    throw Error(ErrorCode::invalid_argument,
                "--reader openai needs the server's address: --url http://host:port or "
                "GLYPH_VLM_URL");
  }
  const std::vector<eval::EvalItem> items = load_items(flags);
  if (items.empty()) throw Error(ErrorCode::invalid_argument, "eval: no item to run");

  eval::RunOptions options;
  options.dpis = flags.dpis;
  if (!flags.config_path.empty()) {
    std::vector<std::string> warnings;
    options.config = is_preset_name(flags.config_path) ? preset_config(flags.config_path)
                                                       : load_config(flags.config_path, &warnings);
    for (const auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  }
  options.concurrency = flags.concurrency;
  options.out_dir = !flags.out.empty() ? flags.out : "glyph-eval-" + flags.suite;
  options.resume = flags.resume;
  options.visual_token_model = flags.visual_model;
  options.tokenizer_path = flags.tokenizer;
  options.ocr_threads = flags.ocr_threads;
  options.newline_marker = flags.newline_marker == "all" ? eval::RunOptions::NewlineMarker::all
                           : flags.newline_marker == "chosen"
                               ? eval::RunOptions::NewlineMarker::suggested
                               : eval::RunOptions::NewlineMarker::none;
  if (flags.glyph_sampling) {
    // The Glyph release's request settings (its stop ids are GLM-4.1V's and are not sent).
    options.sampling.temperature = 1e-4;
    options.sampling.top_k = 1;
    options.sampling.repetition_penalty = 1.1;
  }
  if (flags.temperature) options.sampling.temperature = flags.temperature;
  options.sampling.max_tokens = flags.max_tokens;

  auto vlm_factory = [&flags](const std::string& base_url, const std::string& model) {
    return [base_url, model, &flags]() -> std::unique_ptr<Reader> {
      VlmReaderOptions o;
      o.base_url = base_url;
      o.model = model;
      o.api_key = flags.api_key;
      if (!flags.server_kind.empty()) o.server_kind = parse_server_kind(flags.server_kind);
      return std::make_unique<VlmReader>(o);
    };
  };
  eval::ReaderFactory reader;
  if (reader_kind == "ocr") {
    reader = [&flags]() -> std::unique_ptr<Reader> {
      OcrOptions o;
      o.language = flags.ocr_language;
      o.threads = flags.ocr_threads;
      o.use_cache = !flags.no_cache;
      return std::make_unique<OcrReader>(o);
    };
  } else {
    reader = vlm_factory(url, flags.model);
  }
  eval::ReaderFactory text_reader;
  if (!flags.text_url.empty())
    text_reader =
        vlm_factory(flags.text_url, flags.text_model.empty() ? flags.model : flags.text_model);

  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  const bool tty = isatty(STDERR_FILENO);
  eval::RunCallbacks callbacks;
  callbacks.is_cancelled = [] { return interrupted.load(); };
  callbacks.on_progress = [tty](const eval::RunProgress& p) {
    if (!tty) return;
    constexpr int kWidth = 24;
    const int filled = p.total ? static_cast<int>(kWidth * p.done / p.total) : kWidth;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\r\033[2Keval [%s] %zu/%zu  %.2f s/item  ETA %s  score %.1f%s",
                 bar.c_str(), p.done, p.total,
                 p.done ? p.elapsed_seconds / static_cast<double>(p.done) : 0.0,
                 duration(p.eta_seconds).c_str(), 100 * p.mean_score,
                 p.errors ? ("  errors " + std::to_string(p.errors)).c_str() : "");
  };
  std::fprintf(stderr, "eval %s: %zu items x %zu modes, reader %s%s, concurrency %d, out %s\n",
               flags.suite.c_str(), items.size(), flags.dpis.size() + (text_reader ? 1 : 0),
               reader_kind.c_str(), text_reader ? " + text baseline" : "", flags.concurrency,
               options.out_dir.c_str());
  const eval::RunReport report = eval::run_eval(items, reader, text_reader, options, callbacks);
  if (tty) std::fprintf(stderr, "\r\033[2K");
  std::cout << report.summary_markdown << std::flush;
  std::fprintf(stderr,
               "%zu done, %zu already done, %zu errors in %.1f s\nresults %s\nsummary %s, %s\n"
               "plot %s\n",
               report.done, report.skipped, report.errors, report.seconds,
               report.results_path.c_str(), report.summary_markdown_path.c_str(),
               report.summary_json_path.c_str(), report.plot_path.c_str());
  if (report.done > 0) {
    const double done = static_cast<double>(report.done);
    std::fprintf(stderr, "per item: %.2f ms of wall time in the loop, %.2f ms in the reader\n",
                 1000 * report.loop_seconds / done, 1000 * report.reader_seconds / done);
  }
  if (report.done > 0 && report.errors == report.done) {
    throw Error(ErrorCode::server, "every item failed; the first: " + report.first_error);
  }
  if (report.cancelled) {
    throw Error(ErrorCode::cancelled,
                "interrupted: run the same command with --resume to finish the remaining items");
  }
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto flags = std::make_shared<EvalFlags>();
  auto* cmd = app.add_subcommand("eval", full_only_description("eval"));
  cmd->add_option("suite", flags->suite, "ruler, longbench or mrcr")
      ->required()
      ->check(CLI::IsMember({"ruler", "longbench", "mrcr"}));
  cmd->add_option("--data", flags->data,
                  "The suite's JSONL (LongBench, MRCR; for RULER the qa task's records: context, "
                  "question, answers); repeatable");
  cmd->add_option("--reader", flags->reader,
                  "ocr (embedded Tesseract) or openai (a server); default: openai when --url or "
                  "GLYPH_VLM_URL is set, else ocr")
      ->check(CLI::IsMember({"ocr", "openai"}));
  cmd->add_option("--url", flags->url,
                  "Base URL of the OpenAI-compatible server (default: $GLYPH_VLM_URL)");
  cmd->add_option("--model", flags->model, "Model name (default: the first the server lists)");
  cmd->add_option("--api-key", flags->api_key,
                  "API key (default: $GLYPH_API_KEY, else $OPENAI_API_KEY)");
  cmd->add_option("--server", flags->server_kind,
                  "Server kind: vllm, sglang, llamacpp, ollama, openai (default: auto)");
  cmd->add_option("--text-baseline", flags->text_url,
                  "Also send each context as text to this server (a text-only baseline)");
  cmd->add_option("--text-model", flags->text_model,
                  "Model of the text baseline (default: --model, else the server's first)");
  cmd->add_option("--dpi", flags->dpis, "Render at these dpi, comma-separated (default 72)")
      ->delimiter(',')
      ->check(CLI::Range(12.0, 600.0));
  cmd->add_option("-c,--config", flags->config_path,
                  "Glyph config JSON, or a preset (en, zh, lines, code, json, table); default: "
                  "chosen by each item's text");
  cmd->add_option("--concurrency", flags->concurrency, "Items run at once (default 1)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--limit", flags->limit,
                  "Items per task and length (RULER: generated, default 10; others: the first N)")
      ->check(CLI::Range(1, 1'000'000));
  cmd->add_option("--out", flags->out, "Output folder (default glyph-eval-SUITE)");
  cmd->add_flag("--resume", flags->resume,
                "Continue the run in --out: items already in results.jsonl are skipped");
  cmd->add_option("--tasks", flags->tasks,
                  "Only these tasks, comma-separated (RULER: "
                  "niah_single_1 ... fwe, qa; LongBench: datasets)")
      ->delimiter(',');
  cmd->add_option("--lengths", flags->lengths,
                  "RULER: lengths in tokens, comma-separated (default 4096)")
      ->delimiter(',')
      ->check(CLI::Range(512, 1 << 21));
  cmd->add_option("--seed", flags->seed, "RULER: the generator's seed (default 42)");
  cmd->add_option("--tokenizer", flags->tokenizer,
                  "tokenizer.json for text tokens (default: Qwen3's, as installed by setup)");
  cmd->add_option("--visual-model", flags->visual_model,
                  "Model family for visual-token counts (default glm-4.1v, Glyph's base)");
  cmd->add_option("--temperature", flags->temperature, "Sampling temperature (sent when given)");
  cmd->add_option("--max-tokens", flags->max_tokens,
                  "Longest answer in tokens (default: the task's, as the benchmarks set it)");
  cmd->add_flag("--glyph-sampling", flags->glyph_sampling,
                "Send the Glyph release's settings: temperature 1e-4, top_k 1, repetition "
                "penalty 1.1");
  cmd->add_option("--ocr-threads", flags->ocr_threads,
                  "OCR reader: rendering and recognition threads per item (default 1)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--ocr-lang", flags->ocr_language,
                  "OCR reader: Tesseract language(s) (default eng; chi_sim+eng for Chinese)");
  cmd->add_flag("--no-cache", flags->no_cache, "OCR reader: do not read or write the page cache");
  cmd->add_option("--newline-marker", flags->newline_marker,
                  "Draw newlines as a red \" \\n \" marker: none, chosen (the Glyph release's 12 "
                  "LongBench datasets) or all (default none)")
      ->check(CLI::IsMember({"none", "chosen", "all"}));
  cmd->callback([flags] { run_eval_command(*flags); });
}

}  // namespace glyph::cli
