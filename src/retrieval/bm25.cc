// Okapi BM25 (Robertson and Zaragoza, "The Probabilistic Relevance Framework", 2009), with the
// non-negative idf ln(1 + (N - df + 0.5) / (df + 0.5)) that Lucene uses.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "retrieval/retrieval.h"

namespace glyph {

Bm25Index::Bm25Index(const std::vector<std::string>& documents, Bm25Options options)
    : options_(options) {
  std::map<std::string, std::vector<Posting>, std::less<>> postings;
  lengths_.reserve(documents.size());
  double total_length = 0;
  for (size_t d = 0; d < documents.size(); ++d) {
    const auto terms = index_terms(documents[d]);
    lengths_.push_back(static_cast<int>(terms.size()));
    total_length += static_cast<double>(terms.size());
    std::map<std::string_view, int> counts;
    for (const auto& term : terms) ++counts[term];
    for (const auto& [term, count] : counts) {
      auto it = postings.find(term);
      if (it == postings.end())
        it = postings.emplace(std::string(term), std::vector<Posting>{}).first;
      it->second.push_back({d, count});
    }
  }
  average_length_ = documents.empty() ? 0 : total_length / static_cast<double>(documents.size());
  postings_.reserve(postings.size());
  for (auto& entry : postings) postings_.emplace_back(entry.first, std::move(entry.second));
}

const std::vector<Bm25Index::Posting>* Bm25Index::find(std::string_view term) const {
  auto it = std::lower_bound(postings_.begin(), postings_.end(), term,
                             [](const auto& entry, std::string_view t) { return entry.first < t; });
  if (it == postings_.end() || it->first != term) return nullptr;
  return &it->second;
}

double Bm25Index::idf(std::string_view term) const {
  const auto* list = find(term);
  const double df = list ? static_cast<double>(list->size()) : 0.0;
  const double n = static_cast<double>(lengths_.size());
  return std::log(1.0 + (n - df + 0.5) / (df + 0.5));
}

namespace {

std::vector<std::string> distinct_terms(std::string_view query) {
  auto terms = index_terms(query);
  if (terms.empty()) terms = index_terms(query, /*keep_stopwords=*/true);
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  return terms;
}

}  // namespace

std::vector<Bm25Hit> Bm25Index::search(std::string_view query, size_t limit) const {
  const auto terms = distinct_terms(query);
  std::vector<double> scores(lengths_.size(), 0.0);
  std::vector<double> covered(lengths_.size(), 0.0);
  double total_idf = 0;
  for (const auto& term : terms) {
    const double term_idf = idf(term);
    total_idf += term_idf;
    const auto* list = find(term);
    if (!list) continue;
    for (const auto& posting : *list) {
      const double tf = posting.count;
      const double norm =
          options_.k1 * (1.0 - options_.b +
                         options_.b * lengths_[posting.document] / std::max(average_length_, 1e-9));
      scores[posting.document] += term_idf * tf * (options_.k1 + 1.0) / (tf + norm);
      covered[posting.document] += term_idf;
    }
  }
  std::vector<Bm25Hit> hits;
  for (size_t d = 0; d < scores.size(); ++d) {
    if (scores[d] > 0) hits.push_back({d, scores[d], total_idf > 0 ? covered[d] / total_idf : 0});
  }
  std::stable_sort(hits.begin(), hits.end(),
                   [](const Bm25Hit& a, const Bm25Hit& b) { return a.score > b.score; });
  if (hits.size() > limit) hits.resize(limit);
  return hits;
}

Bm25Hit Bm25Index::score(std::string_view query, size_t document) const {
  for (const auto& hit : search(query, lengths_.size())) {
    if (hit.document == document) return hit;
  }
  return {document, 0, 0};
}

// --- extractive summary ---

std::vector<size_t> summarize_sentences(const std::vector<std::string>& sentences, size_t count) {
  const size_t n = sentences.size();
  if (n == 0 || count == 0) return {};
  // tf-idf vectors over a shared vocabulary.
  std::map<std::string, size_t, std::less<>> vocabulary;
  std::vector<std::map<size_t, double>> vectors(n);
  std::vector<double> document_frequency;
  std::vector<size_t> term_counts(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const auto terms = index_terms(sentences[i]);
    term_counts[i] = terms.size();
    for (const auto& term : terms) {
      auto it = vocabulary.find(term);
      if (it == vocabulary.end()) {
        it = vocabulary.emplace(term, vocabulary.size()).first;
        document_frequency.push_back(0);
      }
      auto& weight = vectors[i][it->second];
      if (weight == 0) document_frequency[it->second] += 1;
      weight += 1;
    }
  }
  std::vector<double> centroid(vocabulary.size(), 0.0);
  std::vector<double> norms(n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    for (auto& [term, weight] : vectors[i]) {
      weight = (1 + std::log(weight)) * std::log(1.0 + n / document_frequency[term]);
      norms[i] += weight * weight;
      centroid[term] += weight;
    }
    norms[i] = std::sqrt(norms[i]);
  }
  double centroid_norm = 0;
  for (double w : centroid) centroid_norm += w * w;
  centroid_norm = std::sqrt(centroid_norm);

  auto cosine = [&](size_t a, size_t b) {
    if (norms[a] == 0 || norms[b] == 0) return 0.0;
    const auto& small = vectors[a].size() < vectors[b].size() ? vectors[a] : vectors[b];
    const auto& large = vectors[a].size() < vectors[b].size() ? vectors[b] : vectors[a];
    double dot = 0;
    for (const auto& [term, weight] : small) {
      if (auto it = large.find(term); it != large.end()) dot += weight * it->second;
    }
    return dot / (norms[a] * norms[b]);
  };

  std::vector<double> relevance(n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    if (norms[i] == 0 || centroid_norm == 0) continue;
    double dot = 0;
    for (const auto& [term, weight] : vectors[i]) dot += weight * centroid[term];
    relevance[i] = dot / (norms[i] * centroid_norm);
    // Fragments (headings, OCR noise) and run-on blocks make poor summary sentences.
    if (term_counts[i] < 4) relevance[i] *= 0.3;
    if (sentences[i].size() > 350) relevance[i] *= 0.7;
  }

  // Maximal marginal relevance (Carbonell and Goldstein, 1998) with lambda = 0.7.
  constexpr double kLambda = 0.7;
  std::vector<size_t> chosen;
  std::vector<bool> taken(n, false);
  std::vector<double> max_similarity(n, 0.0);
  while (chosen.size() < std::min(count, n)) {
    size_t best = n;
    double best_value = -1e300;
    for (size_t i = 0; i < n; ++i) {
      if (taken[i]) continue;
      const double value = kLambda * relevance[i] - (1 - kLambda) * max_similarity[i];
      if (value > best_value) {
        best_value = value;
        best = i;
      }
    }
    if (best == n || relevance[best] <= 0) break;
    taken[best] = true;
    chosen.push_back(best);
    for (size_t i = 0; i < n; ++i) {
      if (!taken[i]) max_similarity[i] = std::max(max_similarity[i], cosine(i, best));
    }
    // An exact repeat of a chosen sentence is never worth a place.
    for (size_t i = 0; i < n; ++i) {
      if (!taken[i] && sentences[i] == sentences[best]) taken[i] = true;
    }
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

}  // namespace glyph
