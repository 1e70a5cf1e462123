// The `glyph._glyph` extension: the rendering path of the library for Python (python/glyph wraps
// it; docs/python.md). Pages come back as numpy arrays that own the renderer's pixel buffers (no
// copy, no PNG round trip); the GIL is released while text is prepared, laid out and rasterized,
// so Python threads render in parallel. Library errors become glyph.Error with the same message
// and the error code as `code`.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "core/error.h"
#include "core/utf8.h"
#include "image/image.h"
#include "ingest/ingest.h"
#include "layout/layout.h"
#include "raster/renderer.h"
#include "reflow/reflow.h"
#include "tokens/page_tokens.h"
#include "tokens/tokenizer.h"
#include "tokens/visual_tokens.h"

namespace py = pybind11;

namespace glyph::python {

namespace {

PyObject* error_type = nullptr;  // glyph.Error, created at import

// A page image as a numpy array that owns the pixels: the PageImage moves into a capsule.
py::array page_array(PageImage&& image) {
  auto* owned = new PageImage(std::move(image));
  py::capsule owner(owned, [](void* p) { delete static_cast<PageImage*>(p); });
  const py::ssize_t h = owned->height_px, w = owned->width_px, c = owned->channels;
  if (c == 1) {
    return py::array_t<uint8_t>({h, w}, {w, py::ssize_t{1}}, owned->pixels.data(), owner);
  }
  return py::array_t<uint8_t>({h, w, c}, {w * c, c, py::ssize_t{1}}, owned->pixels.data(), owner);
}

// A C-contiguous uint8 array of shape (H, W), (H, W, 1) or (H, W, 3) as a PageImage (copied).
PageImage image_from_array(const py::array& input) {
  if (!py::isinstance<py::array_t<uint8_t>>(input) || input.dtype().kind() != 'u' ||
      input.itemsize() != 1) {
    throw Error(ErrorCode::invalid_argument,
                "png: the array must be uint8, not " + std::string(py::str(input.dtype())));
  }
  const auto array = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>::ensure(input);
  const int ndim = static_cast<int>(array.ndim());
  const int channels = ndim == 2 ? 1 : ndim == 3 ? static_cast<int>(array.shape(2)) : 0;
  if (channels != 1 && channels != 3) {
    throw Error(ErrorCode::invalid_argument,
                "png: the array must have shape (H, W), (H, W, 1) or (H, W, 3), not " +
                    std::string(py::str(py::tuple(input.attr("shape")))));
  }
  if (array.shape(0) < 1 || array.shape(1) < 1 || array.shape(0) > (1 << 20) ||
      array.shape(1) > (1 << 20)) {
    throw Error(ErrorCode::invalid_argument, "png: width and height must be 1 to 1048576 pixels");
  }
  PageImage image;
  image.height_px = static_cast<int>(array.shape(0));
  image.width_px = static_cast<int>(array.shape(1));
  image.channels = channels;
  image.pixels.assign(array.data(), array.data() + array.size());
  return image;
}

// One rendered document: the text as rendered, its layout, and the page images (or, with
// images off and no crop that depends on the pixels, only the page sizes).
struct Rendered {
  std::u32string text;
  Layout layout;
  std::vector<PageImage> images;  // empty when images were not asked for
  std::vector<std::vector<PixelRect>> line_boxes;
  std::vector<std::pair<int, int>> page_sizes;  // width, height in pixels
};

class PyRenderer {
 public:
  PyRenderer(RenderConfig config, int threads)
      : renderer_(std::move(config), TextTokenCounter{}), threads_(threads) {
    if (renderer_.config().max_text_tokens_per_page > 0) {
      // The token cap needs the tokenizer: a second Renderer built with its counter.
      renderer_with_counter_ =
          std::make_unique<Renderer>(renderer_.config(), text_token_counter(shared_tokenizer()));
    }
  }

  const Renderer& renderer() const {
    return renderer_with_counter_ ? *renderer_with_counter_ : renderer_;
  }
  int threads() const { return threads_; }

  // The text exactly as it is laid out: prepare_text and the config's reflow, as `glyph render`.
  std::u32string prepare(const std::string& utf8) const {
    Document document;
    document.text = utf8;
    document.format = "txt";
    document.encoding = "UTF-8";
    return prepare_document(document, renderer().config()).text;
  }

  Rendered render(const std::string& utf8, bool images) const {
    Rendered out;
    out.text = prepare(utf8);
    out.layout = renderer().lay_out(out.text);
    const size_t pages = out.layout.pages.size();
    out.line_boxes.resize(pages);
    out.page_sizes.resize(pages);
    const RenderConfig& config = renderer().config();
    const bool pixel_crops =
        config.auto_crop_width || config.auto_crop_last_page || config.auto_crop_height;
    if (!images && !pixel_crops) {
      // The size of every page is known without drawing it.
      PageImage size_only;
      size_only.height_px = renderer().page_height_px();
      size_only.width_px = renderer().page_width_px();
      if (config.horizontal_scale != 1.0) {
        size_only.width_px = std::max(
            1, static_cast<int>(std::lround(size_only.width_px * config.horizontal_scale)));
      }
      for (size_t i = 0; i < pages; ++i) {
        out.line_boxes[i] = renderer().line_boxes_px(out.layout, i, size_only);
        out.page_sizes[i] = {size_only.width_px, size_only.height_px};
      }
      return out;
    }
    std::vector<RasterPage> rasters(pages);
    unsigned workers = threads_ > 0 ? static_cast<unsigned>(threads_)
                                    : std::max(1u, std::thread::hardware_concurrency());
    workers = std::min<unsigned>(workers, static_cast<unsigned>(pages));
    if (workers <= 1) {
      for (size_t i = 0; i < pages; ++i) rasters[i] = renderer().rasterize_page(out.layout, i);
    } else {
      std::atomic<size_t> next{0};
      std::exception_ptr failure;
      std::mutex failure_mutex;
      std::vector<std::thread> pool;
      for (unsigned w = 0; w < workers; ++w) {
        pool.emplace_back([&] {
          try {
            for (size_t i; (i = next.fetch_add(1)) < pages;)
              rasters[i] = renderer().rasterize_page(out.layout, i);
          } catch (...) {
            std::lock_guard lock(failure_mutex);
            if (!failure) failure = std::current_exception();
            next = pages;
          }
        });
      }
      for (auto& t : pool) t.join();
      if (failure) std::rethrow_exception(failure);
    }
    for (size_t i = 0; i < pages; ++i) {
      out.page_sizes[i] = {rasters[i].image.width_px, rasters[i].image.height_px};
      out.line_boxes[i] = std::move(rasters[i].line_boxes);
      if (images) out.images.push_back(std::move(rasters[i].image));
    }
    return out;
  }

 private:
  Renderer renderer_;
  std::unique_ptr<Renderer> renderer_with_counter_;
  int threads_ = 1;
};

std::string utf8(std::u32string_view text) {
  return encode_utf8(text);
}

// The char <-> box map of a rendered document as numpy arrays (see glyph.Layout).
py::dict layout_arrays(const Rendered& r, const RenderConfig& config) {
  const Layout& layout = r.layout;
  const size_t pages = layout.pages.size();
  size_t lines = 0;
  for (const auto& page : layout.pages) lines += page.lines.size();
  const size_t chars = r.text.size();

  py::array_t<int32_t> page_sizes({py::ssize_t(pages), py::ssize_t{2}});
  py::array_t<int64_t> page_chars({py::ssize_t(pages), py::ssize_t{2}});
  py::array_t<int32_t> line_page({py::ssize_t(lines)});
  py::array_t<int64_t> line_chars({py::ssize_t(lines), py::ssize_t{2}});
  py::array_t<double> line_boxes({py::ssize_t(lines), py::ssize_t{4}});
  py::array_t<int32_t> char_page({py::ssize_t(chars)});
  py::array_t<int32_t> char_line({py::ssize_t(chars)});
  py::array_t<float> char_boxes({py::ssize_t(chars), py::ssize_t{4}});
  auto ps = page_sizes.mutable_unchecked<2>();
  auto pc = page_chars.mutable_unchecked<2>();
  auto lp = line_page.mutable_unchecked<1>();
  auto lc = line_chars.mutable_unchecked<2>();
  auto lb = line_boxes.mutable_unchecked<2>();
  auto cp = char_page.mutable_unchecked<1>();
  auto cl = char_line.mutable_unchecked<1>();
  auto cb = char_boxes.mutable_unchecked<2>();
  for (size_t c = 0; c < chars; ++c) {
    cp(c) = -1;
    cl(c) = -1;
    for (int k = 0; k < 4; ++k) cb(c, k) = 0;
  }

  const double sx = config.dpi / 72.0 * config.horizontal_scale;
  size_t line_index = 0;
  std::vector<double> x0, x1;
  for (size_t p = 0; p < pages; ++p) {
    const PageLayout& page = layout.pages[p];
    const double width = r.page_sizes[p].first;
    ps(p, 0) = r.page_sizes[p].first;
    ps(p, 1) = r.page_sizes[p].second;
    pc(p, 0) = static_cast<int64_t>(page.char_start);
    pc(p, 1) = static_cast<int64_t>(page.char_end);
    for (size_t l = 0; l < page.lines.size(); ++l, ++line_index) {
      const LineLayout& line = page.lines[l];
      const PixelRect& box = r.line_boxes[p][l];
      lp(line_index) = static_cast<int32_t>(p);
      lc(line_index, 0) = static_cast<int64_t>(line.char_start);
      lc(line_index, 1) = static_cast<int64_t>(line.char_end);
      lb(line_index, 0) = box.x0_px;
      lb(line_index, 1) = box.y0_px;
      lb(line_index, 2) = box.x1_px;
      lb(line_index, 3) = box.y1_px;
      // Each character drawn by a glyph spans from its pen position to the next glyph's (or the
      // line's end); a character without a glyph of its own (a space dropped at the break, a
      // newline, the second character of a ligature) is an empty box where the previous ends.
      const size_t start = std::min(line.char_start, chars), end = std::min(line.char_end, chars);
      x0.assign(end - start, NAN);
      x1.assign(end - start, NAN);
      for (size_t g = 0; g < line.glyphs.size(); ++g) {
        const size_t c = line.glyphs[g].char_index;
        if (c < start || c >= end) continue;
        const double next = g + 1 < line.glyphs.size() ? line.glyphs[g + 1].x_pt : line.x1_pt;
        x0[c - start] = line.glyphs[g].x_pt;
        x1[c - start] = std::max<double>(next, line.glyphs[g].x_pt);
      }
      double at = line.x0_pt;
      for (size_t c = start; c < end; ++c) {
        if (std::isnan(x0[c - start])) {
          x0[c - start] = x1[c - start] = at;
        } else {
          at = x1[c - start];
        }
        cp(c) = static_cast<int32_t>(p);
        cl(c) = static_cast<int32_t>(line_index);
        cb(c, 0) = static_cast<float>(std::clamp(x0[c - start] * sx, 0.0, width));
        cb(c, 1) = static_cast<float>(box.y0_px);
        cb(c, 2) = static_cast<float>(std::clamp(x1[c - start] * sx, 0.0, width));
        cb(c, 3) = static_cast<float>(box.y1_px);
      }
    }
  }
  py::dict d;
  d["text"] = utf8(r.text);
  d["page_sizes"] = page_sizes;
  d["page_chars"] = page_chars;
  d["line_page"] = line_page;
  d["line_chars"] = line_chars;
  d["line_boxes"] = line_boxes;
  d["char_page"] = char_page;
  d["char_line"] = char_line;
  d["char_boxes"] = char_boxes;
  return d;
}

RenderConfig config_from(const py::object& spec, std::vector<std::string>& warnings) {
  if (spec.is_none()) return preset_config("en");
  if (py::isinstance<py::dict>(spec)) {
    const std::string json = py::str(py::module_::import("json").attr("dumps")(spec));
    return parse_config_json(json, std::filesystem::current_path().string(), &warnings,
                             "config dict");
  }
  if (py::isinstance<py::str>(spec) || py::hasattr(spec, "__fspath__")) {
    const std::string text = py::str(py::module_::import("os").attr("fspath")(spec));
    if (text == "en" || text == "zh") return preset_config(text);
    if (!text.empty() && text.front() == '{')
      return parse_config_json(text, std::filesystem::current_path().string(), &warnings,
                               "config JSON");
    std::error_code error;
    if (text.find('/') == std::string::npos && !text.ends_with(".json") &&
        !std::filesystem::exists(text, error)) {
      throw Error(ErrorCode::invalid_argument,
                  "config: \"" + text + "\" is neither a preset (en, zh) nor a config file");
    }
    return load_config(text, &warnings);
  }
  throw Error(ErrorCode::invalid_argument,
              "config: expected a dict, a path, a preset name (en, zh) or JSON text, not " +
                  std::string(py::str(spec.get_type().attr("__name__"))));
}

py::dict visual_token_dict(const VisualTokenCount& v) {
  py::dict d;
  d["model"] = v.model;
  d["tokens"] = v.tokens;
  d["wrapper_tokens"] = v.wrapper_tokens;
  d["resized_width"] = v.resized_width_px;
  d["resized_height"] = v.resized_height_px;
  d["grid_columns"] = v.grid_columns;
  d["grid_rows"] = v.grid_rows;
  d["views"] = v.views;
  return d;
}

}  // namespace

}  // namespace glyph::python

using namespace glyph;
using namespace glyph::python;

PYBIND11_MODULE(_glyph, m) {
  m.doc() = "Glyph-cpp rendering: text to page images as numpy arrays (see the glyph package)";
  m.attr("__version__") = GLYPH_VERSION;

  py::object error = py::reinterpret_steal<py::object>(
      PyErr_NewExceptionWithDoc("glyph.Error",
                                "An error of the Glyph library; `code` names its kind "
                                "(invalid_config, not_found, ...).",
                                PyExc_RuntimeError, nullptr));
  error_type = error.ptr();
  error.inc_ref();  // lives as long as the interpreter
  m.attr("Error") = error;
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      py::gil_scoped_acquire gil;
      py::object instance = py::reinterpret_borrow<py::object>(error_type)(e.what());
      instance.attr("code") = std::string(to_string(e.code()));
      PyErr_SetObject(error_type, instance.ptr());
    }
  });

  py::class_<PyRenderer>(m, "Renderer")
      .def(py::init([](const py::object& config, int threads) {
             if (threads < 0)
               throw Error(ErrorCode::invalid_argument, "threads: must be 0 (all cores) or more");
             std::vector<std::string> warnings;
             RenderConfig parsed = config_from(config, warnings);
             if (!warnings.empty()) {
               auto warn = py::module_::import("warnings").attr("warn");
               for (const auto& w : warnings) warn(w);
             }
             py::gil_scoped_release release;
             return std::make_unique<PyRenderer>(std::move(parsed), threads);
           }),
           py::arg("config") = py::none(), py::arg("threads") = 1)
      .def_property_readonly(
          "config_json", [](const PyRenderer& r) { return config_to_json(r.renderer().config()); })
      .def_property_readonly("dpi", [](const PyRenderer& r) { return r.renderer().config().dpi; })
      .def_property_readonly("threads", &PyRenderer::threads)
      .def_property_readonly("page_width_px",
                             [](const PyRenderer& r) { return r.renderer().page_width_px(); })
      .def_property_readonly("page_height_px",
                             [](const PyRenderer& r) { return r.renderer().page_height_px(); })
      .def("prepare",
           [](const PyRenderer& r, const std::string& text) {
             std::u32string prepared;
             {
               py::gil_scoped_release release;
               prepared = r.prepare(text);
             }
             return utf8(prepared);
           })
      .def(
          "_render",
          [](const PyRenderer& r, const std::string& text, bool images) {
            Rendered rendered;
            {
              py::gil_scoped_release release;
              rendered = r.render(text, images);
            }
            py::list pages;
            for (auto& image : rendered.images) pages.append(page_array(std::move(image)));
            rendered.images.clear();
            return py::make_tuple(pages, layout_arrays(rendered, r.renderer().config()));
          },
          py::arg("text"), py::arg("images") = true);

  m.def(
      "tokens",
      [](const std::string& text, const std::string& tokenizer, bool special) {
        std::vector<uint32_t> ids;
        {
          py::gil_scoped_release release;
          ids = shared_tokenizer(tokenizer).encode(text, special);
        }
        py::array_t<uint32_t> out(py::ssize_t(ids.size()));
        if (!ids.empty()) std::memcpy(out.mutable_data(), ids.data(), ids.size() * 4);
        return out;
      },
      py::arg("text"), py::arg("tokenizer") = "", py::arg("add_special_tokens") = false);
  m.def(
      "decode",
      [](const std::vector<uint32_t>& ids, const std::string& tokenizer, bool skip_special) {
        return shared_tokenizer(tokenizer).decode(ids, skip_special);
      },
      py::arg("ids"), py::arg("tokenizer") = "", py::arg("skip_special") = false);
  m.def(
      "visual_tokens",
      [](int width, int height, const std::string& model, std::optional<int64_t> min_pixels,
         std::optional<int64_t> max_pixels, bool pan_and_scan, int max_tiles) {
        VisualTokenOptions options;
        options.min_pixels = min_pixels;
        options.max_pixels = max_pixels;
        options.pan_and_scan = pan_and_scan;
        options.max_tiles = max_tiles;
        return visual_token_dict(count_visual_tokens(model, width, height, options));
      },
      py::arg("width"), py::arg("height"), py::arg("model") = "glyph", py::kw_only(),
      py::arg("min_pixels") = py::none(), py::arg("max_pixels") = py::none(),
      py::arg("pan_and_scan") = false, py::arg("max_tiles") = 0);
  m.def("visual_models", &known_visual_models);
  m.def(
      "png",
      [](const py::array& array, const std::string& compression) {
        PageImage image = image_from_array(array);
        std::string bytes;
        {
          py::gil_scoped_release release;
          bytes = encode_png(image, png_options_named(compression));
        }
        return py::bytes(bytes);
      },
      py::arg("array"), py::arg("compression") = "fast");
  m.def(
      "decode_png",
      [](const py::bytes& data) {
        const std::string bytes = data;
        PageImage image;
        {
          py::gil_scoped_release release;
          image = decode_png(bytes);
        }
        return page_array(std::move(image));
      },
      py::arg("data"));
}
