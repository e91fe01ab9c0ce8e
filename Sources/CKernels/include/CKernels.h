#ifndef INTAKE_CKERNELS_H
#define INTAKE_CKERNELS_H

#include <stdbool.h>

/// Whether this processor and its kernel run AVX instructions (asked once, then remembered).
bool intake_has_avx(void);

/// The dial and digit networks' 3×3 convolution with ReLU (channels last, zero padding,
/// `outputs` a multiple of 16), in 256-bit AVX registers where the Swift code has SSE's 128.
/// Every output is the same product-then-sum, in the same order, as `DigitNetwork`'s own loop:
/// AVX without FMA rounds each step as SSE does, so the results are the same to the last bit.
/// Only to be called when `intake_has_avx()`.
void intake_convolution3x3_avx(const float *input, int height, int width, int inputs, const float *weights,
                               const float *bias, float *output, int outputs);

#endif
