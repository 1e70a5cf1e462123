// DocumentStore: rendered documents on disk under DATA/documents/<id>/, with the id a hash of
// the text as rendered, the config and the font files' bytes, so that the same request is
// served from the cache (across restarts too) and a changed font never serves stale pages.
//
// Files per document: page_001.png ..., layout.json (the renderer's), text.txt (the text as
// rendered, UTF-8), config.json (the effective config), meta.json (stats). A document appears
// atomically (rendered into a temporary folder DOCUMENTS/.tmp-<id>-<pid>-<random>, then renamed);
// temporary folders of a process that no longer runs (kill -9) are removed when a store opens.
// Renderers (fonts loaded once) are kept per config and shared between threads. Thread-safe.
//
// Size: the documents on disk are kept under max_bytes by evicting the least recently used
// (rendered or opened) first, never one that a request holds; the documents kept in memory for
// quick reopening are bounded too (kMemoryBytes).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.h"

namespace glyph {
class Renderer;
}

namespace glyph::serve {

struct PageInfo {
  int number = 0;
  int width_px = 0, height_px = 0;
  std::size_t char_start = 0, char_end = 0;
  int visual_tokens = 0;
};

struct TokenStats {
  std::int64_t characters = 0;
  std::int64_t text_tokens = -1;  // -1 when no tokenizer is available
  std::int64_t visual_tokens = 0;
  double compression_ratio = 0;    // text tokens / visual tokens, 0 when unknown
  std::string tokenizer;           // what counted the text tokens
  std::string visual_token_model;  // whose image rule counted the visual tokens
};

struct RenderedDocument {
  std::string id;
  bool cached = false;
  double render_ms = 0;
  RenderConfig config;
  std::string config_json;
  std::string text;  // UTF-8 of the text as rendered (offsets in the layout count its code points)
  std::vector<PageInfo> pages;
  std::string layout_json;
  TokenStats stats;
  std::vector<std::string> warnings;
  std::string dir;
  std::string page_path(int number) const;  // page number 1-based
};

// What the hosts sharing a queue know of each document: the text as rendered and the effective
// config, by id (RedisDocumentIndex). A host asked for a document it has not rendered renders it
// again from these: the id is a hash of them and of the fonts' bytes, so the pages are the same
// bytes wherever they are rendered (docs/serve.md, "Several hosts").
struct IndexedDocument {
  std::string text;
  std::string config_json;
  std::vector<std::string> warnings;
};

class DocumentIndex {
 public:
  virtual ~DocumentIndex() = default;
  virtual void publish(const std::string& id, const IndexedDocument& document) = 0;
  // Keeps a known document listed; false when the index does not have it.
  virtual bool refresh(const std::string& id) = 0;
  virtual std::optional<IndexedDocument> lookup(const std::string& id) = 0;
};

class DocumentStore {
 public:
  explicit DocumentStore(std::string root_dir,
                         std::size_t max_bytes = std::numeric_limits<std::size_t>::max());
  ~DocumentStore();

  // Renders `text` (already prepared, UTF-8) with `config`, or returns the cached render.
  // on_progress(pages done, pages total) is called while pages are written.
  std::shared_ptr<const RenderedDocument> render(
      std::string_view prepared_text, const RenderConfig& config,
      std::vector<std::string> warnings = {},
      const std::function<void(std::size_t, std::size_t)>& on_progress = {});

  // A rendered document by id. Throws Error(not_found).
  std::shared_ptr<const RenderedDocument> open(std::string_view id);

  // The renderer for a config (fonts loaded once per distinct config).
  std::shared_ptr<const Renderer> renderer_for(const RenderConfig& config);

  static bool is_valid_id(std::string_view id);

  // Publishes what this store renders to `index`, and renders from it what it lacks.
  void set_index(std::shared_ptr<DocumentIndex> index) { index_ = std::move(index); }

  // Bytes of the documents on disk that this store knows (after eviction).
  std::size_t disk_bytes();

 private:
  std::string font_digest(const std::string& path);
  std::string cache_key(std::string_view text, const std::string& config_json,
                        const RenderConfig& config);

  struct DiskEntry {
    std::size_t bytes = 0;
    std::uint64_t last_used = 0;  // a use counter: larger is more recent
  };
  void touch(const std::string& id);                                // mutex_ held
  void evict();                                                     // mutex_ held
  void remember(const std::shared_ptr<const RenderedDocument>& d);  // mutex_ held

  static constexpr std::size_t kMemoryBytes = 128u << 20;

  std::shared_ptr<const RenderedDocument> open_local(std::string_view id);
  void publish(const RenderedDocument& d);

  std::string root_;
  std::size_t max_bytes_;
  std::shared_ptr<DocumentIndex> index_;
  std::mutex mutex_;
  std::unordered_map<std::string, DiskEntry> disk_;
  std::size_t disk_bytes_ = 0;
  std::uint64_t clock_ = 0;
  std::size_t recent_bytes_ = 0;
  std::unordered_map<std::string, std::string> font_digests_;  // "path|size|mtime" → sha256
  std::unordered_map<std::string, std::shared_ptr<const Renderer>> renderers_;  // by config json
  std::unordered_map<std::string, std::shared_ptr<const RenderedDocument>> recent_;
};

}  // namespace glyph::serve
