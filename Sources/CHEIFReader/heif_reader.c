#include "heif_reader.h"

#include <libheif/heif.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t initialised = PTHREAD_ONCE_INIT;

static void initialise(void) { heif_init(NULL); }

int intake_heif_can_decode_hevc(void) {
    pthread_once(&initialised, initialise);
    return heif_have_decoder_for_format(heif_compression_HEVC);
}

int intake_heif_can_decode_av1(void) {
    pthread_once(&initialised, initialise);
    return heif_have_decoder_for_format(heif_compression_AV1);
}

/// The context and its primary image's handle, or an error in `error`.
static int open_primary(const uint8_t *data, size_t length, uint32_t max_side, struct heif_context **context,
                        struct heif_image_handle **handle, char error[256]) {
    pthread_once(&initialised, initialise);
    *handle = NULL;
    *context = heif_context_alloc();
    if (!*context) {
        snprintf(error, 256, "out of memory for a HEIF context");
        return -1;
    }
    heif_context_set_maximum_image_size_limit(*context, (int)(max_side > 0x7fffffff ? 0x7fffffff : max_side));
    struct heif_error status = heif_context_read_from_memory_without_copy(*context, data, length, NULL);
    if (status.code == heif_error_Ok) status = heif_context_get_primary_image_handle(*context, handle);
    if (status.code != heif_error_Ok) {
        snprintf(error, 256, "HEIF unreadable: %s", status.message ? status.message : "unknown error");
        heif_context_free(*context);
        *context = NULL;
        *handle = NULL;
        return -1;
    }
    return 0;
}

/// The coded size (before the file's crop and rotation), which is what the decoder allocates: a
/// file may crop a huge picture to a tiny one, so the limit is held against this too.
static int coded_size_fits(struct heif_image_handle *handle, uint64_t max_pixels) {
    int w = heif_image_handle_get_ispe_width(handle), h = heif_image_handle_get_ispe_height(handle);
    return w >= 0 && h >= 0 && (uint64_t)w * (uint64_t)h <= max_pixels;
}

/// Whether a grid's or overlay's declared canvas, which libheif allocates whatever the primary's
/// `ispe` says, is within the limits; fills `error` when it is not.
static int canvas_fits(const uint8_t *data, size_t length, uint32_t max_side, uint64_t max_pixels, char error[256]) {
    uint64_t width = 0, height = 0;
    char kind[5] = {0};
    int found = intake_heif_declared_canvas(data, length, &width, &height, kind);
    if (found < 0) {
        snprintf(error, 256, "HEIF's %s image has no readable description of its canvas", kind);
        return 0;
    }
    if (found == 1 && (width == 0 || height == 0 || width > max_side || height > max_side || width * height > max_pixels)) {
        snprintf(error, 256, "HEIF's %s declares a canvas of %llux%llu, over the size limits", strcmp(kind, "grid") == 0 ? "grid" : "overlay",
                 (unsigned long long)width, (unsigned long long)height);
        return 0;
    }
    return 1;
}

int intake_heif_probe(const uint8_t *data, size_t length, uint32_t max_side, uint64_t max_pixels, uint32_t *width,
                      uint32_t *height, char error[256]) {
    struct heif_context *context;
    struct heif_image_handle *handle;
    if (open_primary(data, length, max_side, &context, &handle, error) != 0) return -1;
    if (!canvas_fits(data, length, max_side, max_pixels, error)) {
        heif_image_handle_release(handle);
        heif_context_free(context);
        return -1;
    }
    if (!coded_size_fits(handle, max_pixels)) {
        snprintf(error, 256, "HEIF's coded image is over the pixel limit (%dx%d before its crop)",
                 heif_image_handle_get_ispe_width(handle), heif_image_handle_get_ispe_height(handle));
        heif_image_handle_release(handle);
        heif_context_free(context);
        return -1;
    }
    int w = heif_image_handle_get_width(handle), h = heif_image_handle_get_height(handle);
    heif_image_handle_release(handle);
    heif_context_free(context);
    *width = w > 0 ? (uint32_t)w : 0;
    *height = h > 0 ? (uint32_t)h : 0;
    return 0;
}

/// A copy of the first metadata block of `type` (and, when given, `content_type`), or NULL.
static uint8_t *copy_metadata(struct heif_image_handle *handle, const char *type, const char *content_type,
                              size_t *length) {
    *length = 0;
    heif_item_id ids[8];
    int count = heif_image_handle_get_list_of_metadata_block_IDs(handle, type, ids, 8);
    for (int i = 0; i < count; i++) {
        const char *content = heif_image_handle_get_metadata_content_type(handle, ids[i]);
        if (content_type && (!content || strcmp(content, content_type) != 0)) continue;
        size_t size = heif_image_handle_get_metadata_size(handle, ids[i]);
        if (size == 0 || size > (16u << 20)) continue;
        uint8_t *block = malloc(size);
        if (!block) return NULL;
        if (heif_image_handle_get_metadata(handle, ids[i], block).code != heif_error_Ok) {
            free(block);
            continue;
        }
        *length = size;
        return block;
    }
    return NULL;
}

/// HEIF's Exif block starts with a 4-byte big-endian offset from its end to the TIFF header
/// (usually past an "Exif\0\0"): the TIFF bytes alone are kept.
static uint8_t *tiff_of_exif_block(uint8_t *block, size_t *length) {
    if (!block || *length < 4) {
        free(block);
        *length = 0;
        return NULL;
    }
    uint32_t skip = (uint32_t)block[0] << 24 | (uint32_t)block[1] << 16 | (uint32_t)block[2] << 8 | block[3];
    size_t start = 4 + (size_t)skip;
    int tiff = (uint64_t)skip + 4 + 8 <= *length &&
               (memcmp(block + start, "II*\0", 4) == 0 || memcmp(block + start, "MM\0*", 4) == 0);
    if (!tiff) {
        free(block);
        *length = 0;
        return NULL;
    }
    memmove(block, block + start, *length - start);
    *length -= start;
    return block;
}

static int fail(intake_heif_image *out, const char *what, const char *cause) {
    snprintf(out->error, sizeof out->error, "%s%s%s", what, cause && cause[0] ? ": " : "", cause ? cause : "");
    intake_heif_release(out);
    return -1;
}

int intake_heif_decode(const uint8_t *data, size_t length, uint32_t max_side, uint64_t max_pixels,
                       intake_heif_image *out) {
    memset(out, 0, sizeof *out);
    struct heif_context *context;
    struct heif_image_handle *handle;
    if (open_primary(data, length, max_side, &context, &handle, out->error) != 0) return -1;
    int width = heif_image_handle_get_width(handle), height = heif_image_handle_get_height(handle);
    if (width <= 0 || height <= 0) {
        heif_image_handle_release(handle);
        heif_context_free(context);
        return fail(out, "HEIF declares an empty image", NULL);
    }
    if ((uint64_t)width * (uint64_t)height > max_pixels || !coded_size_fits(handle, max_pixels)) {
        heif_image_handle_release(handle);
        heif_context_free(context);
        return fail(out, "HEIF image over the pixel limit", NULL);
    }
    char canvas_error[256];
    if (!canvas_fits(data, length, max_side, max_pixels, canvas_error)) {
        heif_image_handle_release(handle);
        heif_context_free(context);
        return fail(out, canvas_error, NULL);
    }
    out->has_alpha = heif_image_handle_has_alpha_channel(handle);
    out->bit_depth = heif_image_handle_get_luma_bits_per_pixel(handle);
    out->image_count = heif_context_get_number_of_top_level_images(context);

    struct heif_decoding_options *options = heif_decoding_options_alloc();
    if (options) options->convert_hdr_to_8bit = 1;
    struct heif_image *image = NULL;
    enum heif_chroma chroma = out->has_alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB;
    struct heif_error status = heif_decode_image(handle, &image, heif_colorspace_RGB, chroma, options);
    heif_decoding_options_free(options);
    if (status.code != heif_error_Ok) {
        char cause[200];
        snprintf(cause, sizeof cause, "%s", status.message ? status.message : "unknown error");
        heif_image_handle_release(handle);
        heif_context_free(context);
        return fail(out, "HEIF image could not be decoded", cause);
    }
    int stride = 0;
    const uint8_t *plane = heif_image_get_plane_readonly(image, heif_channel_interleaved, &stride);
    int decoded_width = heif_image_get_width(image, heif_channel_interleaved);
    int decoded_height = heif_image_get_height(image, heif_channel_interleaved);
    uint8_t *pixels = NULL;
    if (plane && decoded_width > 0 && decoded_height > 0 && (uint64_t)decoded_width * decoded_height <= max_pixels) {
        pixels = malloc((size_t)decoded_width * decoded_height * 3);
    }
    if (!pixels) {
        heif_image_release(image);
        heif_image_handle_release(handle);
        heif_context_free(context);
        return fail(out, !plane ? "HEIF decoder gave no pixels"
                         : (uint64_t)decoded_width * decoded_height > max_pixels ? "HEIF decoded to more pixels than the limit"
                                                                                 : "out of memory for the HEIF image", NULL);
    }
    int channels = out->has_alpha ? 4 : 3;
    int premultiplied = out->has_alpha && heif_image_is_premultiplied_alpha(image);
    for (int y = 0; y < decoded_height; y++) {
        const uint8_t *row = plane + (size_t)y * (size_t)stride;
        uint8_t *target = pixels + (size_t)y * decoded_width * 3;
        for (int x = 0; x < decoded_width; x++) {
            const uint8_t *source = row + (size_t)x * channels;
            unsigned alpha = channels == 4 ? source[3] : 255;
            for (int c = 0; c < 3; c++) {
                // Over white: straight alpha weighs the colour; premultiplied has it weighed already.
                unsigned value = premultiplied ? source[c] + (255 - alpha) : (source[c] * alpha + 255 * (255 - alpha) + 127) / 255;
                target[x * 3 + c] = (uint8_t)(value > 255 ? 255 : value);
            }
        }
    }
    heif_image_release(image);
    out->pixels = pixels;
    out->width = (uint32_t)decoded_width;
    out->height = (uint32_t)decoded_height;
    out->exif = tiff_of_exif_block(copy_metadata(handle, "Exif", NULL, &out->exif_length), &out->exif_length);
    out->xmp = copy_metadata(handle, "mime", "application/rdf+xml", &out->xmp_length);
    heif_image_handle_release(handle);
    heif_context_free(context);
    return 0;
}

void intake_heif_release(intake_heif_image *image) {
    free(image->pixels);
    free(image->exif);
    free(image->xmp);
    image->pixels = image->exif = image->xmp = NULL;
}
