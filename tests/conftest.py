"""Session-wide test settings."""
import atexit
import os
import shutil
import tempfile

# torch.compile's CPU kernels are cached on disk (/tmp/torchinductor_<user>) under a key that leaves out
# ATEN_CPU_CAPABILITY: kernels built in a run with AVX-512 and reused in an AVX2-restricted one computed NaN
# (torch 2.13). Each test session compiles into a folder of its own.
_inductor_cache = tempfile.mkdtemp(prefix="vddlib-inductor-")
os.environ["TORCHINDUCTOR_CACHE_DIR"] = _inductor_cache
atexit.register(shutil.rmtree, _inductor_cache, ignore_errors=True)
