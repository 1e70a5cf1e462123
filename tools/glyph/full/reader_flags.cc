#include "reader_flags.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "core/error.h"
#include "core/utf8.h"
#include "read/vlm_reader.h"

namespace glyph::cli {
namespace {

std::atomic<bool> interrupted{false};
std::atomic<bool> progress_shown{false};
std::mutex terminal_mutex;
// When stdout is not a terminal the answer text is held and written whole at the end: a model
// may turn out to have written reasoning (an orphan "</think>"), and a pipe cannot take back
// what it was given. On a terminal it streams tentatively.
bool stdout_tty = true;
std::string held_content;
std::size_t reasoning_shown = 0;  // bytes of reasoning written to stderr in this attempt

void on_interrupt(int) {
  interrupted = true;
}

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

bool has_han(std::u32string_view text) {
  for (char32_t c : text) {
    if (c >= 0x4E00 && c <= 0x9FFF) return true;
  }
  return false;
}

nlohmann::json box_json(const PixelBox& box) {
  return {box.left_px, box.top_px, box.right_px, box.bottom_px};
}

void print_plan(const ReadPlan& plan) {
  std::fprintf(stderr, "plan: %s; budget %lld visual tokens (%s", plan.strategy.c_str(),
               static_cast<long long>(plan.budget), plan.budget_source.c_str());
  if (plan.context_tokens > 0)
    std::fprintf(stderr, ": context %lld - prompt %lld - answer %lld",
                 static_cast<long long>(plan.context_tokens),
                 static_cast<long long>(plan.prompt_tokens),
                 static_cast<long long>(plan.answer_tokens));
  std::fprintf(stderr, "); all pages %lld; sent %lld in %d request(s)\n",
               static_cast<long long>(plan.all_pages_tokens), static_cast<long long>(plan.tokens),
               plan.requests);
  size_t shown = 0;
  for (const auto& part : plan.parts) {
    if (++shown > 40) {
      std::fprintf(stderr, "  ... %zu more parts\n", plan.parts.size() - 40);
      break;
    }
    std::string pages;
    if (!part.pages.empty()) {
      pages = std::to_string(part.pages.front());
      if (part.pages.size() > 1) pages += "-" + std::to_string(part.pages.back());
    }
    std::fprintf(stderr, "  %-6s pages %-9s %5.1f dpi %5dx%-5d %6lld tokens", part.kind.c_str(),
                 pages.c_str(), part.dpi, part.width_px, part.height_px,
                 static_cast<long long>(part.tokens));
    if (part.box)
      std::fprintf(stderr, "  box (%d, %d)-(%d, %d)", part.box->left_px, part.box->top_px,
                   part.box->right_px, part.box->bottom_px);
    std::fprintf(stderr, "\n");
  }
}

}  // namespace

void add_reader_flags(CLI::App* command, ReaderFlags& flags, bool with_backend) {
  command
      ->add_option("input", flags.input,
                   "Document (txt, pdf, docx, md, html), or - for standard input")
      ->required();
  add_input_flags(command, flags.input_flags);
  command->add_option("-c,--config", flags.config_path,
                      "Glyph config JSON, or a preset (en, zh, lines, code, json, table); default: "
                      "chosen by the text");
  command->add_option("--dpi", flags.dpi, "Render at this dpi instead of the config's")
      ->check(CLI::Range(12.0, 600.0));
  command->add_flag(
      "--json", flags.json,
      "Print one JSON object: answer, reasoning, citations (page, box, chars), tokens, timings");
  command
      ->add_option("--threads", flags.threads, "Threads for rendering and OCR (default: all cores)")
      ->check(CLI::Range(0, 256));
  command->add_option(
      "--ocr-lang", flags.ocr_language,
      "Tesseract language(s) for the OCR reader (default: eng, chi_sim+eng for CJK text)");
  command
      ->add_option("--ocr-upscale", flags.ocr_upscale,
                   "Enlarge page images this much before OCR (default: 144 / dpi, within 1..4)")
      ->check(CLI::Range(1.0, 8.0));
  command->add_flag("--no-cache", flags.no_cache, "Do not read or write the OCR page cache");
  command->add_option("--visual-model", flags.visual_token_model,
                      "Model family for visual-token counts (default glm-4.1v, Glyph's base)");
  if (!with_backend) return;
  command
      ->add_option(
          "--backend", flags.backend,
          "ocr (embedded Tesseract) or openai (an OpenAI-compatible server); default: openai "
          "when --url or GLYPH_VLM_URL is set, else ocr")
      ->check(CLI::IsMember({"ocr", "openai"}));
  command->add_option("--url", flags.url,
                      "Base URL of the OpenAI-compatible server (default: $GLYPH_VLM_URL)");
  command->add_option("--model", flags.model, "Model name (default: the first the server lists)");
  command->add_option("--api-key", flags.api_key,
                      "API key (default: $GLYPH_API_KEY, else $OPENAI_API_KEY)");
  command
      ->add_option("--api", flags.api,
                   "VLM protocol: openai (Chat Completions) or anthropic (Messages API; default "
                   "URL https://api.anthropic.com, key $ANTHROPIC_API_KEY)")
      ->check(CLI::IsMember({"openai", "anthropic"}));
  command
      ->add_option("--thinking-budget", flags.thinking_budget,
                   "With --api anthropic: ask for extended thinking with this many tokens")
      ->check(CLI::Range(0, 1000000));
  command->add_option("--server", flags.server_kind,
                      "Server kind: vllm, sglang, llamacpp, ollama, openai (default: auto)");
  command->add_option("--temperature", flags.temperature,
                      "Sampling temperature (sent only when given)");
  command->add_option("--max-tokens", flags.max_tokens,
                      "Longest answer in tokens (sent only when given)");
  command
      ->add_option("--budget", flags.budget,
                   "Visual tokens a request may spend (default: the model's context from "
                   "/v1/models or its family, minus the prompt and --max-tokens); over it, a "
                   "global pass and focused crops, or map-reduce for summaries")
      ->check(CLI::Range(int64_t{1}, int64_t{100'000'000}));
  command
      ->add_option("--selector", flags.selector,
                   "Over budget, where to focus: retrieval (BM25 over the layout map) or model "
                   "(ask the model which pages, over the global pass)")
      ->check(CLI::IsMember({"retrieval", "model"}));
  command
      ->add_option("--global-layout", flags.global_layout,
                   "Over budget, the global pass: auto, pages (one scaled image per page) or "
                   "tiles (pages stacked into images)")
      ->check(CLI::IsMember({"auto", "pages", "tiles"}));
  command
      ->add_option("--concurrency", flags.concurrency,
                   "Over budget, chunk reads of summaries and extractions at once (default 1)")
      ->check(CLI::Range(1, 64));
  command->add_flag("-v,--verbose", flags.verbose,
                    "Print the read plan (budget, what was sent at which dpi, tokens per part)");
  command->add_flag(
      "--no-focus", flags.no_focus,
      "OCR reader: read every page instead of the regions the layout map points to first");
}

std::unique_ptr<RenderedDocument> load_document(const ReaderFlags& flags) {
  const Document document = read_input(flags.input, flags.input_flags);
  RenderConfig config;
  if (!flags.config_path.empty()) {
    std::vector<std::string> warnings;
    config = is_preset_name(flags.config_path) ? preset_config(flags.config_path)
                                               : load_config(flags.config_path, &warnings);
    for (const auto& warning : warnings) std::fprintf(stderr, "warning: %s\n", warning.c_str());
  } else {
    config = config_for_text(decode_utf8(document.text).text);
  }
  if (flags.dpi > 0) config.dpi = flags.dpi;
  apply_reflow_flag(flags.input_flags, config);
  return std::make_unique<RenderedDocument>(document, std::move(config));
}

OcrOptions ocr_options(const ReaderFlags& flags, const RenderedDocument& document) {
  OcrOptions options;
  options.language = !flags.ocr_language.empty() ? flags.ocr_language
                     : has_han(document.text())  ? "chi_sim+eng"
                                                 : "eng";
  if (flags.ocr_upscale > 0) options.upscale = flags.ocr_upscale;
  options.threads = flags.threads;
  options.use_cache = !flags.no_cache;
  return options;
}

std::unique_ptr<Reader> make_reader(const ReaderFlags& flags, const RenderedDocument& document) {
  const bool anthropic = flags.api == "anthropic";
  std::string url = !flags.url.empty() ? flags.url : env_or_empty("GLYPH_VLM_URL");
  if (url.empty() && anthropic) url = "https://api.anthropic.com";
  const std::string backend =
      !flags.backend.empty() ? flags.backend : (url.empty() ? "ocr" : "openai");
  if (backend == "ocr" && anthropic)
    throw Error(ErrorCode::invalid_argument,
                "--api anthropic needs the VLM reader, not --backend ocr");
  if (backend == "ocr") return std::make_unique<OcrReader>(ocr_options(flags, document));
  if (url.empty()) {
    throw Error(
        ErrorCode::invalid_argument,
        "--backend openai needs the server's address: --url http://host:port or GLYPH_VLM_URL");
  }
  VlmReaderOptions options;
  options.base_url = url;
  options.model = flags.model;
  options.api_key = flags.api_key;
  options.api = parse_api_protocol(flags.api);
  options.thinking_budget_tokens = flags.thinking_budget;
  if (!flags.server_kind.empty()) options.server_kind = parse_server_kind(flags.server_kind);
  return std::make_unique<VlmReader>(options);
}

TaskOptions task_options(const ReaderFlags& flags) {
  TaskOptions options;
  options.threads = flags.threads;
  options.focus = !flags.no_focus;
  options.visual_token_model = flags.visual_token_model;
  options.budget = flags.budget;
  options.selector = flags.selector;
  options.global_layout = flags.global_layout;
  options.concurrency = flags.concurrency;
  return options;
}

void clear_progress() {
  if (progress_shown.exchange(false)) std::fprintf(stderr, "\r\033[2K");
}

TaskCallbacks terminal_callbacks(const ReaderFlags& flags) {
  std::signal(SIGINT, on_interrupt);
  const bool stderr_tty = isatty(STDERR_FILENO);
  TaskCallbacks callbacks;
  callbacks.is_cancelled = [] { return interrupted.load(); };
  if (!flags.json) {
    stdout_tty = isatty(STDOUT_FILENO);
    held_content.clear();
    reasoning_shown = 0;
    callbacks.on_content = [](std::string_view text) {
      std::lock_guard lock(terminal_mutex);
      if (!stdout_tty) {
        held_content += text;
        return;
      }
      clear_progress();
      std::cout << text << std::flush;
    };
    auto show_reasoning = [stderr_tty](std::string_view text) {
      clear_progress();
      reasoning_shown += text.size();
      if (stderr_tty)
        std::fprintf(stderr, "\033[2m%.*s\033[0m", static_cast<int>(text.size()), text.data());
      else
        std::fprintf(stderr, "%.*s", static_cast<int>(text.size()), text.data());
    };
    callbacks.on_reasoning = [show_reasoning](std::string_view text) {
      std::lock_guard lock(terminal_mutex);
      show_reasoning(text);
    };
    callbacks.on_restart = [] {
      std::lock_guard lock(terminal_mutex);
      held_content.clear();
      reasoning_shown = 0;
      std::cout << std::flush;
      std::fprintf(stderr, "\n[the server failed mid-answer; retrying from the start]\n");
    };
    callbacks.on_replace = [show_reasoning](std::string_view content, std::string_view reasoning) {
      std::lock_guard lock(terminal_mutex);
      if (stdout_tty) {
        // What streamed to the terminal as the answer was reasoning: say so, then go on.
        std::cout << std::flush;
        std::fprintf(stderr, "\n[the text above was the model's reasoning; the answer follows]\n");
        reasoning_shown = reasoning.size();
        std::cout << content << std::flush;
      } else {
        held_content = std::string(content);
        if (reasoning.size() > reasoning_shown) show_reasoning(reasoning.substr(reasoning_shown));
      }
    };
  }
  if (stderr_tty) {
    callbacks.on_progress = [](const TaskProgress& progress) {
      std::lock_guard lock(terminal_mutex);
      if (progress.total == 0) return;
      constexpr int kWidth = 30;
      const int filled = static_cast<int>(kWidth * progress.done / progress.total);
      std::string bar(filled, '#');
      bar.resize(kWidth, '.');
      std::fprintf(stderr, "\r\033[2K%-6s [%s] %zu/%zu", progress.stage.c_str(), bar.c_str(),
                   progress.done, progress.total);
      progress_shown = true;
      if (progress.done == progress.total) clear_progress();
    };
  }
  return callbacks;
}

void print_answer(const Answer& answer, const ReaderFlags& flags) {
  clear_progress();
  if (flags.json) {
    nlohmann::json j;
    j["answer"] = answer.text;
    j["reasoning"] = answer.reasoning;
    nlohmann::json citations = nlohmann::json::array();
    for (const auto& c : answer.citations) {
      citations.push_back({{"page", c.page},
                           {"bbox_px", box_json(c.bbox_px)},
                           {"char_start", c.char_start},
                           {"char_end", c.char_end},
                           {"quote", c.quote}});
      if (c.source_page > 0) citations.back()["source_page"] = c.source_page;
    }
    j["citations"] = std::move(citations);
    if (!answer.extraction_json.empty()) {
      j["extraction"] = nlohmann::json::parse(answer.extraction_json, nullptr, false);
    }
    if (answer.text_tokens) j["text_tokens"] = *answer.text_tokens;
    if (answer.visual_tokens) j["visual_tokens"] = *answer.visual_tokens;
    if (answer.ratio) j["ratio"] = *answer.ratio;
    j["reader"] = answer.reader;
    j["model"] = answer.model;
    j["finish_reason"] = answer.finish_reason;
    if (answer.repetition.detected) j["repetition"] = answer.repetition;
    if (answer.usage.prompt_tokens >= 0 || answer.usage.completion_tokens >= 0) {
      j["usage"] = {{"prompt_tokens", answer.usage.prompt_tokens},
                    {"completion_tokens", answer.usage.completion_tokens}};
    }
    j["pages"] = answer.pages;
    j["images_read"] = answer.images_read;
    if (answer.plan) j["plan"] = *answer.plan;
    j["steps"] = answer.steps;
    j["timings"] = {{"render_seconds", answer.timings.render_seconds},
                    {"retrieval_seconds", answer.timings.retrieval_seconds},
                    {"read_seconds", answer.timings.read_seconds},
                    {"first_token_seconds", answer.timings.first_token_seconds},
                    {"total_seconds", answer.timings.total_seconds}};
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  // The answer itself was streamed (or held, when stdout is not a terminal); end its line, then
  // where it comes from.
  if (!stdout_tty) std::cout << held_content;
  std::cout << "\n";
  if (!answer.citations.empty()) {
    std::cout << "\nCitations:\n";
    for (size_t i = 0; i < answer.citations.size(); ++i) {
      const auto& c = answer.citations[i];
      std::string quote = c.quote;
      if (decode_utf8(quote).text.size() > 100)
        quote = encode_utf8(decode_utf8(quote).text.substr(0, 97)) + "...";
      std::cout << "  [" << i + 1 << "] page " << c.page;
      if (c.source_page > 0) std::cout << " (source page " << c.source_page << ")";
      std::cout << ", box (" << c.bbox_px.left_px << ", " << c.bbox_px.top_px << ")-("
                << c.bbox_px.right_px << ", " << c.bbox_px.bottom_px << ") px, chars "
                << c.char_start << "-" << c.char_end << ": \"" << quote << "\"\n";
    }
  }
  std::cout << std::flush;
  for (const auto& step : answer.steps) std::fprintf(stderr, "%s\n", step.c_str());
  if (flags.verbose && answer.plan) print_plan(*answer.plan);
  std::string tokens;
  if (answer.text_tokens) tokens += ", " + std::to_string(*answer.text_tokens) + " text tokens";
  if (answer.visual_tokens)
    tokens += ", " + std::to_string(*answer.visual_tokens) + " visual tokens";
  if (answer.ratio) {
    char ratio[32];
    std::snprintf(ratio, sizeof ratio, " (%.2fx)", *answer.ratio);
    tokens += ratio;
  }
  std::fprintf(stderr, "%d pages%s; %s; %.1f s\n", answer.pages, tokens.c_str(),
               answer.model.c_str(), answer.timings.total_seconds);
}

void run_reader_task(const ReaderFlags& flags, TaskRequest request) {
  const auto document = load_document(flags);
  const auto reader = make_reader(flags, *document);
  request.sampling.temperature = flags.temperature;
  request.sampling.max_tokens = flags.max_tokens;
  TaskOptions options = task_options(flags);
  const RenderedDocument* rendered = document.get();
  options.make_reader = [&flags, rendered] { return make_reader(flags, *rendered); };
  const Answer answer = run_task(*document, request, *reader, options, terminal_callbacks(flags));
  print_answer(answer, flags);
}

}  // namespace glyph::cli
