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

#include "serve/http_server.h"
#include "serve/job_queue.h"

namespace glyph::serve {

// Which reader answers questions: the embedded OCR reader unless a VLM server is given.
struct ReaderSettings {
  std::string backend;  // "" or "ocr": Tesseract; "openai" (or "vlm"): an OpenAI-compatible server
  std::string url;      // base URL of the VLM server (set → openai backend when backend is "")
  std::string model;    // model name; empty asks the server (GET /v1/models)
  std::string api_key;  // the VLM server's key, sent as Authorization: Bearer
  int timeout_ms = 120000;
  std::string cache_dir;  // OCR results by content hash (the service sets DATA/ocr-cache)
};

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0 picks a free port
  std::string data_dir = "glyph-data";
  std::string api_key;   // when set, every route but /health requires it
  int workers = 2;       // job workers
  int http_threads = 8;  // connections served at once
  HttpLimits limits;
  JobQueueOptions queue;
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
