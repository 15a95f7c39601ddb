#!/usr/bin/env bash
# The Context Encoder's CUDA paths on a GPU machine, in one go: the plugin's tests (device auto picks
# CUDA there), the training-step benchmark (plain fp32 loop vs the trainer in fp32 and bf16 autocast)
# and the main command with short training budgets. Figures land in $OUT (default reports/cuda).
#
#     [MINUTES=1] [TESTS=plugins/context_encoder/tests] bash benchmarks/ce_cuda_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-reports/cuda}
MINUTES=${MINUTES:-1}
export PYTHONUNBUFFERED=1 INPAINTBENCH_HOME=${INPAINTBENCH_HOME:-/tmp/inpaintbench-cuda-home}
mkdir -p "$OUT"

python3 -m pip install -q --no-deps --no-build-isolation --no-index -e . -e plugins/context_encoder || exit 1
nvidia-smi -L
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())" || exit 1

python3 -m pytest -q -p no:cacheprovider ${TESTS:-plugins/context_encoder/tests} >"$OUT/pytest.txt" 2>&1
tail -3 "$OUT/pytest.txt"

python3 benchmarks/ce_train_throughput.py --device cuda --rounds 5 --profile \
    --json "$OUT/throughput.json" >"$OUT/throughput.txt" 2>&1
grep -A4 '"images_per_s_median"\|"speedup_median"\|"matmul_gflops"' "$OUT/throughput.json"

inpaintbench run --model context_encoder --masks center,random --device cuda --minutes "$MINUTES" \
    --metrics psnr,ssim --no-progress --out /tmp/cuda_run
cp /tmp/cuda_run/run.json /tmp/cuda_run/summary.csv "$OUT/"
for mode in center random; do
    cp "$INPAINTBENCH_HOME"/context_encoder-"$mode"-*/losses.csv "$OUT/losses_$mode.csv" 2>/dev/null
done
ls "$INPAINTBENCH_HOME"
