// The meter's crop sampler (see `BoxSampler`): a box of the reference frame taken from the photo
// through a plane transform, bilinear. The same operations in the same order as the Swift loop it
// replaces (no FMA on baseline x86-64), so every crop, and so every reading, is the same to the
// last bit; here the loop runs without Swift's per-pixel checks, and the transform's divisions are
// worked out for a whole row first, so that they overlap.

#include "CKernels.h"

#include <math.h>

/// Swift's `floorIndex`: ⌊value⌋ for a value already known to be within a picture's bounds.
static inline ptrdiff_t floor_index(double value) {
    const ptrdiff_t truncated = (ptrdiff_t)value;
    return (double)truncated > value ? truncated - 1 : truncated;
}

static inline uint8_t rounded_byte(float value) {
    // Swift's `UInt8(min(255, value + 0.5))`: the value is never negative.
    const float v = value + 0.5f;
    return (uint8_t)(v < 255.0f ? v : 255.0f);
}

void intake_box_sample(const uint8_t *source, int sourceWidth, int sourceHeight, const double *m, int boxX, int boxY,
                       int width, int height, double *scratch, uint8_t *out) {
    double *sampleX = scratch, *sampleY = scratch + width;
    const double right = (double)sourceWidth, bottomEdge = (double)sourceHeight;
    for (int y = 0; y < height; y++) {
        const double py = (double)(boxY + y);
        // `PlaneTransform.apply` for the whole row first: the divisions then overlap.
        for (int x = 0; x < width; x++) {
            const double px = (double)(boxX + x);
            double w = m[6] * px + m[7] * py + m[8];
            if (fabs(w) < 1e-12) w = w < 0 ? -1e-12 : 1e-12;
            sampleX[x] = (m[0] * px + m[1] * py + m[2]) / w;
            sampleY[x] = (m[3] * px + m[4] * py + m[5]) / w;
        }
        for (int x = 0; x < width; x++) {
            const double sx = sampleX[x], sy = sampleY[x];
            uint8_t *target = out + ((ptrdiff_t)y * width + x) * 3;
            // Checked before any conversion to an integer, which a point far outside (or NaN)
            // would overflow. For whole bounds, ⌊s⌋ ≥ −1 exactly when s ≥ −1, and ⌊s⌋ < w when s < w.
            if (!(sx >= -1 && sy >= -1 && sx < right && sy < bottomEdge)) {
                target[0] = target[1] = target[2] = 0;
                continue;
            }
            const ptrdiff_t x0 = floor_index(sx), y0 = floor_index(sy);
            const float wx = (float)(sx - (double)x0), wy = (float)(sy - (double)y0);
            const float w0 = (1 - wx) * (1 - wy), w1 = wx * (1 - wy), w2 = (1 - wx) * wy, w3 = wx * wy;
            if (x0 >= 0 && y0 >= 0 && x0 + 1 < sourceWidth && y0 + 1 < sourceHeight) {
                const uint8_t *top = source + (y0 * sourceWidth + x0) * 3, *under = top + (ptrdiff_t)sourceWidth * 3;
                for (int channel = 0; channel < 3; channel++) {
                    target[channel] = rounded_byte(w0 * (float)top[channel] + w1 * (float)top[channel + 3] +
                                                   w2 * (float)under[channel] + w3 * (float)under[channel + 3]);
                }
            } else {
                // At the photo's edge: corners outside it count as black, like everything outside.
                for (int channel = 0; channel < 3; channel++) {
                    float corner[4];
                    for (int k = 0; k < 4; k++) {
                        const ptrdiff_t cx = x0 + (k & 1), cy = y0 + (k >> 1);
                        corner[k] = cx >= 0 && cy >= 0 && cx < sourceWidth && cy < sourceHeight
                                        ? (float)source[(cy * sourceWidth + cx) * 3 + channel]
                                        : 0.0f;
                    }
                    target[channel] = rounded_byte(w0 * corner[0] + w1 * corner[1] + w2 * corner[2] + w3 * corner[3]);
                }
            }
        }
    }
}
