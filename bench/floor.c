/*
 * floor — the speed floor for intake's per-image CPU cost.
 *
 * For each JPEG: TurboJPEG scaled decode (smallest of 1/8,1/4,1/2,1/1 that
 * still covers the 256x256 fit size) plus FOUR 256x256 quality-90 4:2:0
 * encodes (intake writes a derivative + rotations). Placement into the
 * 256x256 canvas is a cheap nearest-neighbour copy on white: we want the
 * cost of the codec work that cannot be avoided, not of a good resize.
 *
 * Usage:  floor [-r N] [-o DIR] FILE...
 *   -o DIR  also write each encode to DIR (temporary name, then rename) and
 *           syncfs once at the end, as intake makes its outputs durable: the
 *           floor for a pipeline that must keep what it makes.
 * Output: floor: images=N cpu_ms_per_image=X.XXX
 *   images = JPEG files attempted x rounds; CPU = user+sys of the
 *   processing loop only (files are read into memory first).
 * Non-JPEGs are skipped silently; skip/error counts go to stderr.
 *
 * Build: cc -O2 -o bench/out/floor bench/floor.c -lturbojpeg
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <turbojpeg.h>
#include <unistd.h>

#define BOX 256

typedef struct { unsigned char *data; unsigned long size; } Blob;

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

/* Read a whole file; returns 0 and leaves *b empty if unreadable or not
 * starting with the JPEG SOI + marker bytes FF D8 FF. */
static int read_jpeg(const char *path, Blob *b) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    unsigned char magic[3];
    if (fread(magic, 1, 3, f) != 3 || magic[0] != 0xFF || magic[1] != 0xD8 ||
        magic[2] != 0xFF) { fclose(f); return 0; }
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return 0; }
    long n = ftell(f);
    rewind(f);
    b->data = malloc(n > 0 ? n : 1);
    b->size = (unsigned long)n;
    int ok = b->data && fread(b->data, 1, n, f) == (size_t)n;
    fclose(f);
    if (!ok) { free(b->data); b->data = NULL; }
    return ok;
}

int main(int argc, char **argv) {
    int rounds = 1, opt;
    const char *outdir = NULL;
    while ((opt = getopt(argc, argv, "r:o:")) != -1) {
        if (opt == 'r' && atoi(optarg) > 0) rounds = atoi(optarg);
        else if (opt == 'o') outdir = optarg;
        else { fprintf(stderr, "usage: floor [-r N] [-o DIR] FILE...\n"); return 64; }
    }

    /* Read everything up front so file I/O stays out of the measurement. */
    int nfiles = argc - optind, njpeg = 0, skipped = 0;
    Blob *blobs = calloc(nfiles > 0 ? nfiles : 1, sizeof *blobs);
    for (int i = optind; i < argc; i++) {
        if (read_jpeg(argv[i], &blobs[njpeg])) njpeg++; else skipped++;
    }

    /* Candidate factors, smallest first; keep only those the library has. */
    const tjscalingfactor want[4] = {{1, 8}, {1, 4}, {1, 2}, {1, 1}};
    tjscalingfactor sf[4];
    int nsf = 0, navail = 0;
    tjscalingfactor *avail = tjGetScalingFactors(&navail);
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < navail; j++)
            if (avail[j].num == want[k].num && avail[j].denom == want[k].denom)
                sf[nsf++] = want[k];

    tjhandle dec = tjInitDecompress(), enc = tjInitCompress();
    if (!dec || !enc) { fprintf(stderr, "floor: tjInit failed\n"); return 1; }

    unsigned char canvas[BOX * BOX * 3];
    unsigned long jcap = tjBufSize(BOX, BOX, TJSAMP_420);
    unsigned char *jbuf = tjAlloc((int)jcap);
    unsigned char *pix = NULL;
    size_t pixcap = 0;
    long errors = 0, warnings = 0;

    double t0 = cpu_ms();
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < njpeg; i++) {
            int w, h, sub, cs;
            if (tjDecompressHeader3(dec, blobs[i].data, blobs[i].size, &w, &h,
                                    &sub, &cs) != 0 || w <= 0 || h <= 0) {
                errors++;
                continue;
            }
            /* Fit inside BOX x BOX without upscaling. */
            double s = (double)BOX / (w > h ? w : h);
            if (s > 1.0) s = 1.0;
            int tw = (int)(w * s + 0.5), th = (int)(h * s + 0.5);
            if (tw < 1) tw = 1;
            if (th < 1) th = 1;
            /* Smallest factor whose output still covers the target size. */
            tjscalingfactor f = {1, 1};
            for (int k = 0; k < nsf; k++)
                if (TJSCALED(w, sf[k]) >= tw && TJSCALED(h, sf[k]) >= th) {
                    f = sf[k];
                    break;
                }
            int dw = TJSCALED(w, f), dh = TJSCALED(h, f);
            size_t need = (size_t)dw * dh * 3;
            if (need > pixcap) {
                free(pix);
                pix = malloc(need);
                pixcap = pix ? need : 0;
                if (!pix) { errors++; continue; }
            }
            if (tjDecompress2(dec, blobs[i].data, blobs[i].size, pix, dw, 0,
                              dh, TJPF_RGB, TJFLAG_LIMITSCANS) != 0) {
                /* A warning (e.g. truncated data) still yields pixels. */
                if (tjGetErrorCode(dec) == TJERR_WARNING) warnings++;
                else { errors++; continue; }
            }
            /* Cheap placement: nearest-sample to tw x th, centred on white. */
            memset(canvas, 0xFF, sizeof canvas);
            int ox = (BOX - tw) / 2, oy = (BOX - th) / 2;
            for (int y = 0; y < th; y++) {
                const unsigned char *src = pix + (size_t)(y * dh / th) * dw * 3;
                unsigned char *dst = canvas + ((size_t)(oy + y) * BOX + ox) * 3;
                for (int x = 0; x < tw; x++) {
                    const unsigned char *p = src + (size_t)(x * dw / tw) * 3;
                    dst[x * 3] = p[0];
                    dst[x * 3 + 1] = p[1];
                    dst[x * 3 + 2] = p[2];
                }
            }
            /* Four encodes: derivative + three rotations in intake. */
            for (int e = 0; e < 4; e++) {
                unsigned long jsize = jcap;
                if (tjCompress2(enc, canvas, BOX, 0, BOX, TJPF_RGB, &jbuf,
                                &jsize, TJSAMP_420, 90, TJFLAG_NOREALLOC) != 0)
                    errors++;
                else if (outdir && !write_output(outdir, i, e, jbuf, jsize))
                    errors++;
            }
        }
    }
    if (outdir) {
        int dirfd = open(outdir, O_RDONLY | O_DIRECTORY);
        if (dirfd < 0 || syncfs(dirfd) != 0) errors++;
        if (dirfd >= 0) close(dirfd);
    }
    double cpu = cpu_ms() - t0;

    long images = (long)njpeg * rounds;
    fprintf(stderr, "floor: files=%d jpeg=%d skipped=%d rounds=%d errors=%ld warnings=%ld\n",
            nfiles, njpeg, skipped, rounds, errors, warnings);
    printf("floor: images=%ld cpu_ms_per_image=%.3f\n", images,
           images ? cpu / images : 0.0);

    tjFree(jbuf);
    free(pix);
    for (int i = 0; i < njpeg; i++) free(blobs[i].data);
    free(blobs);
    tjDestroy(dec);
    tjDestroy(enc);
    return 0;
}
