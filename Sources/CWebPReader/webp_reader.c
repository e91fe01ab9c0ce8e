#include "webp_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <webp/decode.h>
#include <webp/demux.h>

int intake_webp_probe(const uint8_t *data, size_t length, uint32_t *width, uint32_t *height) {
    WebPBitstreamFeatures features;
    if (WebPGetFeatures(data, length, &features) != VP8_STATUS_OK) return -1;
    *width = (uint32_t)features.width;
    *height = (uint32_t)features.height;
    return 0;
}

static int fail(intake_webp_image *out, WebPDemuxer *demuxer, const char *what) {
    snprintf(out->error, sizeof out->error, "%s", what);
    if (demuxer) WebPDemuxDelete(demuxer);
    intake_webp_release(out);
    return -1;
}

/// A copy of a metadata chunk, or NULL. EXIF chunks written by some tools keep JPEG's
/// "Exif\0\0" before the TIFF header; it is dropped so that the TIFF header comes first.
static uint8_t *copy_chunk(WebPDemuxer *demuxer, const char *fourcc, size_t *length) {
    WebPChunkIterator chunk;
    *length = 0;
    if (!WebPDemuxGetChunk(demuxer, fourcc, 1, &chunk)) return NULL;
    const uint8_t *bytes = chunk.chunk.bytes;
    size_t size = chunk.chunk.size;
    if (size >= 6 && memcmp(bytes, "Exif\0\0", 6) == 0) {
        bytes += 6;
        size -= 6;
    }
    uint8_t *copy = size ? malloc(size) : NULL;
    if (copy) {
        memcpy(copy, bytes, size);
        *length = size;
    }
    WebPDemuxReleaseChunkIterator(&chunk);
    return copy;
}

int intake_webp_decode(const uint8_t *data, size_t length, uint64_t max_pixels, intake_webp_image *out) {
    memset(out, 0, sizeof *out);
    WebPData input = {data, length};
    WebPDemuxState state;
    WebPDemuxer *demuxer = WebPDemuxPartial(&input, &state);
    if (!demuxer) return fail(out, NULL, "WebP unreadable: its RIFF container is damaged");
    if (state != WEBP_DEMUX_DONE) return fail(out, demuxer, "WebP truncated: the file ends inside its container");
    uint32_t width = WebPDemuxGetI(demuxer, WEBP_FF_CANVAS_WIDTH), height = WebPDemuxGetI(demuxer, WEBP_FF_CANVAS_HEIGHT);
    uint32_t flags = WebPDemuxGetI(demuxer, WEBP_FF_FORMAT_FLAGS);
    if (width == 0 || height == 0) return fail(out, demuxer, "WebP declares an empty canvas");
    if ((uint64_t)width * height > max_pixels) return fail(out, demuxer, "WebP canvas over the pixel limit");
    out->animated = (flags & ANIMATION_FLAG) && WebPDemuxGetI(demuxer, WEBP_FF_FRAME_COUNT) > 1;

    WebPIterator frame;
    if (!WebPDemuxGetFrame(demuxer, 1, &frame)) return fail(out, demuxer, "WebP holds no image");
    WebPBitstreamFeatures features;
    if (WebPGetFeatures(frame.fragment.bytes, frame.fragment.size, &features) != VP8_STATUS_OK) {
        WebPDemuxReleaseIterator(&frame);
        return fail(out, demuxer, "WebP's first frame has a damaged header");
    }
    out->lossless = features.format == 2;
    int frame_width = 0, frame_height = 0;
    uint8_t *rgba = WebPDecodeRGBA(frame.fragment.bytes, frame.fragment.size, &frame_width, &frame_height);
    int x0 = frame.x_offset, y0 = frame.y_offset;
    WebPDemuxReleaseIterator(&frame);
    if (!rgba) return fail(out, demuxer, "WebP image data damaged or truncated");

    uint8_t *pixels = malloc((size_t)width * height * 3);
    if (!pixels) {
        WebPFree(rgba);
        return fail(out, demuxer, "out of memory for the WebP's canvas");
    }
    memset(pixels, 255, (size_t)width * height * 3);  // uncovered canvas: white, as transparency is
    int alpha_seen = 0;
    for (int row = 0; row < frame_height; row++) {
        uint32_t y = (uint32_t)(y0 + row);
        if (y >= height) break;
        for (int column = 0; column < frame_width; column++) {
            uint32_t x = (uint32_t)(x0 + column);
            if (x >= width) break;
            const uint8_t *source = rgba + ((size_t)row * frame_width + column) * 4;
            uint8_t *pixel = pixels + ((size_t)y * width + x) * 3;
            unsigned alpha = source[3];
            alpha_seen |= alpha != 255;
            // Straight (not premultiplied) alpha over white.
            for (int c = 0; c < 3; c++) pixel[c] = (uint8_t)((source[c] * alpha + 255 * (255 - alpha) + 127) / 255);
        }
    }
    WebPFree(rgba);
    out->pixels = pixels;
    out->width = width;
    out->height = height;
    out->has_alpha = (flags & ALPHA_FLAG) || alpha_seen;
    if (flags & EXIF_FLAG) out->exif = copy_chunk(demuxer, "EXIF", &out->exif_length);
    if (flags & XMP_FLAG) out->xmp = copy_chunk(demuxer, "XMP ", &out->xmp_length);
    WebPDemuxDelete(demuxer);
    return 0;
}

void intake_webp_release(intake_webp_image *image) {
    free(image->pixels);
    free(image->exif);
    free(image->xmp);
    image->pixels = image->exif = image->xmp = NULL;
}
