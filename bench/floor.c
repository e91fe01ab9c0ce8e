/*
 * floor — the speed floor for intake's per-image CPU cost.
 *
 * For each JPEG: TurboJPEG scaled decode (smallest of 1/8,1/4,1/2,1/1 that
 * still covers the 256x256 fit size). For each PNG: libpng's simplified API
 * decodes to 8-bit RGB at full size (PNG has no shrink-on-load), alpha
 * composited on white. Either way, FOUR 256x256 quality-90 4:2:0 encodes
 * follow (intake writes a derivative + rotations). Placement into the
 * 256x256 canvas is a cheap nearest-neighbour copy on white: we want the
 * cost of the codec work that cannot be avoided, not of a good resize.
 *
 * Usage:  floor [-r N] [-o DIR] FILE...
 *   -o DIR  also write each encode to DIR (temporary name, then rename) and
 *           syncfs once at the end, as intake makes its outputs durable: the
 *           floor for a pipeline that must keep what it makes.
 * Output: floor: images=N cpu_ms_per_image=X.XXX peak_rss_mb=Y.Y
 *   images = JPEG and PNG files attempted x rounds; CPU = user+sys of the
 *   processing loop, which reads each file (every contender must read its
 *   input); peak_rss_mb = getrusage's ru_maxrss for the whole process.
 * Files that are neither JPEG nor PNG (by magic bytes) are skipped; skip,
 * error and warning counts go to stderr.
 *
 * Changes from the first version: files are read inside the timed loop into
 * one reused buffer (they used to be read up front, which kept I/O out of the
 * figure and made peak RSS the size of the whole set); PNGs are decoded too,
 * so PNG photos have a floor; peak RSS is printed.
 *
 * Build: cc -O2 -o bench/out/floor bench/floor.c -lturbojpeg -lpng
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

#define BOX 256

/* A growable byte buffer, reused from file to file so the loop does not
 * allocate per image (neither does a well-written pipeline). */
typedef struct { unsigned char *data; size_t size, cap; } Buffer;

enum Kind { OTHER, JPEG, PNG };

static int reserve(Buffer *b, size_t need) {
    if (need <= b->cap) return 1;
    unsigned char *p = realloc(b->data, need);
    if (!p) return 0;
    b->data = p;
    b->cap = need;
    return 1;
}

/* Writes one encode under a temporary name and renames it into place. */
static int write_output(const char *dir, int image, int encode, const unsigned char *data, unsigned long size) {
    char tmp[4096], final[4096];
    snprintf(tmp, sizeof tmp, "%s/.tmp-%d-%d", dir, image, encode);
    snprintf(final, sizeof final, "%s/%d-%d.jpg", dir, image, encode);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return 0;
    int ok = write(fd, data, size) == (ssize_t)size;
    close(fd);
    return ok && rename(tmp, final) == 0;
}

static double cpu_ms(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/* Reads a whole file into b; 0 if it cannot be read. */
static int read_file(const char *path, Buffer *b) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    struct stat st;
    int ok = fstat(fd, &st) == 0 && reserve(b, st.st_size > 0 ? (size_t)st.st_size : 1);
    size_t got = 0;
    while (ok && got < (size_t)st.st_size) {
        ssize_t n = read(fd, b->data + got, st.st_size - got);
        if (n <= 0) ok = 0; else got += n;
    }
    close(fd);
    b->size = got;
    return ok;
}

/* The type from magic bytes, never the name. */
static enum Kind sniff(const Buffer *b) {
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (b->size >= 3 && b->data[0] == 0xFF && b->data[1] == 0xD8 && b->data[2] == 0xFF) return JPEG;
    if (b->size >= 8 && memcmp(b->data, png_sig, 8) == 0) return PNG;
    return OTHER;
}

/* The size that fits w x h inside BOX x BOX without upscaling. */
static void fit(int w, int h, int *tw, int *th) {
    double s = (double)BOX / (w > h ? w : h);
    if (s > 1.0) s = 1.0;
    *tw = (int)(w * s + 0.5);
    *th = (int)(h * s + 0.5);
    if (*tw < 1) *tw = 1;
    if (*th < 1) *th = 1;
}

typedef struct {
    tjhandle dec;
    tjscalingfactor sf[4];   /* factors the library has, smallest first */
    int nsf;
    long errors, warnings;
} Decoder;

/* Decodes a JPEG into pix at the smallest DCT scale covering its fit size. */
static int decode_jpeg(Decoder *d, const Buffer *in, Buffer *pix, int *dw, int *dh) {
    int w, h, sub, cs;
    if (tjDecompressHeader3(d->dec, in->data, in->size, &w, &h, &sub, &cs) != 0 || w <= 0 || h <= 0)
        return 0;
    int tw, th;
    fit(w, h, &tw, &th);
    tjscalingfactor f = {1, 1};
    for (int k = 0; k < d->nsf; k++)
        if (TJSCALED(w, d->sf[k]) >= tw && TJSCALED(h, d->sf[k]) >= th) {
            f = d->sf[k];
            break;
        }
    *dw = TJSCALED(w, f);
    *dh = TJSCALED(h, f);
    if (!reserve(pix, (size_t)*dw * *dh * 3)) return 0;
    if (tjDecompress2(d->dec, in->data, in->size, pix->data, *dw, 0, *dh, TJPF_RGB, TJFLAG_LIMITSCANS) != 0) {
        /* A warning (e.g. truncated data) still yields pixels. */
        if (tjGetErrorCode(d->dec) != TJERR_WARNING) return 0;
        d->warnings++;
    }
    return 1;
}

/* Decodes a PNG into pix as 8-bit RGB, full size, alpha composited on white. */
static int decode_png(const Buffer *in, Buffer *pix, int *dw, int *dh) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, in->data, in->size)) return 0;
    image.format = PNG_FORMAT_RGB;
    static const png_color white = {255, 255, 255};
    if (!reserve(pix, PNG_IMAGE_SIZE(image))) {
        png_image_free(&image);
        return 0;
    }
    if (!png_image_finish_read(&image, &white, pix->data, 0, NULL)) return 0;  /* frees on failure */
    *dw = (int)image.width;
    *dh = (int)image.height;
    return 1;
}

/* Cheap placement: nearest-sample dw x dh pixels to their fit size, centred on white. */
static void place(const unsigned char *pix, int dw, int dh, unsigned char *canvas) {
    int tw, th;
    fit(dw, dh, &tw, &th);
    memset(canvas, 0xFF, BOX * BOX * 3);
    int ox = (BOX - tw) / 2, oy = (BOX - th) / 2;
    for (int y = 0; y < th; y++) {
        const unsigned char *src = pix + (size_t)((long)y * dh / th) * dw * 3;
        unsigned char *dst = canvas + ((size_t)(oy + y) * BOX + ox) * 3;
        for (int x = 0; x < tw; x++) {
            const unsigned char *p = src + (size_t)((long)x * dw / tw) * 3;
            dst[x * 3] = p[0];
            dst[x * 3 + 1] = p[1];
            dst[x * 3 + 2] = p[2];
        }
    }
}

int main(int argc, char **argv) {
    int rounds = 1, opt;
    const char *outdir = NULL;
    while ((opt = getopt(argc, argv, "r:o:")) != -1) {
        if (opt == 'r' && atoi(optarg) > 0) rounds = atoi(optarg);
        else if (opt == 'o') outdir = optarg;
        else { fprintf(stderr, "usage: floor [-r N] [-o DIR] FILE...\n"); return 64; }
    }

    Decoder d = {0};
    /* Candidate factors, smallest first; keep only those the library has. */
    const tjscalingfactor want[4] = {{1, 8}, {1, 4}, {1, 2}, {1, 1}};
    int navail = 0;
    tjscalingfactor *avail = tjGetScalingFactors(&navail);
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < navail; j++)
            if (avail[j].num == want[k].num && avail[j].denom == want[k].denom)
                d.sf[d.nsf++] = want[k];

    d.dec = tjInitDecompress();
    tjhandle enc = tjInitCompress();
    if (!d.dec || !enc) { fprintf(stderr, "floor: tjInit failed\n"); return 1; }

    unsigned char canvas[BOX * BOX * 3];
    unsigned long jcap = tjBufSize(BOX, BOX, TJSAMP_420);
    unsigned char *jbuf = tjAlloc((int)jcap);
    Buffer file = {0}, pix = {0};
    int nfiles = argc - optind;
    long images = 0, skipped = 0, njpeg = 0, npng = 0;

    double t0 = cpu_ms();
    for (int r = 0; r < rounds; r++) {
        for (int i = optind; i < argc; i++) {
            if (!read_file(argv[i], &file)) { skipped++; continue; }
            enum Kind kind = sniff(&file);
            if (kind == OTHER) { skipped++; continue; }
            images++;
            if (r == 0) { if (kind == JPEG) njpeg++; else npng++; }
            int dw, dh;
            int ok = kind == JPEG ? decode_jpeg(&d, &file, &pix, &dw, &dh)
                                  : decode_png(&file, &pix, &dw, &dh);
            if (!ok) { d.errors++; continue; }
            place(pix.data, dw, dh, canvas);
            /* Four encodes: derivative + three rotations in intake. */
            for (int e = 0; e < 4; e++) {
                unsigned long jsize = jcap;
                if (tjCompress2(enc, canvas, BOX, 0, BOX, TJPF_RGB, &jbuf, &jsize, TJSAMP_420, 90,
                                TJFLAG_NOREALLOC) != 0)
                    d.errors++;
                else if (outdir && !write_output(outdir, i - optind, e, jbuf, jsize))
                    d.errors++;
            }
        }
    }
    if (outdir) {
        int dirfd = open(outdir, O_RDONLY | O_DIRECTORY);
        if (dirfd < 0 || syncfs(dirfd) != 0) d.errors++;
        if (dirfd >= 0) close(dirfd);
    }
    double cpu = cpu_ms() - t0;

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    fprintf(stderr, "floor: files=%d jpeg=%ld png=%ld skipped=%ld rounds=%d errors=%ld warnings=%ld\n",
            nfiles, njpeg, npng, skipped / rounds, rounds, d.errors, d.warnings);
    printf("floor: images=%ld cpu_ms_per_image=%.3f peak_rss_mb=%.1f\n", images,
           images ? cpu / images : 0.0, ru.ru_maxrss / 1024.0);

    tjFree(jbuf);
    free(pix.data);
    free(file.data);
    tjDestroy(d.dec);
    tjDestroy(enc);
    return 0;
}
