#!/usr/bin/env bash
# The scale figures that need the lent device machine (a GPU and 16 cores), in one call of about 5 min:
#   1. the overlap goal where cores are not the limit: benchmarks/eval_pipeline.py on the machine's CPUs;
#   2. evaluation images/s at 512 px on the GPU with several models (`inpaintbench run --device cuda`,
#      the model's time from run.json's timings);
#   3. Context Encoder training images/s with the real loader against synthetic input on the GPU.
# Figures land in $OUT (default reports/scale-device); commit them under benchmarks/results/.
#
#     [N=200] [DEVICE=cuda] [OUT=DIR] bash benchmarks/scale_device_check.sh
#
# DEVICE=cpu runs the same steps without a GPU (to try the script on any machine).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-reports/scale-device}
N=${N:-200}
DEVICE=${DEVICE:-cuda}
PHOTOS=${PHOTOS:-/tmp/scale-photos}
export PYTHONUNBUFFERED=1 INPAINTBENCH_HOME=${INPAINTBENCH_HOME:-/tmp/inpaintbench-scale-home}
mkdir -p "$OUT"

python3 -m pip install -q --no-deps --no-build-isolation --no-index -e . -e plugins/context_encoder || exit 1
echo "cpus: $(nproc)"
[ "$DEVICE" = cpu ] || nvidia-smi -L
python3 benchmarks/photo_folder.py "$N" "$PHOTOS" || exit 1

python3 benchmarks/eval_pipeline.py --n "$N" --data "$PHOTOS" --rounds 3 --json "$OUT/eval_pipeline.json" \
    >"$OUT/eval_pipeline.txt" 2>&1
tail -11 "$OUT/eval_pipeline.txt"

for model in mean_fill opencv_telea opencv_ns; do  # biharmonic: about 2 s an image at 512 px, too slow here
    rm -rf "/tmp/scale512-$model"
    inpaintbench run --model "$model" --masks center,random \
        --metrics psnr,ssim --device "$DEVICE" --image-size 512 --dataset "folder:$PHOTOS" --limit "$N" \
        --no-images --no-references --no-progress --out "/tmp/scale512-$model" >/dev/null
    cp "/tmp/scale512-$model/run.json" "$OUT/run512_$model.json"
    python3 -c "import json, sys; t = json.load(open(sys.argv[1]))['timings']; \
print(sys.argv[2], {k: t[k] for k in ('eval_s', 'metric_s', 'total_s')})" "$OUT/run512_$model.json" "$model"
done

python3 benchmarks/ce_loader.py --device "$DEVICE" --rounds 3 --json "$OUT/ce_loader.json" \
    >"$OUT/ce_loader.txt" 2>&1
tail -8 "$OUT/ce_loader.txt"
