#include "raster/renderer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "core/clock.h"
#include "core/error.h"
#include "core/file.h"
#include "core/utf8.h"
#include "raster/draw.h"
#include "raster/glyph_cache.h"

namespace glyph {

namespace {

constexpr double kMaxDpi = 2400;
constexpr int64_t kMaxPagePixels = 200LL * 1000 * 1000;

// pdftoppm sizes a page as ceil(points × dpi / 72).
int page_pixels(double points, double dpi) {
  return static_cast<int>(std::ceil(points * (dpi / 72.0)));
}

}  // namespace

Renderer::Renderer(RenderConfig config, TextTokenCounter count_tokens)
    : config_(std::move(config)), count_tokens_(std::move(count_tokens)) {
  if (!(config_.dpi > 0) || config_.dpi > kMaxDpi) {
    throw Error(ErrorCode::invalid_config, "dpi: " + std::to_string(config_.dpi) +
                                               " is outside (0, " + std::to_string(int(kMaxDpi)) +
                                               "]");
  }
  if (!(config_.page_width_pt > 0) || !(config_.page_height_pt > 0)) {
    throw Error(ErrorCode::invalid_config, "page-size: width and height must be positive");
  }
  page_width_px_ = page_pixels(config_.page_width_pt, config_.dpi);
  page_height_px_ = page_pixels(config_.page_height_pt, config_.dpi);
  if (int64_t{page_width_px_} * page_height_px_ > kMaxPagePixels) {
    throw Error(ErrorCode::invalid_config,
                "page-size and dpi: a page of " + std::to_string(page_width_px_) + "x" +
                    std::to_string(page_height_px_) + " pixels exceeds the limit of " +
                    std::to_string(kMaxPagePixels) + " pixels");
  }
  if (!(config_.horizontal_scale > 0) || config_.horizontal_scale > 16) {
    throw Error(
        ErrorCode::invalid_config,
        "horizontal-scale: " + std::to_string(config_.horizontal_scale) + " is outside (0, 16]");
  }
  px_per_pt_ = config_.dpi / 72.0;
  fonts_ = std::make_unique<FontSet>(config_);
  glyphs_ = std::make_unique<detail::GlyphCache>(*fonts_, config_.font_size_pt * px_per_pt_,
                                                 config_.antialias);
}

Renderer::~Renderer() = default;

Layout Renderer::lay_out(std::u32string_view text) const {
  return ::glyph::lay_out(text, config_, *fonts_, count_tokens_);
}

namespace {

struct InkCache {
  Rgb color;
  detail::Ink ink;
  bool valid = false;
  const detail::Ink& get(Rgb c, int channels) {
    if (!valid || !(c == color)) {
      color = c;
      ink = detail::ink_for(c, channels);
      valid = true;
    }
    return ink;
  }
};

}  // namespace

RasterPage Renderer::rasterize_page(const Layout& layout, size_t page_index) const {
  if (page_index >= layout.pages.size()) {
    throw Error(ErrorCode::invalid_argument, "rasterize: page index " + std::to_string(page_index) +
                                                 " is past the last page (" +
                                                 std::to_string(layout.pages.size()) + " pages)");
  }
  return rasterize_page(layout.pages[page_index], page_index + 1 == layout.pages.size(),
                        layout.page_height_pt > 0 ? layout.page_height_pt : config_.page_height_pt);
}

RasterPage Renderer::rasterize_page(const PageLayout& page) const {
  return rasterize_page(page, page.last, config_.page_height_pt);
}

RasterPage Renderer::rasterize_page(const PageLayout& page, bool last, double page_h_pt) const {
  const int channels = config_.gray_output() ? 1 : 3;
  const detail::Ink background = detail::ink_for(config_.page_bg_color, channels);
  const bool uniform = background.v[0] == background.v[1] && background.v[1] == background.v[2];
  PageImage image(page_width_px_, page_height_px_, channels, background.v[0]);
  if (!uniform) detail::fill_rect(image, 0, 0, image.width_px, image.height_px, background);
  const double s = px_per_pt_;

  for (const Rect& r : page.para_backgrounds) {
    detail::fill_rect_snapped(image, r.x0_pt * s, r.y0_pt * s, r.x1_pt * s, r.y1_pt * s,
                              detail::ink_for(config_.para_bg_color, channels));
  }
  if (config_.border_width_pt > 0) {
    const detail::Ink ink = detail::ink_for(config_.para_border_color, channels);
    const double h = config_.border_width_pt * s / 2;
    for (const Rect& r : page.para_borders) {
      const double x0 = r.x0_pt * s, y0 = r.y0_pt * s, x1 = r.x1_pt * s, y1 = r.y1_pt * s;
      detail::fill_rect_snapped(image, x0 - h, y0 - h, x1 + h, y0 + h, ink);  // top
      detail::fill_rect_snapped(image, x0 - h, y1 - h, x1 + h, y1 + h, ink);  // bottom
      detail::fill_rect_snapped(image, x0 - h, y0 - h, x0 + h, y1 + h, ink);  // left
      detail::fill_rect_snapped(image, x1 - h, y0 - h, x1 + h, y1 + h, ink);  // right
    }
  }

  // Device coordinates, computed as poppler computes them, because pdftoppm floors the baseline
  // to a whole pixel: a baseline whose exact position is a pixel edge (every third line at 96 dpi)
  // lands on one side or the other by the last bit of the arithmetic. ReportLab draws each
  // paragraph part after "1 0 0 1 x f cm" (f: the part's bottom in PDF space) with baselines at
  // y_user relative to it; poppler's CTM is then [k 0 0 -k 0 k·H] concatenated with that cm:
  //   y_device = y_user · (-k) + (f · (-k) + k · H)
  const double k = px_per_pt_;
  const double padding_pt = config_.border_padding_pt;
  InkCache ink;
  auto draw = [&](const PlacedGlyph& g, int baseline_px) {
    const auto pen = glyphs_->split_pen_x(g.font_index, static_cast<double>(g.x_pt) * k);
    const detail::GlyphBitmap& bitmap =
        glyphs_->get(g.font_index, g.glyph_id, pen.bucket, g.x_scale_q16);
    detail::draw_glyph(image, bitmap, pen.pixel, baseline_px, ink.get(g.color, channels));
  };
  size_t part = 0;  // the paragraph part (background rectangle) holding the current line
  for (const LineLayout& line : page.lines) {
    while (part + 1 < page.para_backgrounds.size() &&
           line.baseline_pt > page.para_backgrounds[part].y1_pt - padding_pt)
      ++part;
    const double f = page.para_backgrounds.empty()
                         ? 0.0
                         : page_h_pt - (page.para_backgrounds[part].y1_pt - padding_pt);
    const double y_user = (page_h_pt - line.baseline_pt) - f;
    const double y_dev = y_user * -k + (f * -k + k * page_h_pt);
    const int baseline_px = static_cast<int>(std::floor(y_dev));
    for (const PlacedGlyph& g : line.glyphs) draw(g, baseline_px);
  }
  for (const PlacedGlyph& g : page.markers)
    draw(g, static_cast<int>(std::floor(static_cast<double>(g.y_pt) * k)));

  const detail::CropResult size = detail::reference_crop_size(
      image, config_.auto_crop_width,
      (config_.auto_crop_last_page && last) || (config_.auto_crop_height && page.cut_short),
      config_.margin_x_pt, config_.margin_y_pt);
  if (size.width_px != image.width_px || size.height_px != image.height_px) {
    // In place: rows move left to their new start (never overlapping a row not yet moved).
    const size_t new_row = static_cast<size_t>(size.width_px) * channels;
    if (size.width_px != image.width_px) {
      for (int y = 1; y < size.height_px; ++y)
        std::memmove(image.pixels.data() + y * new_row, image.row(y), new_row);
    }
    image.pixels.resize(new_row * size.height_px);
    image.width_px = size.width_px;
    image.height_px = size.height_px;
  }
  if (config_.horizontal_scale != 1.0) {
    const int width =
        std::max(1, static_cast<int>(std::lround(image.width_px * config_.horizontal_scale)));
    image = resize_bicubic(image, width, image.height_px);
  }
  RasterPage out;
  out.line_boxes = line_boxes_px(page, image);
  out.image = std::move(image);
  return out;
}

std::vector<PixelRect> Renderer::line_boxes_px(const Layout& layout, size_t page_index,
                                               const PageImage& image) const {
  if (page_index >= layout.pages.size()) {
    throw Error(
        ErrorCode::invalid_argument,
        "line_boxes_px: page index " + std::to_string(page_index) + " is past the last page");
  }
  return line_boxes_px(layout.pages[page_index], image);
}

std::vector<PixelRect> Renderer::line_boxes_px(const PageLayout& page,
                                               const PageImage& image) const {
  const double sx = px_per_pt_ * config_.horizontal_scale, sy = px_per_pt_;
  const double w = image.width_px, h = image.height_px;
  std::vector<PixelRect> boxes;
  boxes.reserve(page.lines.size());
  for (const LineLayout& line : page.lines) {
    boxes.push_back({std::clamp(line.x0_pt * sx, 0.0, w), std::clamp(line.y0_pt * sy, 0.0, h),
                     std::clamp(line.x1_pt * sx, 0.0, w), std::clamp(line.y1_pt * sy, 0.0, h)});
  }
  return boxes;
}

namespace {

// JSON numbers: at most 2 decimals, trailing zeros dropped ("16", "18.16"); "-0" never appears.
void append_number(std::string& out, double v, int decimals = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  out += s;
}

void append_json_string(std::string& out, std::u32string_view text) {
  out += '"';
  for (char32_t c : text) {
    switch (c) {
      case U'"': out += "\\\""; break;
      case U'\\': out += "\\\\"; break;
      case U'\n': out += "\\n"; break;
      case U'\r': out += "\\r"; break;
      case U'\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          append_utf8(out, c);
        }
    }
  }
  out += '"';
}

std::string page_json(const PageLayout& page, const RasterPage& raster, std::u32string_view text) {
  std::string out;
  out.reserve(256 + page.lines.size() * 200);
  out += "{\"page\": " + std::to_string(page.number) +
         ", \"width\": " + std::to_string(raster.image.width_px) +
         ", \"height\": " + std::to_string(raster.image.height_px) +
         ", \"char_start\": " + std::to_string(page.char_start) +
         ", \"char_end\": " + std::to_string(page.char_end) + ", \"lines\": [";
  for (size_t i = 0; i < page.lines.size(); ++i) {
    const LineLayout& line = page.lines[i];
    const PixelRect& b = raster.line_boxes[i];
    if (i) out += ", ";
    out += "{\"text\": ";
    const size_t start = std::min(line.char_start, text.size());
    const size_t end = std::clamp(line.char_end, start, text.size());
    append_json_string(out, text.substr(start, end - start));
    out += ", \"char_start\": " + std::to_string(line.char_start) +
           ", \"char_end\": " + std::to_string(line.char_end) + ", \"bbox\": [";
    append_number(out, b.x0_px);
    out += ", ";
    append_number(out, b.y0_px);
    out += ", ";
    append_number(out, b.x1_px);
    out += ", ";
    append_number(out, b.y1_px);
    out += "]}";
  }
  out += "]}";
  return out;
}

std::string page_file_name(size_t number) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "page_%03zu.png", number);
  return buf;
}

// Writes bytes to a new file (no temporary: the directory is the unit the caller replaces).
void write_whole(const std::string& path, std::string_view bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw Error(ErrorCode::io, path + ": cannot open for writing: " + std::strerror(errno));
  const size_t written = std::fwrite(bytes.data(), 1, bytes.size(), f);
  const bool closed = std::fclose(f) == 0;
  if (written != bytes.size() || !closed) throw Error(ErrorCode::io, path + ": write failed");
}

}  // namespace

namespace {

// The worker threads of one render_to_directory call: joined on every way out of it (an error
// of the layout, of a worker, of the progress callback), never left to std::terminate.
class WorkerPool {
 public:
  WorkerPool(std::mutex& mutex, std::condition_variable& wake, bool& stop)
      : mutex_(mutex), wake_(wake), stop_(stop) {}
  ~WorkerPool() { stop_and_join(); }
  template <class F>
  void start(int count, F work) {
    for (int t = 0; t < count; ++t) threads_.emplace_back(work);
  }
  void stop_and_join() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    threads_.clear();
  }

 private:
  std::mutex& mutex_;
  std::condition_variable& wake_;
  bool& stop_;
  std::vector<std::thread> threads_;
};

}  // namespace

RenderResult Renderer::render_to_directory(std::u32string_view text, const std::string& outdir,
                                           const RenderOptions& options) const {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(outdir, ec);
  if (ec || !fs::is_directory(outdir)) {
    throw Error(ErrorCode::io,
                outdir + ": cannot create the output folder" + (ec ? ": " + ec.message() : ""));
  }

  RenderResult result;
  result.chars = text.size();
  const auto started = std::chrono::steady_clock::now();
  PageLayouter layouter(text, config_, *fonts_, count_tokens_);
  result.layout_seconds = seconds_since(started);

  const int threads = options.threads > 0
                          ? options.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // Pages laid out but not yet in layout.json: the layout (this thread) stops this far ahead.
  const size_t window = 2 * static_cast<size_t>(threads) + 2;

  result.layout_json_path = (fs::path(outdir) / "layout.json").string();
  const std::string json_tmp = result.layout_json_path + ".tmp";
  std::FILE* json = std::fopen(json_tmp.c_str(), "wb");
  if (!json)
    throw Error(ErrorCode::io, json_tmp + ": cannot open for writing: " + std::strerror(errno));
  std::string head = "{\"chars\": " + std::to_string(text.size()) + ", \"dpi\": ";
  append_number(head, config_.dpi, 6);
  head += ", \"pages\": [";
  bool write_ok = std::fwrite(head.data(), 1, head.size(), json) == head.size();

  // This thread lays the pages out and queues them; workers rasterize, encode and write each,
  // and leave its layout.json fragment here, which this thread writes in page order. A page's
  // glyphs are freed as soon as its image is written.
  struct Job {
    size_t index = 0;
    PageLayout page;
  };
  std::mutex mutex;
  std::condition_variable work_ready, fragment_ready;
  std::deque<Job> queue;
  std::map<size_t, std::string> fragments;  // by page index, until written
  bool layout_done = false, stop = false;
  std::exception_ptr error;
  size_t produced = 0, written = 0;

  auto work = [&] {
    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(mutex);
        work_ready.wait(lock, [&] { return stop || !queue.empty() || layout_done; });
        if (stop || queue.empty()) return;
        job = std::move(queue.front());
        queue.pop_front();
      }
      try {
        const RasterPage raster = rasterize_page(job.page);
        const std::string png = encode_png(raster.image, options.png);
        write_whole((fs::path(outdir) / page_file_name(job.index + 1)).string(), png);
        std::string fragment = page_json(job.page, raster, text);
        std::lock_guard<std::mutex> lock(mutex);
        fragments.emplace(job.index, std::move(fragment));
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!error) error = std::current_exception();
        stop = true;
      }
      fragment_ready.notify_one();
    }
  };

  try {
    WorkerPool pool(mutex, work_ready, stop);
    pool.start(threads, work);
    for (;;) {
      std::string fragment;
      bool have_fragment = false;
      {
        std::unique_lock<std::mutex> lock(mutex);
        fragment_ready.wait(lock, [&] {
          return stop || fragments.count(written) ||
                 (!layout_done && produced - written < window) ||
                 (layout_done && written == produced);
        });
        if (stop) break;
        if (auto it = fragments.find(written); it != fragments.end()) {
          fragment = std::move(it->second);
          fragments.erase(it);
          have_fragment = true;
        } else if (layout_done) {
          break;  // every page written
        }
      }
      if (have_fragment) {
        if (written) write_ok = write_ok && std::fputs(", ", json) >= 0;
        write_ok =
            write_ok && std::fwrite(fragment.data(), 1, fragment.size(), json) == fragment.size();
        ++written;
        if (options.on_page_written) {
          size_t total = produced;
          if (!layout_done) {  // an estimate from the share of the text laid out
            const size_t chars = layouter.chars_done();
            total = chars ? static_cast<size_t>(std::ceil(static_cast<double>(produced) *
                                                          static_cast<double>(text.size()) /
                                                          static_cast<double>(chars)))
                          : produced;
            total = std::max(total, written + 1);
          }
          options.on_page_written(written, total);
        }
        continue;
      }
      const auto layout_started = std::chrono::steady_clock::now();
      PageLayout page;
      const bool more = layouter.next_page(page);
      result.layout_seconds += seconds_since(layout_started);
      if (more)
        result.page_files.push_back((fs::path(outdir) / page_file_name(produced + 1)).string());
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (more) queue.push_back(Job{produced++, std::move(page)});
        layout_done = layouter.done();
      }
      if (layout_done)
        work_ready.notify_all();
      else
        work_ready.notify_one();
    }
    pool.stop_and_join();
  } catch (...) {
    std::fclose(json);
    fs::remove(json_tmp, ec);
    throw;
  }
  if (error) {
    std::fclose(json);
    fs::remove(json_tmp, ec);
    std::rethrow_exception(error);
  }
  const std::string tail = "]}\n";
  write_ok = write_ok && std::fwrite(tail.data(), 1, tail.size(), json) == tail.size();
  write_ok = std::fclose(json) == 0 && write_ok;
  if (!write_ok) throw Error(ErrorCode::io, json_tmp + ": write failed");
  fs::rename(json_tmp, result.layout_json_path, ec);
  if (ec) throw Error(ErrorCode::io, result.layout_json_path + ": " + ec.message());

  result.pages = produced;
  result.missing_glyph_chars = layouter.missing_glyph_chars();
  result.fallback_chars = layouter.fallback_chars();
  // Page files of an earlier, longer render in the same folder would be mistaken for this one's.
  for (size_t n = produced + 1;; ++n) {
    const fs::path stale = fs::path(outdir) / page_file_name(n);
    if (!fs::exists(stale, ec)) break;
    fs::remove(stale, ec);
  }
  result.raster_seconds = seconds_since(started) - result.layout_seconds;
  return result;
}

}  // namespace glyph
