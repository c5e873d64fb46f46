#!/usr/bin/env bash
# The next GPU check, prepared: where the 8-worker plateau of benchmarks/gpu_parallel.py comes from.
#   bash benchmarks/gpu_scaling.sh OUTDIR            (about 9 minutes on an H200; GPU_SCALING_ARGS=--tiny: CPU check)
# 1. 1, 8 and 12 workers as they are -> OUTDIR/plain.json (with each trial's train / eval seconds)
# 2. if CUDA MPS is on the machine, 1 and 8 workers under an MPS daemon -> OUTDIR/mps.json (MPS lets the kernels of
#    separate processes share the GPU at once instead of time-slicing; if 8 workers gain under it, the plateau is
#    the GPU's time-slicing, otherwise the CPU side)
# Wheels the GPU image lacks travel in .whl/ as for benchmarks/gpu_check.sh.
set -u
out=${1:?usage: bash benchmarks/gpu_scaling.sh OUTDIR}
extra=${GPU_SCALING_ARGS:-}
mkdir -p "$out"
# shellcheck source=benchmarks/device_env.sh
. benchmarks/device_env.sh
# shellcheck disable=SC2086
timeout 330 python3 benchmarks/gpu_parallel.py --workers 1,8,12 --deadline 200 $extra --out "$out/plain.json" \
  > "$out/plain.log" 2>&1
echo "plain exit $?" >> "$out/plain.log"
mps=$(command -v nvidia-cuda-mps-control || true)
if [ -z "$mps" ] && [ -x /usr/local/nvidia/bin/nvidia-cuda-mps-control ]; then
  mps=/usr/local/nvidia/bin/nvidia-cuda-mps-control
fi
if [ -n "$mps" ]; then
  pipes=$(mktemp -d)
  export CUDA_MPS_PIPE_DIRECTORY=$pipes/pipe CUDA_MPS_LOG_DIRECTORY=$pipes/log
  mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
  if "$mps" -d; then
    # shellcheck disable=SC2086
    timeout 200 python3 benchmarks/gpu_parallel.py --workers 1,8 --deadline 120 $extra --out "$out/mps.json" \
      > "$out/mps.log" 2>&1
    echo "mps exit $?" >> "$out/mps.log"
    echo quit | "$mps"
  else
    echo "the MPS daemon did not start" > "$out/mps.log"
  fi
else
  echo "no nvidia-cuda-mps-control on this machine: MPS not tried" > "$out/mps.log"
fi
tail -n 12 "$out/plain.log" "$out/mps.log"
