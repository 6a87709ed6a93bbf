/* The fuzz entry point shared by the libFuzzer target and the corpus replay. */
#ifndef ZABD_FUZZ_DECODERS_H
#define ZABD_FUZZ_DECODERS_H
#include <stddef.h>
#include <stdint.h>
int zabd_fuzz_one(const uint8_t *data, size_t size);
#endif
