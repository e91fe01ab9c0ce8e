#ifndef INTAKE_WEBP_READER_H
#define INTAKE_WEBP_READER_H

#include <stddef.h>
#include <stdint.h>

/// A WebP's first frame on its canvas: 8-bit RGB, alpha composited on white.
typedef struct {
    uint8_t *pixels;         /* width * height * 3 bytes, free with intake_webp_release */
    uint32_t width;          /* the canvas's */
    uint32_t height;
    int has_alpha;
    int animated;            /* an animation, of which only the first frame is kept */
    int lossless;            /* the first frame is VP8L */
    uint8_t *exif;           /* the EXIF chunk's TIFF bytes ("Exif\0\0" removed), or NULL */
    size_t exif_length;
    uint8_t *xmp;            /* the XMP chunk, or NULL */
    size_t xmp_length;
    char error[256];         /* set when the result is not 0 */
} intake_webp_image;

/// The canvas's size from the headers alone. Returns 0 on success.
int intake_webp_probe(const uint8_t *data, size_t length, uint32_t *width, uint32_t *height);

/// Decodes the first frame of a WebP held in memory, refusing a canvas over `max_pixels` before
/// allocating it. Returns 0 on success; on failure `error` says why and nothing is left allocated.
int intake_webp_decode(const uint8_t *data, size_t length, uint64_t max_pixels, intake_webp_image *out);

void intake_webp_release(intake_webp_image *image);

#endif
