#!/usr/bin/env bash
# The shipped cin model "paintings": one light network, eight painting styles.
#
# Data: ../shared/datasets/photos (500 BSDS500 photos, research licence) as the
# content set; the eight paintings named below from ../shared/images/style and
# ../shared/datasets/paintings. No photo of ../shared/images/content is used,
# so the gallery in docs/models.md shows photos the model never saw.
#
# Run from the repository root with ../shared beside it. Training writes
# build/cin_paintings.safetensors (and checkpoints beside it: stop with
# Ctrl-C and rerun with RESUME=1 to continue); ship.py then stores it in the
# package as fp16. Time and machine of the shipped run: docs/models.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=../shared
STEPS=${STEPS:-5000}
mkdir -p build
resume=()
if [ "${RESUME:-0}" = 1 ]; then resume=(--resume build/cin_paintings.checkpoints/last.pt); fi
styletool --seed 0 train --method cin \
  --content-dir "$SHARED/datasets/photos" \
  --style "$SHARED/images/style/starry_night.jpg" \
  --style "$SHARED/images/style/the_scream.jpg" \
  --style "$SHARED/images/style/shipwreck.jpg" \
  --style "$SHARED/images/style/woman-with-hat-matisse.jpg" \
  --style "$SHARED/datasets/paintings/wikiart_12.jpg" \
  --style "$SHARED/datasets/paintings/wikiart_22.jpg" \
  --style "$SHARED/datasets/paintings/wikiart_32.jpg" \
  --style "$SHARED/datasets/paintings/wikiart_36.jpg" \
  --network light --style-weight 5 --content-layers relu2_2 --styles-per-step 2 --style-lr-scale 10 \
  --steps "$STEPS" --batch-size 2 --image-size 256 --lr 1e-3 --workers 0 --checkpoint-every 250 \
  -o build/cin_paintings.safetensors "${resume[@]}"
python recipes/ship.py build/cin_paintings.safetensors --name paintings --recipe recipes/cin_paintings.sh \
  --summary "Eight paintings in one light network: starry_night, the_scream, shipwreck, woman-with-hat-matisse, wikiart_12 (mosaic), wikiart_22 (impressionist landscape), wikiart_32 (lake at sunset), wikiart_36 (watercolour road)."
