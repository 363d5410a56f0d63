# Sourced by run_all.sh and run_tests.sh: glibc malloc settings for PyTorch on CPU (a user's own values win).
# Without them every training step hands its large activation buffers back to the kernel and faults them in
# again; keeping them mapped makes an evaluator's test pass ~1.5x and a VST-UNet training ~1.3x faster here
# (benchmarks/cpu_malloc.py). Arithmetic is unchanged: the results are bit-identical.
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-33554432}"      # 32 MiB: buffers below it come from the heap
export MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-68719476736}"  # never trim the heap's top
export MALLOC_TOP_PAD_="${MALLOC_TOP_PAD_:-268435456}"                  # grow it 256 MiB at a time
