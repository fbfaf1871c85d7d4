#!/usr/bin/env bash
# Builds the Windows release package: dist/stopgap-<version>-windows-x64.zip, holding
#   stopgap.exe      the app and its command line (release build, GUI subsystem, icon embedded)
#   README.txt       README.md with Windows line endings, so Notepad shows it properly
#   catalogue.toml   the default test catalogue
#   LICENSE.txt      the MIT licence
# and prints the zip's path and SHA-256.
#
# Cross-compiles on Linux: needs `rustup target add x86_64-pc-windows-gnu` and the MinGW-w64 C
# compiler (Debian: apt-get install gcc-mingw-w64-x86-64) for the bundled SQLite and the icon, and
# `zip` (or python3).
set -euo pipefail

cd "$(dirname "$0")/.."

TARGET=x86_64-pc-windows-gnu

# `cargo pkgid` prints e.g. path+file:///src/stopgap#0.1.0 or ...#stopgap@0.1.0.
pkgid=$(cargo pkgid --quiet --locked)
version=${pkgid##*[#@]}
name="stopgap-${version}-windows-x64"
stage="dist/${name}"
zip_path="dist/${name}.zip"

cargo build --release --locked --target "$TARGET"

rm -rf "$stage" "$zip_path"
mkdir -p "$stage"
cp "target/${TARGET}/release/stopgap.exe" "$stage/stopgap.exe"
# Built into the .exe too; this copy is a starting point for the lab's own (Settings imports it).
cp assets/catalogue.toml "$stage/catalogue.toml"
# CRLF line endings for Notepad on older Windows 10 (the `sed` leaves existing CRLFs alone).
sed 's/\r*$/\r/' README.md >"$stage/README.txt"
sed 's/\r*$/\r/' LICENSE >"$stage/LICENSE.txt"

# The zip holds one folder, so unzipping never scatters files into the current folder.
if command -v zip >/dev/null; then
    (cd dist && zip -q -r -X "${name}.zip" "$name")
elif command -v python3 >/dev/null; then
    (cd dist && python3 -m zipfile -c "${name}.zip" "$name")
else
    echo "package-windows.sh: needs zip or python3 (Debian: apt-get install zip)" >&2
    exit 1
fi

echo "$zip_path"
sha256sum "$zip_path"
