// fake_vlm_server: the tests' fake OpenAI-compatible server as a standalone program, for
// end-to-end tests of the CLI and the web page (docs/readers.md).
//
//   fake_vlm_server [--port N] [--mode vllm|sglang|llamacpp|ollama|openai|ocr] [--model NAME]
//                   [--answer TEXT] [--reasoning TEXT] [--api-key KEY] [--chunk-delay-ms N]
//                   [--max-context-tokens N] [--max-images N] [--think-close-only] [--loop TEXT]
//                   [--no-record]
//
// --mode ocr: a vLLM-like server that reads the images of each request with Tesseract and answers
// from what it read (tests/support/fake_ocr_answer.h); --ocr-lang picks Tesseract's language.
//
// Prints "listening on http://127.0.0.1:PORT" on stdout once it accepts connections (PORT is
// ephemeral with --port 0), then serves until SIGINT or SIGTERM, and exits at once on either.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "support/fake_vlm_server.h"

namespace {
volatile std::sig_atomic_t stop_requested = 0;
void on_signal(int) {
  stop_requested = 1;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Fake OpenAI-compatible VLM server for tests (no model runs; scripted answers)"};
  glyph::test::FakeServerOptions options;
  std::string mode = "vllm";
  app.add_option("--port", options.port, "port on 127.0.0.1 (0: ephemeral)");
  app.add_option("--mode", mode, "server family to imitate")
      ->check(CLI::IsMember({"vllm", "sglang", "llamacpp", "ollama", "openai", "ocr"}));
  app.add_option("--ocr-lang", options.ocr_language, "Tesseract language for --mode ocr");
  app.add_option("--model", options.model, "model id served (default: typical of the mode)");
  app.add_option("--answer", options.answer.content, "the answer every chat request gets");
  app.add_option("--reasoning", options.answer.reasoning, "reasoning streamed before the answer");
  app.add_option("--api-key", options.api_key, "require Authorization: Bearer KEY");
  app.add_option("--chunk-delay-ms", options.answer.chunk_delay_ms, "pause between stream events");
  app.add_option("--max-context-tokens", options.max_context_tokens, "refuse longer prompts (400)");
  app.add_option("--max-images", options.max_images, "refuse more images per request (400)");
  app.add_option(
      "--loop", options.answer.loop,
      "after the answer, repeat this text 300 times unless a repetition penalty is sent");
  bool think_close_only = false;
  app.add_flag("--think-close-only", think_close_only,
               "send the reasoning as content closed by </think> without an opening tag");
  bool no_record = false;
  app.add_flag("--no-record", no_record, "keep no request in memory (long benchmark runs)");
  CLI11_PARSE(app, argc, argv);
  options.record_requests = !no_record;
  if (think_close_only)
    options.answer.reasoning_style = glyph::test::ReasoningStyle::think_close_only;
  options.ocr = mode == "ocr";
  options.mode = glyph::test::parse_fake_server_mode(options.ocr ? "vllm" : mode);

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  try {
    glyph::test::FakeVlmServer server(options);
    std::cout << "listening on " << server.url() << std::endl;
    while (!stop_requested) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    // Stops at once: a request still being read (--mode ocr runs Tesseract for seconds) is not
    // waited for; its client sees the connection close, and the OCR cache writes whole files.
    std::cout.flush();
    std::_Exit(0);
  } catch (const std::exception& error) {
    std::cerr << "error: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
