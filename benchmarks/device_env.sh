# Sourced by the GPU scripts (gpu_check.sh, gpu_scaling.sh) from the repository root: the packages a lent GPU
# image lacks, carried as wheels in .whl/, installed into a temporary folder; autopeft from the checkout itself.
if [ -d .whl ]; then
  site=$(mktemp -d)
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" .whl/*.whl || exit 1
  export PYTHONPATH=$site:$PWD
else
  export PYTHONPATH=$PWD
fi
export PYTHONUNBUFFERED=1
