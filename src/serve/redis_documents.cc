#include "serve/redis_documents.h"

#include <nlohmann/json.hpp>

namespace glyph::serve {

RedisDocumentIndex::RedisDocumentIndex(const std::string& url, int ttl_s)
    : client_(std::make_unique<RedisClient>(parse_redis_url(url))), ttl_s_(ttl_s) {}

void RedisDocumentIndex::publish(const std::string& id, const IndexedDocument& document) {
  std::string key = "glyph:doc:" + id;
  client_->pipeline({{"HSET", key, "text", document.text, "config", document.config_json,
                      "warnings", nlohmann::json(document.warnings).dump()},
                     {"EXPIRE", key, std::to_string(ttl_s_)}});
}

bool RedisDocumentIndex::refresh(const std::string& id) {
  return client_->command({"EXPIRE", "glyph:doc:" + id, std::to_string(ttl_s_)}).integer_value == 1;
}

std::optional<IndexedDocument> RedisDocumentIndex::lookup(const std::string& id) {
  auto r = client_->command({"HMGET", "glyph:doc:" + id, "text", "config", "warnings"});
  if (r.elements.size() < 3 || r.elements[0].is_nil() || r.elements[1].is_nil())
    return std::nullopt;
  IndexedDocument d;
  d.text = r.elements[0].str;
  d.config_json = r.elements[1].str;
  auto warnings = nlohmann::json::parse(r.elements[2].str, nullptr, false);
  if (warnings.is_array())
    for (const auto& w : warnings)
      if (w.is_string()) d.warnings.push_back(w.get<std::string>());
  return d;
}

}  // namespace glyph::serve
