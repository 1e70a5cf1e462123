// HTML → the visible text with its block structure, parsed by gumbo (the HTML5 algorithm).
//
// Dropped: head, script, style, template, noscript, iframe, object, svg, canvas, comments, and any
// element with the hidden attribute or an inline display:none. Blocks (p, div, h1-h6, li, tr,
// ...) start new lines; p, headings, lists, tables, pre and blockquote are set off by a blank
// line; br is a line break; li gets "•" or "N."; table cells are joined by " | "; whitespace
// collapses as a browser collapses it, except inside pre and textarea. Entities are decoded by
// the parser.
//
// Gumbo has no depth limit and both its tree construction and its tree destruction get slow or
// deep with nesting, so the nesting of the input is estimated by a scan of its tags first and
// refused past IngestLimits::max_nesting_depth.
#include <gumbo.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "ingest/detail.h"

namespace glyph::detail {
namespace {

bool tag_is(std::string_view name, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names) {
    if (name.size() == n.size()) {
      bool same = true;
      for (size_t i = 0; i < n.size() && same; ++i) {
        same = (name[i] | 0x20) == (n[i] | 0x20);
      }
      if (same) return true;
    }
  }
  return false;
}

// The element nesting a parser will build, estimated from the tags: a start tag of an element
// that needs an end tag opens a level; an end tag closes up to its matching start tag, as the
// parser's implied ends do. Elements whose end is implied anyway (p, li, td...) and void
// elements are not counted. Stops as soon as the depth passes `limit`, so the scan is linear in
// the input for every limit.
size_t estimate_nesting(std::string_view html, size_t limit) {
  std::vector<std::string_view> open;
  for (size_t i = html.find('<'); i != std::string_view::npos; i = html.find('<', i + 1)) {
    size_t j = i + 1;
    const bool closing = j < html.size() && html[j] == '/';
    if (closing) ++j;
    const size_t name_start = j;
    while (j < html.size() && (std::isalnum(static_cast<unsigned char>(html[j])) || html[j] == '-'))
      ++j;
    if (j == name_start || !std::isalpha(static_cast<unsigned char>(html[name_start]))) continue;
    const std::string_view name = html.substr(name_start, j - name_start);
    if (tag_is(name, {"p",      "li",       "dt",    "dd",     "tr",    "td",       "th",
                      "option", "optgroup", "thead", "tbody",  "tfoot", "colgroup", "caption",
                      "rb",     "rt",       "rp",    "html",   "head",  "body",     "area",
                      "base",   "br",       "col",   "embed",  "hr",    "img",      "input",
                      "link",   "meta",     "param", "source", "track", "wbr"})) {
      if (closing) {
        // </td>, </li>, </p>... also close the inline elements left open inside them, as
        // legacy pages do with <td><font>text</td>.
        while (!open.empty() &&
               tag_is(open.back(), {"a", "b", "big", "code", "em", "font", "i", "nobr", "s",
                                    "small", "strike", "strong", "tt", "u", "span", "label"})) {
          open.pop_back();
        }
      }
      continue;
    }
    if (closing) {
      for (size_t k = open.size(); k > 0; --k) {
        if (open[k - 1].size() == name.size() && tag_is(open[k - 1], {name})) {
          open.resize(k - 1);
          break;
        }
      }
      continue;
    }
    // A self-closing "<x/>": the end of this tag, looked for only up to the next '<'.
    size_t end = j;
    while (end < html.size() && html[end] != '>' && html[end] != '<') ++end;
    if (end < html.size() && html[end] == '>' && html[end - 1] == '/') continue;
    open.push_back(name);
    if (open.size() > limit) break;
  }
  return open.size();
}

class HtmlWriter {
 public:
  void walk(const GumboNode* root) {
    struct Frame {
      const GumboNode* node;
      size_t next_child;
    };
    std::vector<Frame> stack{{root, 0}};
    enter(root);
    while (!stack.empty()) {
      Frame& frame = stack.back();
      const GumboVector* children = child_list(frame.node);
      if (!children || frame.next_child >= children->length || skipped(frame.node)) {
        leave(frame.node);
        stack.pop_back();
        continue;
      }
      const GumboNode* c = static_cast<const GumboNode*>(children->data[frame.next_child++]);
      if (c->type == GUMBO_NODE_TEXT || c->type == GUMBO_NODE_WHITESPACE ||
          c->type == GUMBO_NODE_CDATA) {
        text(c->v.text.text);
      } else if (c->type == GUMBO_NODE_ELEMENT || c->type == GUMBO_NODE_DOCUMENT) {
        enter(c);
        stack.push_back({c, 0});
      }
    }
  }

  std::string finish() {
    while (!out_.empty() && (out_.back() == '\n' || out_.back() == ' ')) out_.pop_back();
    return std::move(out_);
  }

 private:
  enum Break { kNone = 0, kLine = 1, kParagraph = 2 };

  static const GumboVector* child_list(const GumboNode* node) {
    if (node->type == GUMBO_NODE_DOCUMENT) return &node->v.document.children;
    if (node->type == GUMBO_NODE_ELEMENT) return &node->v.element.children;
    return nullptr;
  }

  static bool skipped(const GumboNode* node) {
    if (node->type != GUMBO_NODE_ELEMENT) return false;
    switch (node->v.element.tag) {
      case GUMBO_TAG_HEAD:
      case GUMBO_TAG_SCRIPT:
      case GUMBO_TAG_STYLE:
      case GUMBO_TAG_TEMPLATE:
      case GUMBO_TAG_NOSCRIPT:
      case GUMBO_TAG_IFRAME:
      case GUMBO_TAG_OBJECT:
      case GUMBO_TAG_SVG:
      case GUMBO_TAG_CANVAS:
      case GUMBO_TAG_MATH:
      case GUMBO_TAG_TITLE: return true;
      default: break;
    }
    const GumboVector* attrs = &node->v.element.attributes;
    if (gumbo_get_attribute(attrs, "hidden")) return true;
    if (const GumboAttribute* style = gumbo_get_attribute(attrs, "style")) {
      std::string compact;
      for (const char* p = style->value; *p; ++p) {
        if (*p != ' ') compact += static_cast<char>(std::tolower(static_cast<unsigned char>(*p)));
      }
      if (compact.find("display:none") != std::string::npos) return true;
    }
    return false;
  }

  static Break block_break(GumboTag tag) {
    switch (tag) {
      case GUMBO_TAG_P:
      case GUMBO_TAG_H1:
      case GUMBO_TAG_H2:
      case GUMBO_TAG_H3:
      case GUMBO_TAG_H4:
      case GUMBO_TAG_H5:
      case GUMBO_TAG_H6:
      case GUMBO_TAG_UL:
      case GUMBO_TAG_OL:
      case GUMBO_TAG_DL:
      case GUMBO_TAG_TABLE:
      case GUMBO_TAG_PRE:
      case GUMBO_TAG_BLOCKQUOTE:
      case GUMBO_TAG_HR:
      case GUMBO_TAG_FIGURE: return kParagraph;
      case GUMBO_TAG_DIV:
      case GUMBO_TAG_LI:
      case GUMBO_TAG_TR:
      case GUMBO_TAG_DT:
      case GUMBO_TAG_DD:
      case GUMBO_TAG_SECTION:
      case GUMBO_TAG_ARTICLE:
      case GUMBO_TAG_HEADER:
      case GUMBO_TAG_FOOTER:
      case GUMBO_TAG_NAV:
      case GUMBO_TAG_ASIDE:
      case GUMBO_TAG_MAIN:
      case GUMBO_TAG_ADDRESS:
      case GUMBO_TAG_FORM:
      case GUMBO_TAG_FIELDSET:
      case GUMBO_TAG_FIGCAPTION:
      case GUMBO_TAG_CAPTION:
      case GUMBO_TAG_DETAILS:
      case GUMBO_TAG_SUMMARY:
      case GUMBO_TAG_LEGEND:
      case GUMBO_TAG_TEXTAREA:
      case GUMBO_TAG_BODY:
      case GUMBO_TAG_CENTER:
      case GUMBO_TAG_OPTION: return kLine;
      default: return kNone;
    }
  }

  void enter(const GumboNode* node) {
    if (node->type != GUMBO_NODE_ELEMENT || skipped(node)) return;
    const GumboElement& e = node->v.element;
    request(block_break(e.tag));
    switch (e.tag) {
      case GUMBO_TAG_PRE:
      case GUMBO_TAG_TEXTAREA: ++preformatted_; break;
      case GUMBO_TAG_BR:
        out_ += '\n';
        pending_ = kNone;
        space_ = false;
        break;
      case GUMBO_TAG_HR:
        emit("----------");
        request(kParagraph);
        break;
      case GUMBO_TAG_UL:
      case GUMBO_TAG_OL: {
        int start = 1;
        if (const GumboAttribute* a = gumbo_get_attribute(&e.attributes, "start")) {
          start = static_cast<int>(
              std::clamp<long>(std::strtol(a->value, nullptr, 10), -1000000, 1000000));
        }
        lists_.push_back({e.tag == GUMBO_TAG_OL, start});
        break;
      }
      case GUMBO_TAG_LI: {
        std::string marker(2 * (lists_.empty() ? 0 : lists_.size() - 1), ' ');
        if (!lists_.empty() && lists_.back().ordered) {
          marker += std::to_string(lists_.back().next++) + ". ";
        } else {
          marker += "\xE2\x80\xA2 ";
        }
        emit(marker);
        space_ = false;
        break;
      }
      case GUMBO_TAG_TR: first_cell_ = true; break;
      case GUMBO_TAG_TD:
      case GUMBO_TAG_TH:
        if (!first_cell_) {
          emit(" | ");
          space_ = false;
        }
        first_cell_ = false;
        break;
      default: break;
    }
  }

  void leave(const GumboNode* node) {
    if (node->type != GUMBO_NODE_ELEMENT || skipped(node)) return;
    const GumboElement& e = node->v.element;
    if ((e.tag == GUMBO_TAG_PRE || e.tag == GUMBO_TAG_TEXTAREA) && preformatted_ > 0)
      --preformatted_;
    if ((e.tag == GUMBO_TAG_UL || e.tag == GUMBO_TAG_OL) && !lists_.empty()) lists_.pop_back();
    request(block_break(e.tag));
  }

  void request(Break b) {
    if (b > pending_) pending_ = b;
  }

  // Writes text after any pending break.
  void emit(std::string_view s) {
    if (s.empty()) return;
    if (!out_.empty() && pending_ != kNone) {
      while (!out_.empty() && out_.back() == ' ') out_.pop_back();
      size_t newlines = 0;
      for (size_t i = out_.size(); i > 0 && out_[i - 1] == '\n'; --i) ++newlines;
      for (size_t want = pending_ == kParagraph ? 2 : 1; newlines < want; ++newlines) out_ += '\n';
      space_ = false;
    } else if (space_ && !out_.empty() && out_.back() != '\n' && out_.back() != ' ') {
      out_ += ' ';
    }
    pending_ = kNone;
    space_ = false;
    out_ += s;
  }

  void text(const char* s) {
    if (preformatted_ > 0) {
      std::string_view v(s);
      // A newline right after <pre> is dropped by the parser already.
      if (!v.empty()) emit(v);
      return;
    }
    std::string word;
    for (const char* p = s; *p; ++p) {
      const char c = *p;
      if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f') {
        if (!word.empty()) {
          emit(word);
          word.clear();
        }
        space_ = true;
      } else {
        word += c;
      }
    }
    if (!word.empty()) emit(word);
  }

  struct ListState {
    bool ordered;
    int next;
  };
  std::string out_;
  Break pending_ = kNone;
  bool space_ = false;  // whitespace seen since the last word
  bool first_cell_ = true;
  int preformatted_ = 0;
  std::vector<ListState> lists_;
};

}  // namespace

std::string html_to_text(std::string_view utf8, std::string_view name, const IngestLimits& limits) {
  const size_t depth = estimate_nesting(utf8, limits.max_nesting_depth);
  if (depth > limits.max_nesting_depth) {
    throw Error(ErrorCode::limit_exceeded, std::string(name) + ": HTML elements nested more than " +
                                               std::to_string(limits.max_nesting_depth) +
                                               " deep (over the limit)");
  }
  std::unique_ptr<GumboOutput, void (*)(GumboOutput*)> output(
      gumbo_parse_with_options(&kGumboDefaultOptions, utf8.data(), utf8.size()),
      [](GumboOutput* o) { gumbo_destroy_output(&kGumboDefaultOptions, o); });
  if (!output) throw Error(ErrorCode::internal, std::string(name) + ": the HTML parser failed");
  HtmlWriter writer;
  writer.walk(output->document);
  return writer.finish();
}

}  // namespace glyph::detail
