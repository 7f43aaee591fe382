#!/bin/sh
# Builds the release artifacts in a clean virtualenv, then smoke-tests the bundle (make dist).
#   dist/posthog_event_composer-VERSION-py3-none-any.whl and .tar.gz (sdist)
#   dist/event-composer/                       the PyInstaller onedir bundle
#   dist/event-composer-VERSION-linux-ARCH.tar.gz
# The virtualenv (build/dist-venv, never .venv) holds only the runtime dependencies and
# PyInstaller, at the versions in packaging/constraints.txt, so a build repeats and picks up
# nothing from a development environment (a stray PyQt, the test tools).
set -eu
py=${PYTHON:-python3}
venv=build/dist-venv
constraints=packaging/constraints.txt
version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' composer/__init__.py)

rm -rf "$venv" build/pyinstaller dist
"$py" -m venv "$venv"
pip="$venv/bin/python -m pip --quiet --disable-pip-version-check"
$pip install -c "$constraints" --upgrade pip
$pip install -c "$constraints" build hatchling pyinstaller pyinstaller-hooks-contrib

# Without build isolation, so the build backend is the pinned hatchling too.
"$venv/bin/python" -m build --no-isolation --sdist --wheel --outdir dist . >build/build.log
wheel=dist/posthog_event_composer-$version-py3-none-any.whl
$pip install -c "$constraints" "$wheel"

# PyInstaller's "Library not found" warning means a Qt plugin will not load on the target
# (the research's misleading xcb abort); treat it as a build error.
"$venv/bin/pyinstaller" --noconfirm --clean --distpath dist --workpath build/pyinstaller \
  packaging/pyinstaller/event-composer.spec >build/pyinstaller.log 2>&1 \
  || { tail -40 build/pyinstaller.log >&2; exit 1; }
if grep -E "Library not found|could not resolve" build/pyinstaller.log >&2; then
  echo "dist: PyInstaller could not find the libraries above; install them (scripts/system-deps.sh)" >&2
  exit 1
fi

archive=dist/event-composer-$version-linux-$(uname -m).tar.gz
tar -czf "$archive" -C dist event-composer
bundle_mb=$(du -sm dist/event-composer | cut -f1)
archive_mb=$(du -m "$archive" | cut -f1)
files=$(find dist/event-composer -type f | wc -l)
# The newest glibc symbol version anything in the bundle asks for: the oldest glibc it runs on.
glibc="unknown (objdump, from binutils, is not installed)"
if command -v objdump >/dev/null; then
  glibc=$(find dist/event-composer -type f \( -name '*.so*' -o -name event-composer \) \
    -exec objdump -T {} + 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' | sort -u -V | tail -1)
fi
echo "dist: wheel   $wheel ($(du -k "$wheel" | cut -f1) KB)"
echo "dist: sdist   dist/posthog_event_composer-$version.tar.gz"
echo "dist: bundle  dist/event-composer/ $bundle_mb MB, $files files; $archive $archive_mb MB"
echo "dist: glibc   the bundle needs $glibc or newer (built on $(ldd --version | head -1))"

"$venv/bin/python" packaging/smoke_test.py dist/event-composer
