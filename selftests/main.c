/* SPDX-License-Identifier: MIT */
/* main.c - the test binary's main(): every selftests/test_*.c links in. */
#define HARNESS_MAIN
#include "harness.h"
