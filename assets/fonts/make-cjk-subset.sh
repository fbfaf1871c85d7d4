#!/usr/bin/env bash
# Rebuilds NotoSansCJKsc-Regular-subset.otf from Debian's Noto Sans CJK collection.
#
# Needs: apt-get install -y --no-install-recommends fonts-noto-cjk python3-fonttools
# Takes about 30 s. See README.md beside this script for why the subset loses no name character.
set -euo pipefail

cd "$(dirname "$0")"

ttc=/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
full=$(mktemp --suffix=.otf)
trap 'rm -f "$full"' EXIT

# Face 2 of the collection is Noto Sans CJK SC (0 JP, 1 KR, 2 SC, 3 TC, 4 HK).
/usr/bin/python3 - "$ttc" "$full" <<'PY'
import sys
from fontTools.ttLib import TTCollection
face = TTCollection(sys.argv[1]).fonts[2]
assert face["name"].getDebugName(4) == "Noto Sans CJK SC", face["name"].getDebugName(4)
# Keep the upstream modification time, so that the subset is the same file on every run.
face.recalcTimestamp = False
face.save(sys.argv[2])
PY

# Every CJK, kana, Hangul and Bopomofo block (ideographs through Extension B and beyond, as far as
# the font has them), CJK punctuation and the full- and half-width forms. Only the OpenType
# features egui's shaper applies to horizontal text with no language set are kept, so the
# regional (locl: JP, KR, TC, HK) and vertical glyph variants, which egui never reaches, go.
unicodes="U+1100-11FF,U+2E80-2FDF,U+2FF0-2FFF,U+3000-303F,U+3040-309F,U+30A0-30FF,U+3100-312F,\
U+3130-318F,U+3190-319F,U+31A0-31BF,U+31C0-31EF,U+31F0-31FF,U+3200-32FF,U+3300-33FF,U+3400-4DBF,\
U+4E00-9FFF,U+A960-A97F,U+AC00-D7AF,U+D7B0-D7FF,U+F900-FAFF,U+FE30-FE4F,U+FF00-FFEF,U+20000-2FA1F"

/usr/bin/python3 -m fontTools.subset "$full" \
    --unicodes="$unicodes" \
    --layout-features='ccmp,liga,kern,mark,mkmk,ljmo,vjmo,tjmo,calt,clig,rlig' \
    --name-IDs='*' --name-languages='*' --notdef-outline \
    --output-file=NotoSansCJKsc-Regular-subset.otf

ls -l NotoSansCJKsc-Regular-subset.otf
