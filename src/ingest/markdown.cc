// Markdown → readable text with cmark: the structure a reader needs stays, the markup goes.
// Headings on their own lines; paragraphs with soft line breaks joined by a space; list items
// with "•" or "N." markers, nested items indented; code blocks verbatim; block quotes prefixed
// "> "; thematic breaks as a line of dashes; raw HTML blocks reduced to their visible text;
// emphasis, links and inline HTML tags dropped, their text kept. Blocks are separated by a blank
// line, the items of a tight list by a line break.
#include <cmark.h>

#include <memory>

#include "core/error.h"
#include "ingest/detail.h"

namespace glyph::detail {
namespace {

class MarkdownWriter {
 public:
  MarkdownWriter(std::string where, const IngestLimits& limits)
      : where_(std::move(where)), limits_(limits) {}

  void enter(cmark_node* node) {
    switch (cmark_node_get_type(node)) {
      case CMARK_NODE_PARAGRAPH:
      case CMARK_NODE_HEADING: begin_block(node); break;
      case CMARK_NODE_CODE_BLOCK:
        begin_block(node);
        write(trim_final_newline(cmark_node_get_literal(node)));
        break;
      case CMARK_NODE_HTML_BLOCK: {
        const std::string text = html_to_text(literal(node), where_, limits_);
        if (!text.empty()) {
          begin_block(node);
          write(text);
        }
        break;
      }
      case CMARK_NODE_THEMATIC_BREAK:
        begin_block(node);
        write("----------");
        break;
      case CMARK_NODE_BLOCK_QUOTE:
        begin_block(node);
        push_prefix("> ", "> ");
        break;
      case CMARK_NODE_LIST:
        begin_block(node);
        lists_.push_back({cmark_node_get_list_type(node) == CMARK_ORDERED_LIST,
                          cmark_node_get_list_start(node), cmark_node_get_list_delim(node)});
        break;
      case CMARK_NODE_ITEM: {
        begin_block(node);
        std::string marker = "\xE2\x80\xA2 ";  // "• "
        size_t width = 2;
        if (!lists_.empty() && lists_.back().ordered) {
          marker = std::to_string(lists_.back().next++) +
                   (lists_.back().delim == CMARK_PAREN_DELIM ? ") " : ". ");
          width = marker.size();
        }
        push_prefix(marker, std::string(width, ' '));
        break;
      }
      case CMARK_NODE_TEXT:
      case CMARK_NODE_CODE: write(literal(node)); break;
      case CMARK_NODE_SOFTBREAK: write(" "); break;
      case CMARK_NODE_LINEBREAK: write("\n"); break;
      default:  // emphasis, strong, links, images (their text is inside), inline HTML tags
        break;
    }
  }

  void exit(cmark_node* node) {
    switch (cmark_node_get_type(node)) {
      case CMARK_NODE_BLOCK_QUOTE:
      case CMARK_NODE_ITEM:
        if (first_line_pending_) write("");  // an empty item still shows its marker
        prefixes_.pop_back();
        break;
      case CMARK_NODE_LIST: lists_.pop_back(); break;
      default: break;
    }
  }

  std::string finish() {
    while (!out_.empty() && (out_.back() == '\n' || out_.back() == ' ')) out_.pop_back();
    return std::move(out_);
  }

 private:
  struct Prefix {
    std::string first;         // on the first line of the container (a list marker)
    std::string continuation;  // on the lines after
  };
  struct ListState {
    bool ordered;
    int next;
    cmark_delim_type delim;
  };

  static std::string literal(cmark_node* node) {
    const char* s = cmark_node_get_literal(node);
    return s ? s : "";
  }
  static std::string trim_final_newline(const char* s) {
    std::string out = s ? s : "";
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  void push_prefix(std::string first, std::string continuation) {
    if (prefixes_.size() >= limits_.max_nesting_depth) {
      throw Error(ErrorCode::limit_exceeded, where_ + ": Markdown blocks nested deeper than " +
                                                 std::to_string(limits_.max_nesting_depth));
    }
    prefixes_.push_back({std::move(first), std::move(continuation)});
    first_line_pending_ = true;
    pending_from_ = std::min(pending_from_, prefixes_.size() - 1);
  }

  // A new block starts on a new line, after a blank line unless it opens its container or sits
  // in a tight list.
  void begin_block(cmark_node* node) {
    if (out_.empty()) return;
    if (!at_line_start_) newline();
    cmark_node* parent = cmark_node_parent(node);
    if (!cmark_node_previous(node)) return;
    bool tight = false;
    if (cmark_node_get_type(node) == CMARK_NODE_ITEM) {
      tight = cmark_node_get_list_tight(parent);
    } else if (parent && cmark_node_get_type(parent) == CMARK_NODE_ITEM) {
      tight = cmark_node_get_list_tight(cmark_node_parent(parent));
    }
    if (!tight) newline();
  }

  void newline() {
    if (at_line_start_ && first_line_pending_) start_line();
    out_ += '\n';
    at_line_start_ = true;
  }

  void start_line() {
    for (size_t i = 0; i < prefixes_.size(); ++i) {
      const bool first = first_line_pending_ && i >= pending_from_;
      out_ += first ? prefixes_[i].first : prefixes_[i].continuation;
    }
    first_line_pending_ = false;
    pending_from_ = SIZE_MAX;
    at_line_start_ = false;
  }

  void write(std::string_view text) {
    if (at_line_start_) start_line();
    for (const char c : text) {
      if (at_line_start_) start_line();
      out_ += c;
      if (c == '\n') at_line_start_ = true;
    }
  }

  std::string where_;
  const IngestLimits& limits_;
  std::string out_;
  std::vector<Prefix> prefixes_;
  std::vector<ListState> lists_;
  bool at_line_start_ = true;
  bool first_line_pending_ = false;
  size_t pending_from_ = SIZE_MAX;  // prefixes from here on still show their first-line form
};

}  // namespace

std::string markdown_to_text(std::string_view utf8, std::string_view name,
                             const IngestLimits& limits) {
  std::unique_ptr<cmark_node, void (*)(cmark_node*)> root(
      cmark_parse_document(utf8.data(), utf8.size(), CMARK_OPT_DEFAULT | CMARK_OPT_VALIDATE_UTF8),
      cmark_node_free);
  if (!root) throw Error(ErrorCode::internal, std::string(name) + ": the Markdown parser failed");
  MarkdownWriter writer{std::string(name), limits};
  std::unique_ptr<cmark_iter, void (*)(cmark_iter*)> iter(cmark_iter_new(root.get()),
                                                          cmark_iter_free);
  for (cmark_event_type event; (event = cmark_iter_next(iter.get())) != CMARK_EVENT_DONE;) {
    cmark_node* node = cmark_iter_get_node(iter.get());
    if (event == CMARK_EVENT_ENTER) {
      writer.enter(node);
    } else {
      writer.exit(node);
    }
  }
  return writer.finish();
}

}  // namespace glyph::detail
