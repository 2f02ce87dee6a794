# SPDX-License-Identifier: MIT
# gmpx - Go's G-M-P scheduler in C.
#
#   make            the library: build/libgmpx.a and build/libgmpx.so, the
#                   examples, and (when clang, bpftool and libbpf are
#                   installed; see bpf/README.md) the kernel assist: the BPF
#                   object, its skeleton and the gmpx-sched daemon
#   make bpf        just the BPF object and skeleton (build/bpf/)
#                   VMLINUX_BTF=file or KERNEL=/path/to/vmlinuz: another
#                   kernel's types; BPF=0 / BPF=1: never / always build them
#   make test       install missing dependencies, then the whole suite:
#                   release, ASan+UBSan and TSan builds, the run-queue model
#                   check and the harness self-test
#   make bench      install missing dependencies (Go), then the comparison
#                   report (tools/bench/run.py); BENCH_ARGS=--quick for CI
#   make vmtest     boot Debian's sched_ext kernel in QEMU and run the smoke
#                   check there (tools/vmtest/; fetched and cached on first use)
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
# The runtime's code must stay one contiguous range (asynchronous preemption
# never stops a goroutine inside it): no hot/cold splitting or function
# reordering into other sections; the objects are partially linked into
# gmpx.o between two marker objects (user/arch/*/textmark).
LIBFLAGS := -fno-reorder-functions -fno-reorder-blocks-and-partition

CFLAGS_release := -O2
CFLAGS_asan    := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
CFLAGS_tsan    := -O1 -fno-omit-frame-pointer -fsanitize=thread

MODEL_BINS := $(BUILD)/runq_model $(BUILD)/runq_stress $(BUILD)/tsan/runq_stress
LIB_SRCS := $(wildcard user/*.c) $(wildcard user/arch/$(ARCH)/*.S)
LIB_HDRS := $(wildcard include/*.h) $(wildcard user/*.h)
TEST_SRCS := $(filter-out selftests/harness_selftest.c selftests/runq_model.c selftests/runq_stress.c selftests/scx_kabi_test.c, \
	       $(wildcard selftests/*.c))
TEST_HDRS := $(wildcard selftests/*.h)

# The kernel assist (bpf/README.md): BPF programs compiled with clang, a
# libbpf skeleton made by bpftool, and the gmpx-sched daemon that loads it.
# BPF=auto (the default) builds them when the tools are there and says so
# when they are not; BPF=1 makes a missing tool an error; BPF=0 skips them.
CLANG       ?= clang
BPFTOOL     ?= bpftool
PKG_CONFIG  ?= pkg-config
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
KERNEL      ?=
BPF         ?= auto
BPF_ARCH    := $(patsubst x86_64,x86,$(patsubst aarch64,arm64,$(ARCH)))
BPF_CFLAGS0 := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(BPF_ARCH) -fms-extensions -Wno-microsoft-anon-tag \
	       -Wall -Werror -Iinclude
BPF_CFLAGS  := $(BPF_CFLAGS0) -I$(BUILD)/bpf
BPF_HDRS    := $(wildcard bpf/*.h)
# The sched_ext scheduler (bpf/gmpx_scx.bpf.c) is compiled against the BTF of
# a kernel with sched_ext (the vmtest guest's by default: make
# vmtest-prepare), into build/bpf/scx/ with its own vmlinux.h. Without that
# BTF it is skipped and gmpx-sched is built without scx mode.
SCX_BTF     ?= $(HOME)/.cache/gmpx/vmtest/kernels/current/vmlinux.btf
SCX_SRC     := bpf/gmpx_scx.bpf.c
BPF_SRCS    := $(filter-out $(SCX_SRC),$(wildcard bpf/*.bpf.c))
BPF_OBJS    := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SCX_ON      := $(if $(wildcard $(SCX_SRC)),$(if $(wildcard $(SCX_BTF)),y))
SCX_OBJ     := $(if $(SCX_ON),$(BUILD)/bpf/scx/gmpx_scx.bpf.o)
BPF_SKELS   := $(BPF_OBJS:.bpf.o=.skel.h) $(SCX_OBJ:.bpf.o=.skel.h)
# how gmpx-sched is built with or without scx mode
SCHED_SCX_FLAGS := -Ibpf $(if $(SCX_ON),-DGXS_HAVE_SCX -I$(BUILD)/bpf/scx, \
	-DGXS_NO_SCX_WHY='"no sched_ext BTF at build time ($(SCX_BTF) missing; run make vmtest-prepare, then make)"')
LIBBPF_CFLAGS := $(shell $(PKG_CONFIG) --cflags libbpf 2>/dev/null)
LIBBPF_LIBS   := $(or $(shell $(PKG_CONFIG) --libs libbpf 2>/dev/null),-lbpf) -lelf -lz
SCHED_SRCS  := $(wildcard tools/gmpx-sched/*.c)
SCHED_HDRS  := $(wildcard tools/gmpx-sched/*.h)
# The daemon is built once its sources exist.
SCHED_BIN   := $(if $(SCHED_SRCS),$(BUILD)/gmpx-sched)

ifeq ($(BPF),auto)
BPF_MISSING := $(strip $(foreach t,$(CLANG) $(BPFTOOL),$(if $(shell command -v $(t) 2>/dev/null),,$(t))) \
	$(if $(shell $(PKG_CONFIG) --exists libbpf 2>/dev/null && echo y),,libbpf-dev) \
	$(if $(KERNEL),,$(if $(wildcard $(VMLINUX_BTF)),,$(VMLINUX_BTF))))
BPF_ALL := $(if $(BPF_MISSING),bpf-skipped,bpf $(SCHED_BIN))
else ifeq ($(BPF),0)
BPF_ALL :=
else
BPF_ALL := bpf $(SCHED_BIN)
endif

.PHONY: all lib test bench install clean format format-check lint deps-test deps-bench examples bpf gmpx-sched
all: lib examples $(BPF_ALL)

objs = $(patsubst %,$(BUILD)/$(1)/%.o,$(LIB_SRCS))

define variant
$(BUILD)/$(1)/%.c.o: %.c $(LIB_HDRS)
	@mkdir -p $$(dir $$@)
	@echo "  CC [$(1)] $$<"
	@$$(CC) $$(BASEFLAGS) $$(LIBFLAGS) $$(CFLAGS_$(1)) -c $$< -o $$@
$(BUILD)/$(1)/%.S.o: %.S
	@mkdir -p $$(dir $$@)
	@echo "  AS [$(1)] $$<"
	@$$(CC) $$(BASEFLAGS) $$(CFLAGS_$(1)) -c $$< -o $$@
$(BUILD)/$(1)/gmpx.o: $(BUILD)/$(1)/user/arch/$(ARCH)/textmark/begin.S.o $(call objs,$(1)) \
		$(BUILD)/$(1)/user/arch/$(ARCH)/textmark/end.S.o
	@echo "  LD -r [$(1)] $$@"
	@ld -r -o $$@ $$^
$(BUILD)/$(1)/libgmpx.a: $(BUILD)/$(1)/gmpx.o
	@rm -f $$@ && ar rcs $$@ $$^
$(BUILD)/$(1)/gmpx_test: $(TEST_SRCS) $(TEST_HDRS) $(BUILD)/$(1)/libgmpx.a
	@echo "  LD [$(1)] $$@"
	@$$(CC) $$(BASEFLAGS) $$(CFLAGS_$(1)) -Iselftests $(TEST_SRCS) $(BUILD)/$(1)/libgmpx.a -lm -o $$@
endef
$(foreach v,release asan tsan,$(eval $(call variant,$(v))))

lib: $(BUILD)/libgmpx.a $(BUILD)/libgmpx.so
$(BUILD)/libgmpx.a: $(BUILD)/release/libgmpx.a
	cp $< $@
$(BUILD)/libgmpx.so: $(BUILD)/release/gmpx.o
	$(CC) -shared -pthread -o $@ $^

EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))
examples: $(EXAMPLES)
$(BUILD)/examples/%: examples/%.c $(BUILD)/release/libgmpx.a
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) -O2 $< $(BUILD)/release/libgmpx.a -o $@

# vmlinux.h: the kernel's types, from VMLINUX_BTF, or from KERNEL (a vmlinuz
# or vmlinux, through tools/vmlinux-btf.sh). vmlinux.src records which, so
# that changing VMLINUX_BTF or KERNEL regenerates it.
BTF_SRC := $(if $(KERNEL),kernel:$(KERNEL),btf:$(VMLINUX_BTF))
$(BUILD)/bpf/vmlinux.src: FORCE
	@mkdir -p $(dir $@)
	@echo '$(BTF_SRC)' | cmp -s - $@ || echo '$(BTF_SRC)' >$@
$(BUILD)/bpf/vmlinux.h: $(BUILD)/bpf/vmlinux.src $(if $(KERNEL),$(KERNEL) tools/vmlinux-btf.sh,$(wildcard $(VMLINUX_BTF)))
	@echo "  BTF $(or $(KERNEL),$(VMLINUX_BTF)) -> $@"
ifneq ($(KERNEL),)
	@BPFTOOL=$(BPFTOOL) bash tools/vmlinux-btf.sh $(KERNEL) >$@.tmp
else
	@$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c >$@.tmp
endif
	@mv $@.tmp $@
# Compiled, then linked by bpftool (which drops the DWARF: a 50 KB object
# and skeleton instead of 700 KB / 2 MB; BTF and line info stay).
$(BUILD)/bpf/%.bpf.c.o: bpf/%.bpf.c $(BUILD)/bpf/vmlinux.h include/gmpx_kabi.h $(BPF_HDRS)
	@echo "  CLANG-BPF $<"
	@$(CLANG) $(BPF_CFLAGS) -c $< -o $@
$(BUILD)/bpf/scx/vmlinux.h: $(SCX_BTF)
	@mkdir -p $(dir $@)
	@echo "  BTF $(SCX_BTF) -> $@"
	@$(BPFTOOL) btf dump file $(SCX_BTF) format c >$@.tmp
	@grep -q 'struct sched_ext_ops {' $@.tmp || { echo "$(SCX_BTF): no sched_ext types"; rm -f $@.tmp; exit 1; }
	@mv $@.tmp $@
$(BUILD)/bpf/scx/gmpx_scx.bpf.c.o: $(SCX_SRC) $(BUILD)/bpf/scx/vmlinux.h include/gmpx_kabi.h $(BPF_HDRS)
	@echo "  CLANG-BPF $< (sched_ext BTF)"
	@$(CLANG) $(BPF_CFLAGS0) -I$(BUILD)/bpf/scx -c $< -o $@
$(BUILD)/bpf/%.bpf.o: $(BUILD)/bpf/%.bpf.c.o
	@echo "  BPF-LINK $@"
	@$(BPFTOOL) gen object $@ $<
$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	@echo "  SKEL $@"
	@$(BPFTOOL) gen skeleton $< name $(subst .,_,$(notdir $*))_bpf >$@.tmp
	@mv $@.tmp $@
bpf: $(BPF_OBJS) $(SCX_OBJ) $(BPF_SKELS)
ifeq ($(SCX_ON),)
	@echo "  SKIP bpf/gmpx_scx.bpf.c: no sched_ext BTF ($(SCX_BTF)); make vmtest-prepare, then make"
endif
.SECONDARY: $(BPF_OBJS:.bpf.o=.bpf.c.o) $(SCX_OBJ:.bpf.o=.bpf.c.o)
bpf-skipped:
	@echo "  SKIP bpf/ and gmpx-sched: missing $(BPF_MISSING) (see bpf/README.md; BPF=1 to insist)"
.PHONY: bpf-skipped FORCE
FORCE:

gmpx-sched: $(BUILD)/gmpx-sched
$(BUILD)/gmpx-sched: $(SCHED_SRCS) $(SCHED_HDRS) $(BPF_SKELS) include/gmpx_kabi.h bpf/gmpx_scx.h
	@echo "  LD $@$(if $(SCX_ON),, (without scx mode: no sched_ext BTF))"
	@$(CC) $(BASEFLAGS) -O2 -I$(BUILD)/bpf $(SCHED_SCX_FLAGS) $(LIBBPF_CFLAGS) $(SCHED_SRCS) $(LIBBPF_LIBS) -o $@

# A fake runtime speaking the scx protocol (plain C: linux/bpf.h for the
# kick's BPF_PROG_TEST_RUN); runs in the vmtest guest
# (tools/vmtest/scx-kabi.sh).
scx-kabi-test: $(BUILD)/scx_kabi_test
vmtest-scx-kabi: $(BUILD)/scx_kabi_test $(SCHED_BIN)
	tools/vmtest/scx-kabi.sh
$(BUILD)/scx_kabi_test: selftests/scx_kabi_test.c include/gmpx_kabi.h
	@mkdir -p $(BUILD)
	@echo "  LD $@"
	@$(CC) -std=gnu11 -O2 -g -pthread $(WARN) -Iinclude $< -lm -o $@
.PHONY: scx-kabi-test vmtest-scx-kabi

deps-test:
	@bash tools/install-deps.sh test
deps-bench:
	@bash tools/install-deps.sh bench

# The suite. Each step prints TAP and a "N passed, N failed" line;
# tools/testsum.sh adds them up into the final line.
test: deps-test
	@# the sched_ext guest's kernel (and BTF, for the scx scheduler): fetched
	@# and cached, or a SKIP line saying why (the scx tests then skip too)
	@tools/vmtest/vmtest.sh --prepare >/dev/null || true
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory $(BUILD)/release/gmpx_test $(BUILD)/asan/gmpx_test $(BUILD)/tsan/gmpx_test \
	  $(BUILD)/harness_selftest $(MODEL_BINS) examples $(BPF_ALL) $(BUILD)/scx_kabi_test
	@bash tools/run-tests.sh

# The run queue alone: model check (exhaustive interleavings of the real
# runq.c on coroutines) and a real-thread stress test, plain and under TSan.
$(BUILD)/runq_model: selftests/runq_model.c user/runq.c user/runtime.h
	@mkdir -p $(BUILD)
	@echo "  LD $@"
	@$(CC) -std=gnu11 -O1 -g $(WARN) -Iinclude -Iuser $< user/arch/$(ARCH)/ctx.S -o $@
$(BUILD)/runq_stress: selftests/runq_stress.c user/runq.c user/runtime.h
	@mkdir -p $(BUILD)
	@echo "  LD $@"
	@$(CC) -std=gnu11 -O2 -g $(WARN) -Iinclude -Iuser $< -pthread -o $@
$(BUILD)/tsan/runq_stress: selftests/runq_stress.c user/runq.c user/runtime.h
	@mkdir -p $(BUILD)/tsan
	@echo "  LD $@"
	@$(CC) -std=gnu11 -O1 -g $(WARN) $(CFLAGS_tsan) -Iinclude -Iuser $< -pthread -o $@

$(BUILD)/harness_selftest: selftests/harness_selftest.c selftests/harness.h
	@mkdir -p $(BUILD)
	@echo "  LD $@"
	@$(CC) -std=gnu11 -O2 -g -pthread $(WARN) $< -o $@

bench: deps-bench lib
	python3 tools/bench/run.py $(BENCH_ARGS)

install: lib
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib
	install -m 644 include/gmpx.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(BUILD)/libgmpx.a $(BUILD)/libgmpx.so $(DESTDIR)$(PREFIX)/lib/

FORMAT_SRCS := $(wildcard user/*.c user/*.h include/*.h selftests/*.c selftests/*.h examples/*.c tools/bench/c/*.c tools/bench/c/*.h \
		bpf/*.bpf.c bpf/*.h tools/gmpx-sched/*.c tools/gmpx-sched/*.h)
format:
	clang-format -i $(FORMAT_SRCS)
format-check:
	@echo "  CLANG-FORMAT (check)"
	@clang-format --dry-run --Werror $(FORMAT_SRCS)

# Formatting (.clang-format) and static analysis of the runtime; warnings
# are errors (.clang-tidy).
lint: format-check $(BPF_SKELS)
	@echo "  CPPCHECK user/"
	@cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,performance,portability \
	  --suppress=missingIncludeSystem --inline-suppr -Iinclude -Iuser -D__x86_64__ user/*.c
	@echo "  CPPCHECK tools/gmpx-sched/"
	@cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,performance,portability \
	  --suppress=missingIncludeSystem --suppress=unknownMacro --inline-suppr -Iinclude -I$(BUILD)/bpf $(SCHED_SCX_FLAGS) -D__x86_64__ tools/gmpx-sched/*.c
	@echo "  CLANG-TIDY user/ tools/gmpx-sched/"
	@clang-tidy --quiet $(wildcard user/*.c) -- -std=gnu11 -Iinclude -Iuser 2>&1 | \
	  grep -v 'warnings generated' | (! grep -E 'error|warning') || (echo "lint: clang-tidy found problems"; exit 1)
	@clang-tidy --quiet -header-filter='(tools/gmpx-sched|include)/.*' $(SCHED_SRCS) -- -std=gnu11 -Iinclude -I$(BUILD)/bpf $(SCHED_SCX_FLAGS) $(LIBBPF_CFLAGS) 2>&1 | \
	  grep -v 'warnings generated' | grep -v 'skel\.h:' | (! grep -E 'error|warning') || (echo "lint: clang-tidy found problems"; exit 1)

# The sched_ext guest (tools/vmtest/README.md): Debian's sched_ext-enabled
# kernel under QEMU (TCG). vmtest-prepare fetches and caches it; vmtest runs
# the smoke check (the selftests and gmpx-sched inside the guest).
vmtest-prepare:
	tools/vmtest/vmtest.sh --prepare
vmtest: all $(BUILD)/release/gmpx_test
	tools/vmtest/smoke.sh
.PHONY: vmtest vmtest-prepare

clean:
	rm -rf $(BUILD)
