#!/usr/bin/env bash
# A metastyle meta-model for shipping: a light network meta-trained as a
# starting point from which any painting takes a short adaptation.
#
# Data: ../shared/datasets/photos (500 BSDS500 photos, research licence) and
# all 20 paintings of ../shared/datasets/paintings. Nothing of
# ../shared/images is used, so its eight paintings and nine photos are unseen
# by the model: docs/metastyle.md adapts it to them.
#
# First-order meta-gradients at 192 px keep an outer step near 2.5 s on a
# 2-core CPU (second order at 256 px: 9 s), so the run fits in about an hour.
# Checkpoints every 100 steps: stop with Ctrl-C, rerun with RESUME=1.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=../shared
STEPS=${STEPS:-1400}
mkdir -p build
resume=()
if [ "${RESUME:-0}" = 1 ]; then resume=(--resume build/metastyle_meta.checkpoints/last.pt); fi
styletool --seed 0 train --method metastyle \
  --content-dir "$SHARED/datasets/photos" --style-dir "$SHARED/datasets/paintings" \
  --network light --style-weight 2 --content-layers relu2_2 \
  --meta-batch 4 --first-order --fast-weights norm \
  --steps "$STEPS" --batch-size 4 --image-size 192 --lr 1e-3 --lr-schedule step --workers 0 --checkpoint-every 100 \
  -o build/metastyle_meta.safetensors "${resume[@]}"
# Not shipped yet: judged with recipes/evaluate_adaptation.py, this run's start adapts worse than a
# fresh network (docs/metastyle.md, "A CPU-sized meta-model"). Once a run beats the fresh start, ship it:
#   python recipes/ship.py build/metastyle_meta.safetensors --name meta --default --recipe recipes/metastyle_meta.sh --summary "..."
