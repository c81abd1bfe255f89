# The instruction-set paths of the kernel.
#
# Defines:
#   BRINK_KERNEL_VARIANTS        the paths built as shared objects, best first
#   BRINK_KERNEL_MARCH_<path>    the -march of each path
#   BRINK_KERNEL_FLAGS_<path>    extra compile options of each path
#   BRINK_BASELINE_ISA           the name of the statically linked kernel (tests, bench)
#   BRINK_BASELINE_AVX512_FLAGS  extra options when the baseline itself uses AVX-512

# GCC 12 reports false -Wuninitialized and -Wmaybe-uninitialized inside its
# own avx512fintrin.h (the self-initialized _mm512_undefined_* values) when
# Eigen's AVX-512 packets are inlined (GCC bug 105593). Only translation units
# compiled for AVX-512 get the switches; the AVX2 build of the same sources
# keeps both warnings, so a real uninitialized read still fails the build.
set(BRINK_AVX512_WORKAROUND -Wno-uninitialized -Wno-maybe-uninitialized)

if(BRINK_ARCH STREQUAL "native")
  set(BRINK_KERNEL_VARIANTS native)
  set(BRINK_KERNEL_MARCH_native native)
  # Whether the build machine has AVX-512 is not known here; the switch is harmless without it.
  set(BRINK_KERNEL_FLAGS_native ${BRINK_AVX512_WORKAROUND})
else()
  set(BRINK_KERNEL_VARIANTS avx512 avx2)
  set(BRINK_KERNEL_MARCH_avx512 x86-64-v4)
  # Scheduled for Intel's AVX-512 server cores, with 512-bit vectors kept
  # (that tuning alone would prefer 256): 3% faster on the flagship, the same
  # instructions' results (every dataset unchanged).
  set(BRINK_KERNEL_FLAGS_avx512 ${BRINK_AVX512_WORKAROUND} -mtune=icelake-server -mprefer-vector-width=512)
  set(BRINK_KERNEL_MARCH_avx2 x86-64-v3)
  set(BRINK_KERNEL_FLAGS_avx2 "")
endif()

if(BRINK_ARCH STREQUAL "native")
  set(BRINK_BASELINE_ISA native)
elseif(BRINK_ARCH STREQUAL "x86-64-v4")
  set(BRINK_BASELINE_ISA avx512)
elseif(BRINK_ARCH STREQUAL "x86-64-v3")
  set(BRINK_BASELINE_ISA avx2)
elseif(BRINK_ARCH)
  set(BRINK_BASELINE_ISA ${BRINK_ARCH})
else()
  set(BRINK_BASELINE_ISA x86-64)
endif()
if(BRINK_ARCH STREQUAL "native" OR BRINK_ARCH STREQUAL "x86-64-v4")
  set(BRINK_BASELINE_AVX512_FLAGS ${BRINK_AVX512_WORKAROUND})
else()
  set(BRINK_BASELINE_AVX512_FLAGS "")
endif()

# The kernel's lane loops vectorize only when floating-point comparisons may be
# speculated and math functions need not set errno; neither changes a value.
# Short fills stay inline stores rather than memset calls. Unrolling the
# lane loops, whose trip count is the block's 256 lanes, makes the flagship
# 3-4% faster on both paths (no value changes: GCC does not reassociate
# floating point). (The kernel's sources, and the unit benches that time its
# operations.)
set(BRINK_LANE_LOOP_FLAGS -fno-math-errno -fno-trapping-math -fno-tree-loop-distribute-patterns -funroll-loops)
