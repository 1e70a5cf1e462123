#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

#include "commands.h"
#include "core/error.h"
#include "serve/redis_client.h"
#include "serve/serve.h"

namespace glyph::cli {
namespace {

// "7d", "12h", "30m", "90s" → ms; "0" → 0 (keep for ever).
std::int64_t parse_keep_duration_ms(const std::string& text) {
  auto bad = [&] {
    return Error(ErrorCode::invalid_argument,
                 "--keep-jobs '" + text +
                     "': expected a number of s, m, h or d (e.g. 7d, 12h), or 0 for ever");
  };
  if (text == "0") return 0;
  if (text.size() < 2) throw bad();
  std::int64_t unit_ms = 0;
  switch (text.back()) {
    case 's': unit_ms = 1000; break;
    case 'm': unit_ms = 60'000; break;
    case 'h': unit_ms = 3'600'000; break;
    case 'd': unit_ms = 86'400'000; break;
    default: throw bad();
  }
  std::string digits = text.substr(0, text.size() - 1);
  if (digits.empty() || digits.size() > 6 ||
      digits.find_first_not_of("0123456789") != std::string::npos)
    throw bad();
  return std::stoll(digits) * unit_ms;
}

}  // namespace

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
  auto* api_key =
      cmd->add_option("--api-key", options->api_key,
                      "Require this key on every route but /health (Authorization: Bearer KEY)")
          ->envname("GLYPH_SERVE_API_KEY");
  cmd->add_option("--workers", options->workers, "Job workers")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--backend", options->reader.backend,
                  "Reader: ocr (embedded Tesseract, the default) or openai (a VLM server)")
      ->check(CLI::IsMember({"", "ocr", "openai", "vlm"}));
  cmd->add_option("--url", options->reader.urls,
                  "Base URL of an OpenAI-compatible VLM server (implies --backend openai); "
                  "repeat it for several servers of the same model (balanced, failed over)");
  cmd->add_option("--api", options->reader.api,
                  "VLM protocol: openai (Chat Completions) or anthropic (Messages API; default "
                  "URL https://api.anthropic.com, key $ANTHROPIC_API_KEY)")
      ->capture_default_str()
      ->check(CLI::IsMember({"openai", "anthropic"}));
  cmd->add_option("--url-max-requests", options->reader.max_per_url,
                  "Requests in flight at once per VLM server, with several --url")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--url-health-ms", options->reader.health_interval_ms,
                  "How often each VLM server is checked (GET /v1/models), with several --url")
      ->capture_default_str()
      ->check(CLI::Range(100, 3600000));
  cmd->add_option("--model", options->reader.model,
                  "Model name on the VLM server (default: the first it lists)");
  cmd->add_option("--max-upload-mb", *max_upload_mb, "Largest request body accepted, in MB")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--job-attempts", options->queue.max_attempts,
                  "Attempts of a failing job before it is marked failed")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  cmd->add_option("--max-text-chars", options->max_text_chars,
                  "Largest document text rendered, in characters (413 past it)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 31));
  cmd->add_option("--max-page-pixels", options->max_page_pixels,
                  "Largest page image (width x height pixels) rendered (413 past it)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{10000}, std::size_t{100000000}));
  cmd->add_option("--max-renders", options->max_renders,
                  "Renders running at once (a request waits for a slot, 503 after 10 s)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--max-asks", options->max_asks,
                  "Documents read at once by /v1/ask and jobs (a request waits 10 s, then 503)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--max-ask-pixels", options->max_ask_pixels,
                  "Pixels of all pages of a document that a question reads (413 past it)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{10000}, std::size_t{1} << 40));
  cmd->add_option("--max-queued-jobs", options->max_queued_jobs,
                  "Jobs queued or running before POST /v1/jobs answers 429")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{10000000}));
  auto cache_mb = std::make_shared<std::size_t>(2048);
  cmd->add_option("--cache-mb", *cache_mb,
                  "Rendered documents kept on disk, in MB (least recently used evicted)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 24));
  cmd->add_option("--queue", options->queue_url,
                  "Where the job queue lives: DATA/queue.db (SQLite) by default, or "
                  "redis://HOST:PORT/DB to share it between hosts")
      ->check([](const std::string& v) {
        return v.empty() || v.rfind("redis://", 0) == 0
                   ? std::string()
                   : "--queue takes redis://HOST:PORT/DB (leave it out for SQLite in --data)";
      });
  cmd->add_option("--job-lease-ms", options->queue.lease_ms,
                  "A running job whose worker is silent this long is taken again")
      ->capture_default_str()
      ->check(CLI::Range(200, 3600000));

  auto keep_jobs = std::make_shared<std::string>("7d");
  cmd->add_option("--keep-jobs", *keep_jobs,
                  "Delete finished jobs (their request, result and history) this long after they "
                  "end: a number with s, m, h or d; 0 keeps them for ever")
      ->capture_default_str()
      ->check([](const std::string& v) {
        try {
          parse_keep_duration_ms(v);
          return std::string();
        } catch (const Error& e) {
          return std::string(e.what());
        }
      });

  cmd->callback([options, max_upload_mb, cache_mb, api_key, keep_jobs] {
    options->queue.keep_finished_ms = parse_keep_duration_ms(*keep_jobs);
    if (api_key->count() > 0 && options->api_key.empty())
      throw Error(ErrorCode::invalid_argument,
                  "--api-key is empty: give a key, or leave the option out to serve without one");
    options->limits.max_body_bytes = static_cast<std::size_t>(*max_upload_mb) * 1024 * 1024;
    options->cache_max_bytes = *cache_mb * 1024 * 1024;
    if (options->reader.api == "anthropic") {
      if (options->reader.backend == "ocr")
        throw Error(ErrorCode::invalid_argument,
                    "--api anthropic needs the VLM reader, not --backend ocr");
      if (options->reader.urls.size() > 1)
        throw Error(ErrorCode::invalid_argument,
                    "--api anthropic takes one --url (several servers are balanced and checked "
                    "with the OpenAI protocol only)");
      if (options->reader.urls.empty()) options->reader.urls = {"https://api.anthropic.com"};
    }
    if (!options->reader.urls.empty()) options->reader.url = options->reader.urls.front();
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
    auto service = std::make_unique<serve::Service>(*options);
    int port = service->bind();
    std::string reader =
        options->reader.url.empty() ? "ocr" : options->reader.api + " at " + options->reader.url;
    for (std::size_t i = 1; i < options->reader.urls.size(); ++i)
      reader += ", " + options->reader.urls[i];
    std::string queue = options->queue_url.empty()
                            ? std::string()
                            : ", queue " + serve::parse_redis_url(options->queue_url).url();
    std::printf("glyph serve: listening on http://%s:%d (data %s, %d workers, reader %s%s)\n",
                options->host.c_str(), port, options->data_dir.c_str(), options->workers,
                reader.c_str(), queue.c_str());
    std::fflush(stdout);
    std::mutex service_mutex;  // guards `service` between the waiter and its destruction
    std::atomic<bool> finished{false};
    std::thread waiter([&service, &service_mutex, &finished, signals] {
      int sig = 0;
      sigwait(&signals, &sig);
      if (finished) return;
      // Requests in flight are cancelled and drained (at most 3 s), running jobs handed back to
      // the queue. Whatever still runs after 4.5 s is abandoned: the queue is durable, so the
      // process ends within 5 s of the signal in any case.
      {
        std::lock_guard lock(service_mutex);
        if (service) service->stop();
      }
      for (int i = 0; i < 45 && !finished; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (!finished) {
        std::fprintf(stderr, "glyph serve: work still running 4.5 s after the signal; exiting\n");
        std::fflush(stdout);
        std::_Exit(0);
      }
    });
    service->run();
    // Destroyed (handler threads joined, the queue closed) before the waiter is released, so
    // that its deadline covers this too.
    std::unique_ptr<serve::Service> done;
    {
      std::lock_guard lock(service_mutex);
      done = std::move(service);
    }
    done.reset();
    finished = true;
    // run() returned: either a signal stopped it, or listening failed. Wake the waiter if needed.
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
    std::printf("glyph serve: stopped\n");
  });
}

}  // namespace glyph::cli
