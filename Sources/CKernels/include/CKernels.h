#ifndef INTAKE_CKERNELS_H
#define INTAKE_CKERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

/// FAST's full test of one centre: which of the 16 circle pixels (`centre[offsets[k]]`, k = 0…15)
/// are brighter than `bright` (bits 0–15) and which darker than `dark` (bits 16–31), compared as
/// Swift's `>` and `<` do (a NaN is neither). Four pixels to a compare and `movemask` where the
/// processor has SSE2 (every x86-64 does), where a loop of scalar compares spends about five
/// instructions a pixel on building the bits. Inline, so that the caller's loop keeps it.
static inline uint32_t intake_fast_circle_bits(const float *centre, const ptrdiff_t *offsets, float bright, float dark) {
#if defined(__SSE2__)
    const __m128 high = _mm_set1_ps(bright), low = _mm_set1_ps(dark);
    uint32_t brighter = 0, darker = 0;
    for (int k = 0; k < 16; k += 4) {
        const __m128 v = _mm_setr_ps(centre[offsets[k]], centre[offsets[k + 1]], centre[offsets[k + 2]], centre[offsets[k + 3]]);
        brighter |= (uint32_t)_mm_movemask_ps(_mm_cmpgt_ps(v, high)) << k;
        darker |= (uint32_t)_mm_movemask_ps(_mm_cmplt_ps(v, low)) << k;
    }
    return brighter | darker << 16;
#else
    uint32_t bits = 0;
    for (int k = 0; k < 16; k++) {
        const float v = centre[offsets[k]];
        bits |= (uint32_t)(v > bright) << k | (uint32_t)(v < dark) << (k + 16);
    }
    return bits;
#endif
}

#endif
