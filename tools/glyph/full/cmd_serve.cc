#include <signal.h>

#include <cstdio>
#include <thread>

#include "commands.h"
#include "core/error.h"
#include "serve/serve.h"

namespace glyph::cli {

void add_serve_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", full_only_description("serve"));
  auto options = std::make_shared<serve::ServeOptions>();
  auto max_upload_mb = std::make_shared<int>(50);
  cmd->add_option("--host", options->host, "Address to listen on (default 127.0.0.1)")
      ->capture_default_str();
  cmd->add_option("--port", options->port, "Port (0 picks a free one)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--data", options->data_dir,
                  "Folder for the job queue (queue.db) and rendered documents")
      ->capture_default_str();
  cmd->add_option("--api-key", options->api_key,
                  "Require this key on every route but /health (Authorization: Bearer KEY)")
      ->envname("GLYPH_SERVE_API_KEY");
  cmd->add_option("--workers", options->workers, "Job workers")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--backend", options->reader.backend,
                  "Reader: ocr (embedded Tesseract, the default) or openai (a VLM server)")
      ->check(CLI::IsMember({"", "ocr", "openai", "vlm"}));
  cmd->add_option("--url", options->reader.url,
                  "Base URL of an OpenAI-compatible VLM server (implies --backend openai)");
  cmd->add_option("--model", options->reader.model,
                  "Model name on the VLM server (default: the first it lists)");
  cmd->add_option("--max-upload-mb", *max_upload_mb, "Largest request body accepted, in MB")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--job-attempts", options->queue.max_attempts,
                  "Attempts of a failing job before it is marked failed")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  cmd->add_option("--job-lease-ms", options->queue.lease_ms,
                  "A running job whose worker is silent this long is taken again")
      ->capture_default_str()
      ->check(CLI::Range(200, 3600000));

  cmd->callback([options, max_upload_mb] {
    options->limits.max_body_bytes = static_cast<std::size_t>(*max_upload_mb) * 1024 * 1024;
    if ((options->reader.backend == "openai" || options->reader.backend == "vlm") &&
        options->reader.url.empty())
      throw Error(ErrorCode::invalid_argument, "--backend openai needs --url (the VLM server)");
    // SIGINT/SIGTERM stop the server cleanly: blocked here (inherited by every thread), waited
    // for by one thread.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    serve::Service service(*options);
    int port = service.bind();
    std::string reader = options->reader.url.empty() ? "ocr" : "openai at " + options->reader.url;
    std::printf("glyph serve: listening on http://%s:%d (data %s, %d workers, reader %s)\n",
                options->host.c_str(), port, options->data_dir.c_str(), options->workers,
                reader.c_str());
    std::fflush(stdout);
    std::thread waiter([&service, signals] {
      int sig = 0;
      sigwait(&signals, &sig);
      service.stop();
    });
    service.run();
    // run() returned: either a signal stopped it, or listening failed. Wake the waiter if needed.
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
    std::printf("glyph serve: stopped\n");
  });
}

}  // namespace glyph::cli
