#!/usr/bin/env bash
# The shipped metastyle model "meta": a light network meta-trained as a
# starting point from which any painting takes a short adaptation.
#
# Data: ../shared/datasets/photos (500 BSDS500 photos, research licence) and
# all 20 paintings of ../shared/datasets/paintings. Nothing of
# ../shared/images is used, so its eight paintings and nine photos are unseen
# by the model: docs/metastyle.md adapts it to them.
#
# Two stages, because meta-training a network from random weights on this
# 2-core CPU gave a start that adapted worse than a fresh network
# (docs/metastyle.md, "How the shipped meta-model was made"):
#   1. pretrain: one cin network learns all 20 paintings, so its shared
#      convolutions learn to paint; its style rows are then averaged;
#   2. meta: MetaStyle's bilevel objective moves that averaged network to a
#      point from which one inner step reaches each painting.
# Checkpoints as they go: stop with Ctrl-C, rerun with RESUME=1.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=../shared
PRETRAIN_STEPS=${PRETRAIN_STEPS:-4000}
META_STEPS=${META_STEPS:-200}
mkdir -p build
# Both stages train with the loss adaptation will use (it is stored in the model).
LOSS=(--network light --style-weight 3 --content-layers relu2_2)

if [ ! -f build/metastyle_pretrain.safetensors ]; then
  resume=()
  if [ "${RESUME:-0}" = 1 ] && [ -f build/metastyle_pretrain.checkpoints/last.pt ]; then
    resume=(--resume build/metastyle_pretrain.checkpoints/last.pt)
  fi
  styletool --seed 0 train --method cin \
    --content-dir "$SHARED/datasets/photos" --style-dir "$SHARED/datasets/paintings" "${LOSS[@]}" \
    --steps "$PRETRAIN_STEPS" --batch-size 2 --image-size 192 --lr 1e-3 --workers 0 --checkpoint-every 250 \
    -o build/metastyle_pretrain.safetensors "${resume[@]}"
fi

resume=()
if [ "${RESUME:-0}" = 1 ] && [ -f build/metastyle_meta.checkpoints/last.pt ]; then
  resume=(--resume build/metastyle_meta.checkpoints/last.pt)
fi
styletool --seed 0 train --method metastyle --model build/metastyle_pretrain.safetensors \
  --content-dir "$SHARED/datasets/photos" --style-dir "$SHARED/datasets/paintings" "${LOSS[@]}" \
  --meta-batch 4 --first-order --fast-weights norm \
  --steps "$META_STEPS" --batch-size 4 --image-size 192 --lr 1e-4 --workers 0 --checkpoint-every 50 \
  -o build/metastyle_meta.safetensors "${resume[@]}"

python recipes/ship.py build/metastyle_meta.safetensors --name meta --recipe recipes/metastyle_meta.sh \
  --summary "A light network meta-trained on 20 paintings; adapts to any painting (--style) in about a minute on a CPU."
