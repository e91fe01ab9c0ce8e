#ifndef INTAKE_CKERNELS_H
#define INTAKE_CKERNELS_H

#include <stdbool.h>
#include <stdint.h>

/// Whether this processor and its kernel run AVX instructions (asked once, then remembered).
bool intake_has_avx(void);

/// The dial and digit networks' 3×3 convolution with ReLU (channels last, zero padding,
/// `outputs` a multiple of 16), in 256-bit AVX registers where the Swift code has SSE's 128.
/// Every output is the same product-then-sum, in the same order, as `DigitNetwork`'s own loop:
/// AVX without FMA rounds each step as SSE does, so the results are the same to the last bit.
/// Only to be called when `intake_has_avx()`.
void intake_convolution3x3_avx(const float *input, int height, int width, int inputs, const float *weights,
                               const float *bias, float *output, int outputs);

/// Whether this processor has the POPCNT instruction (asked once, then remembered).
bool intake_has_popcnt(void);

/// For each of `queryCount` 256-bit descriptors (four words each) in `queries`, the nearest of
/// `referenceCount` in `references` by Hamming distance, as `LandmarkMatching.pairs` finds it:
/// `bestIndex` (-1 when there are none), `best` and `second` (the nearest distance and the next,
/// INT32_MAX when missing); the first of equals wins. With POPCNT, where Swift's baseline build
/// counts bits in a dozen instructions. Only to be called when `intake_has_popcnt()`.
void intake_hamming_nearest_popcnt(const uint64_t *queries, int queryCount, const uint64_t *references, int referenceCount,
                                   int32_t *bestIndex, int32_t *best, int32_t *second);

#endif
