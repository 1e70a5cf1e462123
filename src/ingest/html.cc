// HTML → the visible text with its block structure, parsed by gumbo (the HTML5 algorithm).
//
// Dropped: head, script, style, template, noscript, iframe, object, svg, canvas, comments, and any
// element with the hidden attribute or an inline display:none. Blocks (p, div, h1-h6, li, tr,
// ...) start new lines; p, headings, top-level lists, tables, pre and blockquote are set off by a
// blank line, but inside a list and after a heading a line break is enough; br is a line break;
// h1-h6 are marked "# " to "###### "; li gets "•" or "N." (breaks asked for by blocks at the start
// of an item, as in <li><p>, do not separate the marker from its text); table rows one a line,
// cells trimmed and joined by " | " (the blocks and line breaks inside a cell become spaces,
// unless the cell holds a table: a layout table keeps its lines); whitespace collapses as a
// browser collapses it, except inside pre and textarea. Entities are decoded by the parser.
//
// Each block's byte range and kind go to StructuredText::blocks: a block starts where a line
// break of the structure starts a line, and takes the kind of the innermost element around it
// that has one (h1-h6 heading, li list_item, pre code, tr table_row, blockquote quote, hr rule;
// otherwise paragraph).
//
// Gumbo has no depth limit and both its tree construction and its tree destruction get slow or
// deep with nesting, so the nesting of the input is estimated by a scan of its tags first and
// refused past IngestLimits::max_nesting_depth.
#include <gumbo.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <unordered_set>
#include <utility>

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
    find_cells_with_tables(root);
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

  StructuredText finish() {
    while (!out_.empty() && (out_.back() == '\n' || out_.back() == ' ')) out_.pop_back();
    close_block();
    StructuredText result;
    result.text = std::move(out_);
    result.blocks = std::move(blocks_);
    return result;
  }

 private:
  enum Break { kNone = 0, kLine = 1, kParagraph = 2 };

  static bool is_cell(const GumboNode* node) {
    return node->type == GUMBO_NODE_ELEMENT &&
           (node->v.element.tag == GUMBO_TAG_TD || node->v.element.tag == GUMBO_TAG_TH);
  }

  // The table cells that hold a table, in one pass over the tree (children before parents).
  void find_cells_with_tables(const GumboNode* root) {
    struct Frame {
      const GumboNode* node;
      size_t next_child;
      bool has_table;
    };
    std::vector<Frame> stack{{root, 0, false}};
    while (!stack.empty()) {
      Frame& frame = stack.back();
      const GumboVector* children = child_list(frame.node);
      if (children && frame.next_child < children->length) {
        const GumboNode* c = static_cast<const GumboNode*>(children->data[frame.next_child++]);
        if (c->type == GUMBO_NODE_ELEMENT) stack.push_back({c, 0, false});
        continue;
      }
      const Frame done = frame;
      stack.pop_back();
      if (done.has_table && is_cell(done.node)) cells_with_tables_.insert(done.node);
      if (!stack.empty() && (done.has_table || (done.node->type == GUMBO_NODE_ELEMENT &&
                                                done.node->v.element.tag == GUMBO_TAG_TABLE)))
        stack.back().has_table = true;
    }
  }

  static int heading_level(GumboTag tag) {
    switch (tag) {
      case GUMBO_TAG_H1: return 1;
      case GUMBO_TAG_H2: return 2;
      case GUMBO_TAG_H3: return 3;
      case GUMBO_TAG_H4: return 4;
      case GUMBO_TAG_H5: return 5;
      case GUMBO_TAG_H6: return 6;
      default: return 0;
    }
  }

  // The block kind an element gives the text inside it; false for elements without one.
  static bool kind_of(GumboTag tag, BlockKind& kind) {
    if (heading_level(tag)) {
      kind = BlockKind::heading;
      return true;
    }
    switch (tag) {
      case GUMBO_TAG_LI: kind = BlockKind::list_item; return true;
      case GUMBO_TAG_PRE:
      case GUMBO_TAG_TEXTAREA: kind = BlockKind::code; return true;
      case GUMBO_TAG_TR: kind = BlockKind::table_row; return true;
      case GUMBO_TAG_BLOCKQUOTE: kind = BlockKind::quote; return true;
      case GUMBO_TAG_HR: kind = BlockKind::rule; return true;
      default: return false;
    }
  }

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
    if (e.tag == GUMBO_TAG_LI) emit_lead();  // an item opening with a nested list: its marker
    request(list_break(e.tag, lists_.size()));
    BlockKind kind;
    if (kind_of(e.tag, kind)) kinds_.push_back(kind);
    if (const int level = heading_level(e.tag)) {
      heading_lead_from_ = lead_.size();
      lead_ += std::string(level, '#') + " ";
    }
    switch (e.tag) {
      case GUMBO_TAG_PRE:
      case GUMBO_TAG_TEXTAREA: ++preformatted_; break;
      case GUMBO_TAG_BR:
        if (flat_cells_ > 0 || !lead_.empty()) {
          space_ = true;
          break;
        }
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
        lead_ = marker;  // written with the item's first text
        space_ = false;
        break;
      }
      case GUMBO_TAG_TR: first_cell_ = true; break;
      case GUMBO_TAG_TD:
      case GUMBO_TAG_TH:
        if (!first_cell_) {
          space_ = false;  // cells are trimmed
          emit(" | ");
        }
        first_cell_ = false;
        if (!cells_with_tables_.count(node)) ++flat_cells_;
        break;
      default: break;
    }
  }

  void leave(const GumboNode* node) {
    if (node->type != GUMBO_NODE_ELEMENT || skipped(node)) return;
    const GumboElement& e = node->v.element;
    if ((e.tag == GUMBO_TAG_PRE || e.tag == GUMBO_TAG_TEXTAREA) && preformatted_ > 0)
      --preformatted_;
    if ((e.tag == GUMBO_TAG_TD || e.tag == GUMBO_TAG_TH) && !cells_with_tables_.count(node) &&
        flat_cells_ > 0)
      --flat_cells_;
    if (e.tag == GUMBO_TAG_LI) emit_lead();  // an empty item still shows its marker
    bool heading = heading_level(e.tag) > 0;
    if (heading && !lead_.empty()) {  // an empty heading leaves no mark
      lead_.resize(std::min(heading_lead_from_, lead_.size()));
      heading = false;
    }
    BlockKind kind;
    if (kind_of(e.tag, kind) && !kinds_.empty()) kinds_.pop_back();
    if ((e.tag == GUMBO_TAG_UL || e.tag == GUMBO_TAG_OL) && !lists_.empty()) lists_.pop_back();
    request(list_break(e.tag, lists_.size()));
    if (heading) after_heading_ = true;
  }

  // The break an element asks for: inside a list no more than a line break (the items of a list
  // and the paragraphs and lists inside them are not set off by blank lines).
  static Break list_break(GumboTag tag, size_t open_lists) {
    const Break b = block_break(tag);
    return open_lists > 0 && b > kLine ? kLine : b;
  }

  // Inside a cell without a table, breaks become spaces; while a list marker or heading mark
  // waits for its text, the breaks of the blocks it opens with are already given.
  void request(Break b) {
    if (b == kNone) return;
    if (flat_cells_ > 0) {
      space_ = true;
      return;
    }
    if (!lead_.empty()) return;
    if (b > pending_) pending_ = b;
  }

  void emit_lead() {
    if (lead_.empty()) return;
    const std::string lead = std::exchange(lead_, std::string());
    emit(lead);
  }

  // The block from block_begin_ to the end of the text (trailing spaces and newlines out).
  void close_block() {
    if (!in_block_) return;
    in_block_ = false;
    size_t end = out_.size();
    while (end > block_begin_ && (out_[end - 1] == '\n' || out_[end - 1] == ' ')) --end;
    if (end > block_begin_) blocks_.push_back({block_begin_, end, block_kind_});
  }

  // Writes text after any pending break (a break ends the block being written and starts one),
  // and after the lead waiting for it.
  void emit(std::string_view s) {
    if (s.empty()) return;
    if (!out_.empty() && pending_ != kNone) {
      while (!out_.empty() && out_.back() == ' ') out_.pop_back();
      close_block();
      size_t newlines = 0;
      for (size_t i = out_.size(); i > 0 && out_[i - 1] == '\n'; --i) ++newlines;
      const Break b = after_heading_ && pending_ > kLine ? kLine : pending_;
      for (size_t want = b == kParagraph ? 2 : 1; newlines < want; ++newlines) out_ += '\n';
      space_ = false;
    } else if (space_ && !out_.empty() && out_.back() != '\n' && out_.back() != ' ') {
      out_ += ' ';
    }
    if (!in_block_) {
      in_block_ = true;
      block_begin_ = out_.size();
      block_kind_ = kinds_.empty() ? BlockKind::paragraph : kinds_.back();
    }
    pending_ = kNone;
    space_ = false;
    after_heading_ = false;
    out_ += std::exchange(lead_, std::string());
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
  std::string lead_;              // a list marker or heading mark waiting for the text it precedes
  size_t heading_lead_from_ = 0;  // where the open heading's mark starts in lead_
  bool after_heading_ = false;    // a heading ended and nothing was written since
  int flat_cells_ = 0;            // open table cells without a table inside
  std::unordered_set<const GumboNode*> cells_with_tables_;
  std::vector<BlockKind> kinds_;  // kinds of the open elements that give one
  std::vector<TextBlock> blocks_;
  bool in_block_ = false;
  size_t block_begin_ = 0;
  BlockKind block_kind_ = BlockKind::paragraph;
};

}  // namespace

StructuredText html_to_text(std::string_view utf8, std::string_view name,
                            const IngestLimits& limits) {
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
