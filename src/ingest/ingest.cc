// Format detection and dispatch to the readers of each format.
#include "ingest/ingest.h"

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <filesystem>

#include "core/error.h"
#include "core/file.h"
#include "ingest/detail.h"

namespace glyph {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string extension_of(std::string_view filename) {
  const size_t slash = filename.find_last_of("/\\");
  const std::string_view base =
      slash == std::string_view::npos ? filename : filename.substr(slash + 1);
  const size_t dot = base.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return "";
  return lower(base.substr(dot + 1));
}

std::string format_of_extension(std::string_view filename) {
  const std::string ext = extension_of(filename);
  if (ext == "pdf") return "pdf";
  if (ext == "docx") return "docx";
  if (ext == "md" || ext == "markdown") return "markdown";
  if (ext == "html" || ext == "htm" || ext == "xhtml") return "html";
  if (ext == "txt" || ext == "text") return "txt";
  return "";
}

bool is_zip(std::string_view bytes) {
  return bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4);
}
bool is_pdf(std::string_view bytes) {
  return bytes.substr(0, 1024).find("%PDF-") != std::string_view::npos;
}
bool is_ole(std::string_view bytes) {
  return bytes.substr(0, 8) == "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
}

// HTML by content: a doctype or an <html>/<head>/<body> tag near the start (after a BOM and
// whitespace). Checked on decoded UTF-8.
bool looks_like_html(std::string_view utf8) {
  std::string head = lower(utf8.substr(0, 2048));
  const size_t first = head.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || head[first] != '<') return false;
  return head.find("<!doctype html") != std::string::npos ||
         head.find("<html") != std::string::npos || head.find("<head") != std::string::npos ||
         head.find("<body") != std::string::npos;
}

const char* kFormats = "txt, pdf, docx, markdown, html";

}  // namespace

std::string parse_format_name(std::string_view name) {
  const std::string n = lower(name);
  if (n == "txt" || n == "text" || n == "plain") return "txt";
  if (n == "pdf") return "pdf";
  if (n == "docx") return "docx";
  if (n == "md" || n == "markdown") return "markdown";
  if (n == "html" || n == "htm") return "html";
  throw Error(ErrorCode::invalid_argument,
              "unknown format '" + std::string(name) + "' (expected one of " + kFormats + ")");
}

PdfPageSeparator parse_pdf_page_separator(std::string_view name) {
  if (name == "form-feed" || name == "formfeed" || name == "ff") return PdfPageSeparator::form_feed;
  if (name == "marker") return PdfPageSeparator::marker;
  if (name == "newline" || name == "none") return PdfPageSeparator::newline;
  throw Error(ErrorCode::invalid_argument, "unknown PDF page separator '" + std::string(name) +
                                               "' (expected form-feed, marker or newline)");
}

std::string detect_format(std::string_view bytes, std::string_view filename_hint) {
  if (is_pdf(bytes)) return "pdf";
  if (is_zip(bytes)) {
    // The name is stored uncompressed in the local and central headers.
    return bytes.find("word/document.xml") != std::string_view::npos ? "docx" : "zip";
  }
  if (is_ole(bytes)) return "ole";
  const std::string by_extension = format_of_extension(filename_hint);
  if (by_extension == "markdown") return "markdown";
  if (looks_like_html(bytes)) return "html";
  return by_extension == "html" ? "html" : "txt";
}

Document ingest_bytes(std::string_view bytes, std::string_view filename_hint,
                      const IngestOptions& options) {
  const std::string name =
      filename_hint.empty() ? std::string("input") : std::string(filename_hint);
  if (bytes.size() > options.limits.max_input_bytes) {
    throw Error(ErrorCode::limit_exceeded,
                name + ": " + std::to_string(bytes.size()) + " bytes, over the limit of " +
                    std::to_string(options.limits.max_input_bytes) + " bytes");
  }
  std::vector<std::string> warnings;
  std::string format;
  if (!options.format_override.empty()) {
    format = parse_format_name(options.format_override);
  } else {
    format = detect_format(bytes, filename_hint);
    const std::string by_extension = format_of_extension(filename_hint);
    if (format == "zip") {
      throw Error(
          ErrorCode::unsupported,
          name + ": a zip archive without word/document.xml (not a DOCX); supported: " + kFormats);
    }
    if (format == "ole") {
      throw Error(ErrorCode::unsupported,
                  name +
                      ": an OLE compound file (a legacy .doc, or an Office file protected with "
                      "a password); save it as .docx without a password");
    }
    if (!by_extension.empty() && by_extension != format &&
        !(by_extension == "markdown" && format == "txt") &&
        !(by_extension == "txt" && format == "html")) {
      warnings.push_back(name + ": the extension says " + by_extension + " but the content is " +
                         format + "; read as " + format);
    }
  }

  Document doc;
  if (format == "pdf") {
    doc = detail::read_pdf(bytes, name, options);
  } else if (format == "docx") {
    doc = detail::read_docx(bytes, name, options);
  } else {
    detail::DecodedBytes decoded =
        detail::decode_text_bytes(bytes, name, options.encoding_override);
    if (decoded.replaced > 0) {
      warnings.push_back(name + ": " + std::to_string(decoded.replaced) +
                         " byte(s) are not valid " + decoded.encoding + " and became U+FFFD");
    }
    doc.encoding = decoded.encoding;
    // HTML in UTF-16 shows its tags only once decoded.
    if (format == "txt" && options.format_override.empty() && looks_like_html(decoded.utf8)) {
      format = "html";
    }
    if (format == "markdown" || format == "html") {
      detail::StructuredText structured =
          format == "markdown" ? detail::markdown_to_text(decoded.utf8, name, options.limits)
                               : detail::html_to_text(decoded.utf8, name, options.limits);
      doc.text = std::move(structured.text);
      doc.blocks = std::move(structured.blocks);
    } else {
      doc.text = std::move(decoded.utf8);
    }
    doc.format = format;
  }
  warnings.insert(warnings.end(), doc.warnings.begin(), doc.warnings.end());
  doc.warnings = std::move(warnings);
  return doc;
}

Document ingest_file(const std::string& path, const IngestOptions& options) {
  if (path == "-") {
    std::string data;
    char buf[1 << 16];
    size_t got;
    while ((got = std::fread(buf, 1, sizeof buf, stdin)) > 0) {
      data.append(buf, got);
      if (data.size() > options.limits.max_input_bytes) {
        throw Error(ErrorCode::limit_exceeded, "standard input: over the limit of " +
                                                   std::to_string(options.limits.max_input_bytes) +
                                                   " bytes");
      }
    }
    if (std::ferror(stdin)) throw Error(ErrorCode::io, "standard input: read failed");
    return ingest_bytes(data, "standard input", options);
  }
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > options.limits.max_input_bytes) {
    throw Error(ErrorCode::limit_exceeded,
                path + ": " + std::to_string(size) + " bytes, over the limit of " +
                    std::to_string(options.limits.max_input_bytes) + " bytes");
  }
  const std::string data = read_file(path);
  return ingest_bytes(data, path, options);
}

namespace detail {

std::string expand_ligatures(std::string_view utf8) {
  // U+FB00..FB06 are EF AC 80..86 in UTF-8.
  static const char* const kExpansions[] = {"ff", "fi", "fl", "ffi", "ffl", "st", "st"};
  std::string out;
  out.reserve(utf8.size());
  for (size_t i = 0; i < utf8.size(); ++i) {
    if (utf8[i] == '\xEF' && i + 2 < utf8.size() && utf8[i + 1] == '\xAC' &&
        static_cast<unsigned char>(utf8[i + 2]) >= 0x80 &&
        static_cast<unsigned char>(utf8[i + 2]) <= 0x86) {
      out += kExpansions[static_cast<unsigned char>(utf8[i + 2]) - 0x80];
      i += 2;
    } else {
      out += utf8[i];
    }
  }
  return out;
}

}  // namespace detail
}  // namespace glyph
