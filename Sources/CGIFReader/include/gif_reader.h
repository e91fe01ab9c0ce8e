#ifndef INTAKE_GIF_READER_H
#define INTAKE_GIF_READER_H

#include <stddef.h>
#include <stdint.h>

/// A GIF's first frame on its logical screen: 8-bit RGB, transparent and uncovered pixels white.
typedef struct {
    uint8_t *pixels;         /* width * height * 3 bytes, free with intake_gif_release */
    uint32_t width;          /* the logical screen's */
    uint32_t height;
    int frames_seen;         /* 1, or 2 when another frame follows the first (an animation) */
    int interlaced;
    int transparent;         /* the first frame names a transparent colour */
    char error[256];         /* set when the result is not 0 */
} intake_gif_image;

/// Decodes the first frame of a GIF held in memory, refusing a logical screen over `max_pixels`
/// before allocating it. Returns 0 on success; on failure `error` says why and nothing is left
/// allocated.
int intake_gif_decode(const uint8_t *data, size_t length, uint64_t max_pixels, intake_gif_image *out);

void intake_gif_release(intake_gif_image *image);

#endif
