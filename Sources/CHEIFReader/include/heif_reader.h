#ifndef INTAKE_HEIF_READER_H
#define INTAKE_HEIF_READER_H

#include <stddef.h>
#include <stdint.h>

/// A HEIF's (HEIC's, AVIF's) primary image, with the file's rotation, mirroring and cropping
/// applied by libheif (HEIF's own transformations are authoritative; its EXIF orientation must
/// not be applied again): 8-bit RGB, alpha over white.
typedef struct {
    uint8_t *pixels;          /* width * height * 3 bytes, free with intake_heif_release */
    uint32_t width;
    uint32_t height;
    int has_alpha;
    int bit_depth;            /* of the coded image (8, 10, 12) */
    int image_count;          /* top-level images in the file (a burst, a live photo, …) */
    uint8_t *exif;            /* the Exif block's TIFF bytes, or NULL */
    size_t exif_length;
    uint8_t *xmp;             /* the XMP block, or NULL */
    size_t xmp_length;
    char error[256];          /* set when the result is not 0 */
} intake_heif_image;

/// Whether this machine's libheif can decode HEVC (HEIC) and AV1 (AVIF) images.
int intake_heif_can_decode_hevc(void);
int intake_heif_can_decode_av1(void);

/// The primary image's size (after its transformations), from the file's boxes alone; sides
/// over `max_side`, and a coded image (before its crop) over `max_pixels`, are refused.
/// Returns 0 on success; fills `error` otherwise.
int intake_heif_probe(const uint8_t *data, size_t length, uint32_t max_side, uint64_t max_pixels, uint32_t *width,
                      uint32_t *height, char error[256]);

/// Decodes the primary image, refusing one over `max_side` or `max_pixels` (shown, or coded
/// before its crop) before decoding.
/// Returns 0 on success; on failure `error` says why and nothing is left allocated.
int intake_heif_decode(const uint8_t *data, size_t length, uint32_t max_side, uint64_t max_pixels,
                       intake_heif_image *out);

void intake_heif_release(intake_heif_image *image);

/// The canvas the primary image declares when it is a grid of tiles or an overlay, read from the
/// file's boxes: 1 with `width`, `height` and `kind` ("grid", "iovl") set; 0 when the primary is
/// a coded image (or the file says too little to tell); -1 when it is a grid or overlay whose
/// description cannot be read.
int intake_heif_declared_canvas(const uint8_t *bytes, size_t length, uint64_t *width, uint64_t *height, char kind[5]);

#endif
