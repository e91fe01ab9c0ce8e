#ifndef CSHA256_H
#define CSHA256_H

#include <stddef.h>
#include <stdint.h>

/// SHA-256 (FIPS 180-4) of `length` bytes at `data` into `digest` (32 bytes). Uses the CPU's SHA
/// instructions where it has them (x86-64 SHA-NI), portable C otherwise.
void intake_sha256(const void *data, size_t length, uint8_t digest[32]);

/// The same with the portable code only: lets tests compare the two paths on one machine.
void intake_sha256_portable(const void *data, size_t length, uint8_t digest[32]);

/// Whether intake_sha256 uses the SHA instructions on this CPU.
int intake_sha256_uses_cpu_instructions(void);

#endif
