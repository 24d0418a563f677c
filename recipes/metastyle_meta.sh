#!/usr/bin/env bash
# The shipped metastyle model "meta": a light network that paints any painting, with a row predictor.
#
# Data: ../shared/datasets/photos less its 100 "val" photos (500 BSDS500
# photos, research licence) and the 34 paintings of ../shared/datasets
# (paintings/: 20 from WikiArt; styles/: 14 named ones). Nothing of
# ../shared/images is used, so its eight paintings and nine photos are unseen
# by the model: docs/metastyle.md adapts it to them.
#
# Two stages:
#   1. cin: one conditional network learns all 34 paintings and a
#      style-neutral row, exactly as the shipped cin model is trained
#      (recipes/cin_paintings.sh: neutral start, one painting per photo, the
#      loss that judges the saved picture). Its convolutions learn to paint.
#   2. meta: `train --method metastyle --model` that network keeps its
#      convolutions and neutral row and learns a predictor of a painting's
#      row from the painting's feature statistics, on variants of the 34
#      paintings (crops, mirrored, recoloured). Adaptation starts from the
#      predicted row; --steps 0 stops there (a picture at once).
# Checkpoints as they go (CHECKPOINTS, default build/): stop with Ctrl-C, or
# lose the machine, and rerun with RESUME=1 to continue exactly.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=../shared
CIN_STEPS=${CIN_STEPS:-3000}
META_STEPS=${META_STEPS:-1000}
CHECKPOINTS=${CHECKPOINTS:-build}
mkdir -p build
styles=()
for painting in "$SHARED"/datasets/paintings/*.jpg "$SHARED"/datasets/styles/*.jpg; do styles+=(--style "$painting"); done
# The loss of both stages, stored in the model: adaptation uses it too (cin's defaults when the
# shipped meta-model was trained; cin has since moved to style weight 3 with smoothness 0.3).
LOSS=(--network light --normalize relative --style-weight 2 --tv-weight 0 --content-layers relu2_2)
# A constant rate, as when the shipped meta-model was trained (the default is now step).
DATA=(--content-dir "$SHARED/datasets/photos" --exclude 'val_*' --image-size 256 --crop-size 128 --batch-size 8 --workers 0 --lr-schedule constant)

if [ ! -f build/metastyle_cin.safetensors ]; then
  resume=()
  if [ "${RESUME:-0}" = 1 ] && [ -f "$CHECKPOINTS/metastyle_cin.checkpoints/last.pt" ]; then
    resume=(--resume "$CHECKPOINTS/metastyle_cin.checkpoints/last.pt")
  fi
  styletool --seed 0 train --method cin "${DATA[@]}" "${styles[@]}" "${LOSS[@]}" \
    --steps "$CIN_STEPS" --lr 1e-3 --checkpoint-every 500 --checkpoint-dir "$CHECKPOINTS/metastyle_cin.checkpoints" \
    -o build/metastyle_cin.safetensors "${resume[@]}"
fi

resume=()
if [ "${RESUME:-0}" = 1 ] && [ -f "$CHECKPOINTS/metastyle_meta.checkpoints/last.pt" ]; then
  resume=(--resume "$CHECKPOINTS/metastyle_meta.checkpoints/last.pt")
fi
styletool --seed 0 train --method metastyle --model build/metastyle_cin.safetensors "${DATA[@]}" "${styles[@]}" "${LOSS[@]}" \
  --inner-steps 0 --meta-batch 4 --steps "$META_STEPS" --lr 3e-4 \
  --checkpoint-every 250 --checkpoint-dir "$CHECKPOINTS/metastyle_meta.checkpoints" \
  -o build/metastyle_meta.safetensors --overwrite "${resume[@]}"

python recipes/ship.py build/metastyle_meta.safetensors --name meta --recipe recipes/metastyle_meta.sh \
  --data "../shared/datasets/photos less its val_* photos (BSDS500, research licence); the 34 paintings of ../shared/datasets/paintings and ../shared/datasets/styles" \
  --summary "A light network that paints any painting (--style): a picture at once from the painting's predicted style row (--steps 0), a closer one after a short adaptation."
