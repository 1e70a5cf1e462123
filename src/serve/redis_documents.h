// RedisDocumentIndex: the documents' text and config in Redis (glyph:doc:ID, a hash with text,
// config, warnings), kept 30 days after their last render or use, so that every host sharing a
// Redis queue can serve every document: a host that lacks one renders it again (documents.h).
#pragma once

#include <memory>
#include <string>

#include "serve/documents.h"
#include "serve/redis_client.h"

namespace glyph::serve {

class RedisDocumentIndex final : public DocumentIndex {
 public:
  explicit RedisDocumentIndex(const std::string& url, int ttl_s = 30 * 24 * 3600);
  void publish(const std::string& id, const IndexedDocument& document) override;
  bool refresh(const std::string& id) override;
  std::optional<IndexedDocument> lookup(const std::string& id) override;

 private:
  std::unique_ptr<RedisClient> client_;
  int ttl_s_;
};

}  // namespace glyph::serve
