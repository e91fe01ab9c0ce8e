#ifndef INTAKE_TIFF_READER_H
#define INTAKE_TIFF_READER_H

#include <stddef.h>
#include <stdint.h>

/// A TIFF's first page, as stored (its Orientation tag not applied): 8-bit RGB, alpha over white.
typedef struct {
    uint8_t *pixels;          /* width * height * 3 bytes, free with intake_tiff_release */
    uint32_t width;
    uint32_t height;
    uint16_t orientation;     /* the Orientation tag, 0 when absent */
    uint16_t bits_per_sample;
    uint16_t samples_per_pixel;
    uint16_t photometric;     /* 0/1 grey, 2 RGB, 3 palette, 5 CMYK, 6 YCbCr, … */
    uint16_t compression;
    int has_alpha;
    int more_pages;           /* another page follows the first, which alone is kept */
    uint64_t first_directory; /* the offset of the first IFD, where its EXIF tags start */
    char error[256];          /* set when the result is not 0 */
} intake_tiff_image;

/// Opens the first page and reads its size, refusing camera raw files (DNG and other
/// TIFF-based raws, whose first page is only a preview). Returns 0 on success; fills `error`
/// otherwise.
int intake_tiff_probe(const uint8_t *data, size_t length, uint32_t *width, uint32_t *height, char error[256]);

/// Decodes the first page of a TIFF held in memory, refusing one over `max_pixels` before its
/// raster is allocated; no single allocation of libtiff's may exceed `max_allocation` either
/// (a compressed strip that claims gigabytes). Returns 0 on success; on failure `error` says why
/// and nothing is left allocated.
int intake_tiff_decode(const uint8_t *data, size_t length, uint64_t max_pixels, uint64_t max_allocation,
                       intake_tiff_image *out);

void intake_tiff_release(intake_tiff_image *image);

#endif
