"""Builds the extension glyph._glyph with the project's CMake for `pip install .` (pyproject.toml).

CMake configures build/pip (tests, benchmarks off; the interpreter running pip as Python) and
builds the target glyph_python; the extension is copied where setuptools packs it. Objects
compiled in another build of this tree are reused through ccache when it is installed."""
import os
import pathlib
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = ROOT / "build" / "pip"
        env = dict(os.environ)
        env.setdefault("CCACHE_BASEDIR", str(ROOT))
        env.setdefault("CCACHE_NOHASHDIR", "1")
        generator = ["-G", "Ninja"] if shutil.which("ninja") else []
        subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build), *generator,
                        "-DCMAKE_BUILD_TYPE=Release", "-DGLYPH_BUILD_TESTS=OFF",
                        "-DGLYPH_BUILD_BENCH=OFF", "-DGLYPH_BUILD_PYTHON=ON",
                        f"-DPython_EXECUTABLE={sys.executable}"], check=True, env=env)
        jobs = os.environ.get("GLYPH_JOBS", str(os.cpu_count() or 2))
        subprocess.run(["cmake", "--build", str(build), "--target", "glyph_python", "-j", jobs],
                       check=True, env=env)
        built = sorted((build / "python" / "glyph").glob("_glyph*.so"))
        if not built:
            raise RuntimeError(f"the extension was not built in {build / 'python' / 'glyph'}")
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[-1], target)


setup(ext_modules=[Extension("glyph._glyph", sources=[])], cmdclass={"build_ext": CMakeBuild},
      options={"build": {"build_base": str(ROOT / "build" / "pip-package")}})
