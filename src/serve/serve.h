// serve: the HTTP service over the library — the API (docs/api.md), the embedded web page and
// the durable job queue — as `glyph serve` runs it.
//
// A Service owns its data folder (DATA/queue.db, DATA/documents/), an HttpServer, a WorkerPool
// for queued jobs, and the readers. Requests are parsed into native types at the edge (JSON only
// in the route handlers) and call the same library functions as the CLI.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "serve/http_server.h"
#include "serve/job_queue.h"

namespace glyph {
class EndpointPool;
}

namespace glyph::serve {

// Which reader answers questions: the embedded OCR reader unless a VLM server is given.
struct ReaderSettings {
  std::string backend;  // "" or "ocr": Tesseract; "openai" (or "vlm"): an OpenAI-compatible server
  std::string url;      // base URL of the VLM server (set → openai backend when backend is "")
  // Several VLM servers of the same model (url is the first): balanced, checked, failed over
  // (read/endpoint_pool.h). The service makes `endpoints` from them when there are two or more.
  std::vector<std::string> urls;
  int max_per_url = 8;            // requests in flight per server
  int health_interval_ms = 5000;  // GET /v1/models of each server this often
  std::shared_ptr<EndpointPool> endpoints;
  std::string api = "openai";  // the servers' protocol: openai or anthropic (read/vlm_reader.h)
  std::string model;           // model name; empty asks the server (GET /v1/models)
  std::string api_key;         // the VLM server's key, sent as Authorization: Bearer
  int timeout_ms = 120000;
  std::string cache_dir;  // OCR results by content hash (the service sets DATA/ocr-cache)
};

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0 picks a free port
  std::string data_dir = "glyph-data";
  std::string api_key;    // when set, every route but /health requires it
  int workers = 2;        // job workers
  int http_threads = 64;  // requests handled at once (connections are not bounded by it)
  HttpLimits limits;
  // Bounds of the work a request may cause (docs/serve.md, "Limits"):
  std::size_t max_text_chars = 8'000'000;    // characters of a document's text → 413 past it
  std::size_t max_page_pixels = 9'000'000;   // width × height of one page image → 413 past it
  int max_renders = 2;                       // renders running at once (requests and jobs)
  int max_asks = 2;                          // documents being read at once (requests and jobs)
  std::size_t max_ask_pixels = 128'000'000;  // pixels of all pages of a document read → 413
  int render_wait_ms = 10000;                // a request waits this long for a render slot → 503
  std::size_t max_queued_jobs = 1000;        // jobs queued or running → 429 past it
  std::size_t cache_max_bytes = std::size_t{2} << 30;  // rendered documents on disk (LRU)
  JobQueueOptions queue;
  // Where the job queue lives: empty for DATA/queue.db (SQLite), or redis://HOST:PORT/DB to share
  // it between hosts (docs/serve.md, "Several hosts").
  std::string queue_url;
  ReaderSettings reader;
};

class Service {
 public:
  // Opens (creating) the data folder and the queue, starts the workers. Throws Error naming the
  // folder or file at fault.
  explicit Service(ServeOptions options);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Binds the listening socket; returns the port (useful with port 0).
  int bind();
  // Serves until stop(); then stops the workers (running jobs go back to the queue).
  void run();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace glyph::serve
