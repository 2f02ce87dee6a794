# SPDX-License-Identifier: MIT
# gmpx - Go's G-M-P scheduler in C.
#
#   make            the library: build/libgmpx.a and build/libgmpx.so
#   make test       install missing dependencies, then the whole suite:
#                   release, ASan+UBSan and TSan builds, the run-queue model
#                   check and the harness self-test
#   make bench      install missing dependencies (Go), then the comparison
#                   report (tools/bench/run.py); BENCH_ARGS=--quick for CI
#   make install    PREFIX=/usr/local
#   make format / make lint
#
# Variants build into build/<variant>/: release (-O2), asan, tsan.

CC       ?= gcc
PREFIX   ?= /usr/local
BUILD    := build
ARCH     := $(shell uname -m)

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers
BASEFLAGS := -std=gnu11 -g -pthread -fPIC -fstack-clash-protection -Iinclude -Iuser $(WARN)

CFLAGS_release := -O2
CFLAGS_asan    := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
CFLAGS_tsan    := -O1 -fno-omit-frame-pointer -fsanitize=thread

LIB_SRCS := $(wildcard user/*.c) $(wildcard user/arch/$(ARCH)/*.S)
LIB_HDRS := $(wildcard include/*.h) $(wildcard user/*.h)
TEST_SRCS := $(filter-out selftests/harness_selftest.c selftests/runq_model.c selftests/runq_stress.c, \
	       $(wildcard selftests/*.c))
TEST_HDRS := $(wildcard selftests/*.h)

.PHONY: all lib test test-release test-asan test-tsan bench install clean format lint deps-test deps-bench examples
all: lib examples

objs = $(patsubst %,$(BUILD)/$(1)/%.o,$(LIB_SRCS))

define variant
$(BUILD)/$(1)/%.c.o: %.c $(LIB_HDRS)
	@mkdir -p $$(dir $$@)
	@echo "  CC [$(1)] $$<"
	@$$(CC) $$(BASEFLAGS) $$(CFLAGS_$(1)) -c $$< -o $$@
$(BUILD)/$(1)/%.S.o: %.S
	@mkdir -p $$(dir $$@)
	@echo "  AS [$(1)] $$<"
	@$$(CC) $$(BASEFLAGS) $$(CFLAGS_$(1)) -c $$< -o $$@
$(BUILD)/$(1)/libgmpx.a: $(call objs,$(1))
	@rm -f $$@ && ar rcs $$@ $$^
$(BUILD)/$(1)/gmpx_test: $(TEST_SRCS) $(TEST_HDRS) $(BUILD)/$(1)/libgmpx.a
	@echo "  LD [$(1)] $$@"
	@$$(CC) $$(BASEFLAGS) $$(CFLAGS_$(1)) -Iselftests $(TEST_SRCS) $(BUILD)/$(1)/libgmpx.a -lm -o $$@
endef
$(foreach v,release asan tsan,$(eval $(call variant,$(v))))

lib: $(BUILD)/libgmpx.a $(BUILD)/libgmpx.so
$(BUILD)/libgmpx.a: $(BUILD)/release/libgmpx.a
	cp $< $@
$(BUILD)/libgmpx.so: $(call objs,release)
	$(CC) -shared -pthread -o $@ $^

EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))
examples: $(EXAMPLES)
$(BUILD)/examples/%: examples/%.c $(BUILD)/release/libgmpx.a
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) -O2 $< $(BUILD)/release/libgmpx.a -o $@

deps-test:
	@bash tools/install-deps.sh test
deps-bench:
	@bash tools/install-deps.sh bench

# The suite. Each step prints TAP and a "N passed, N failed" line;
# tools/testsum.sh adds them up into the final line.
test: deps-test
	@$(MAKE) --no-print-directory $(BUILD)/release/gmpx_test $(BUILD)/asan/gmpx_test $(BUILD)/tsan/gmpx_test examples
	@bash tools/run-tests.sh

bench: deps-bench lib
	python3 tools/bench/run.py $(BENCH_ARGS)

install: lib
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib
	install -m 644 include/gmpx.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(BUILD)/libgmpx.a $(BUILD)/libgmpx.so $(DESTDIR)$(PREFIX)/lib/

format:
	clang-format -i $(LIB_SRCS:%.S=) $(LIB_HDRS) $(wildcard selftests/*.[ch] examples/*.c tools/bench/c/*.c)

lint:
	cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,performance,portability \
	  --suppress=missingIncludeSystem --inline-suppr -Iinclude -Iuser user/*.c

clean:
	rm -rf $(BUILD)
