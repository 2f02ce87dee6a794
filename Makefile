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
#   make bench      install missing dependencies (Go, Tokio, Boost.Fiber), then the comparison
#                   report (tools/bench/run.py); BENCH_ARGS=--quick for CI
#   make vmtest     boot Debian's sched_ext kernel in QEMU and run the smoke
#                   check there (tools/vmtest/; fetched and cached on first use)
#   make install    PREFIX=/usr/local DESTDIR= (also LIBDIR, INCLUDEDIR,
#                   SBINDIR, MANDIR, PKGCONFIGDIR, SYSTEMDUNITDIR); make uninstall
#   make fuzz       libFuzzer targets for gmpx-sched's protocol parser and
#                   admission (build/fuzz/; clang with libclang-rt); run for a
#                   bounded time by tools/run-fuzz.sh (FUZZ_TIME=60 s each)
#   make format / make lint
#
# Variants build into build/<variant>/: release (-O2), asan, tsan.

CC       ?= gcc
# The version is gmpx.h's GX_VERSION_MAJOR/MINOR/PATCH; the soname changes
# with the major version (0: the API may still change between minors).
VERSION  := $(shell sed -nE 's/^\#define GX_VERSION_(MAJOR|MINOR|PATCH) ([0-9]+).*/\2/p' include/gmpx.h | paste -sd.)
SOMAJOR  := $(firstword $(subst ., ,$(VERSION)))
# Where make install puts things (DESTDIR is prepended to each).
PREFIX   ?= /usr/local
LIBDIR   ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
SBINDIR  ?= $(PREFIX)/sbin
MANDIR   ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
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
# user/testing.c holds the accessors selftests use (user/testing.h): built
# into the test binaries only, never into libgmpx (Go's export_test.go).
TESTING_SRCS := user/testing.c
LIB_SRCS := $(filter-out $(TESTING_SRCS),$(wildcard user/*.c)) $(wildcard user/arch/$(ARCH)/*.S)
LIB_HDRS := $(wildcard include/*.h include/gmpx/*.h) $(wildcard user/*.h)
# The kernel-assist ABI: the memory BPF and a runtime share; the daemon's socket protocol.
ABI_HDRS := include/gmpx/kabi.h include/gmpx/sched_proto.h
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
	-DGXS_NO_SCX_WHY='"no sched_ext BTF at build time ($(SCX_BTF) missing: run make vmtest-prepare, then make)"')
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

# The execution trace's file format (user/trace.proto, a subset of
# Perfetto's schema) is encoded by code protoc-c generates, built when
# protobuf-c's compiler and header are installed (libprotobuf-c itself is
# loaded at run time: user/trace_pbc.h); without them gx_trace_start says
# -ENOTSUP. Installing or removing them rebuilds through build/pbc.src.
PBC_ON := $(if $(wildcard /usr/include/protobuf-c/protobuf-c.h),$(shell command -v protoc-c 2>/dev/null))
PROTO_SRCS := $(if $(PBC_ON),$(BUILD)/proto/trace.pb-c.c)
LIBFLAGS += $(if $(PBC_ON),-I$(BUILD)/proto,-DGX_NO_PBC)
$(BUILD)/proto/%.pb-c.c $(BUILD)/proto/%.pb-c.h: user/%.proto
	@mkdir -p $(dir $@)
	@echo "  PROTOC-C $<"
	@protoc-c --c_out=$(BUILD)/proto --proto_path=user $<
# tools/gmpx-trace and the trace-format tests parse trace files with
# protobuf's own Python parser, from the module protoc makes of the same
# schema (protobuf-compiler, python3-protobuf).
PB2 := $(if $(shell command -v protoc 2>/dev/null),$(BUILD)/proto/trace_pb2.py)
$(BUILD)/proto/trace_pb2.py: user/trace.proto
	@mkdir -p $(dir $@)
	@echo "  PROTOC $<"
	@protoc --python_out=$(BUILD)/proto --proto_path=user $<
$(BUILD)/pbc.src: FORCE
	@mkdir -p $(dir $@)
	@echo '$(PBC_ON)' | cmp -s - $@ || echo '$(PBC_ON)' >$@

objs = $(patsubst %,$(BUILD)/$(1)/%.o,$(LIB_SRCS) $(PROTO_SRCS))

# Goroutine dumps show stacks when the unwinder's and symboliser's headers
# are installed (user/traceback.c checks with __has_include): installing or
# removing libunwind-dev / libdw-dev rebuilds it, through this record.
UNWIND_HDRS := $(wildcard /usr/include/libunwind.h /usr/include/elfutils/libdwfl.h \
	       /usr/include/$(ARCH)-linux-gnu/libunwind.h)
$(BUILD)/unwind.src: FORCE
	@mkdir -p $(dir $@)
	@echo '$(UNWIND_HDRS)' | cmp -s - $@ || echo '$(UNWIND_HDRS)' >$@

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
$(BUILD)/$(1)/user/traceback.c.o: $(BUILD)/unwind.src
$(BUILD)/$(1)/user/trace_perfetto.c.o: $(BUILD)/pbc.src $(if $(PBC_ON),$(BUILD)/proto/trace.pb-c.h)
$(BUILD)/$(1)/$(BUILD)/proto/trace.pb-c.c.o: LIBFLAGS += -include user/trace_pbc.h
$(BUILD)/$(1)/libgmpx.a: $(BUILD)/$(1)/gmpx.o
	@rm -f $$@ && ar rcs $$@ $$^
$(BUILD)/$(1)/gmpx_test: $(TEST_SRCS) $(TEST_HDRS) $(TESTING_SRCS) $(LIB_HDRS) $(BUILD)/$(1)/libgmpx.a
	@echo "  LD [$(1)] $$@"
	@$$(CC) $$(BASEFLAGS) $$(CFLAGS_$(1)) -Iselftests $(TEST_SRCS) $(TESTING_SRCS) $(BUILD)/$(1)/libgmpx.a -lm -o $$@
endef
$(foreach v,release asan tsan,$(eval $(call variant,$(v))))

lib: $(BUILD)/libgmpx.a $(BUILD)/libgmpx.so $(PB2)
$(BUILD)/libgmpx.a: $(BUILD)/release/libgmpx.a
	cp $< $@
# The shared library: soname libgmpx.so.$(SOMAJOR); build/libgmpx.so is the
# real file (installed as libgmpx.so.$(VERSION) with the two links).
$(BUILD)/libgmpx.so: $(BUILD)/release/gmpx.o
	$(CC) -shared -pthread -Wl,-soname,libgmpx.so.$(SOMAJOR) -Wl,-z,now -Wl,-z,relro -o $@ $^

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
$(BUILD)/bpf/%.bpf.c.o: bpf/%.bpf.c $(BUILD)/bpf/vmlinux.h include/gmpx/kabi.h $(BPF_HDRS)
	@echo "  CLANG-BPF $<"
	@$(CLANG) $(BPF_CFLAGS) -c $< -o $@
$(BUILD)/bpf/scx/vmlinux.h: $(SCX_BTF)
	@mkdir -p $(dir $@)
	@echo "  BTF $(SCX_BTF) -> $@"
	@$(BPFTOOL) btf dump file $(SCX_BTF) format c >$@.tmp
	@grep -q 'struct sched_ext_ops {' $@.tmp || { echo "$(SCX_BTF): no sched_ext types"; rm -f $@.tmp; exit 1; }
	@mv $@.tmp $@
$(BUILD)/bpf/scx/gmpx_scx.bpf.c.o: $(SCX_SRC) $(BUILD)/bpf/scx/vmlinux.h include/gmpx/kabi.h $(BPF_HDRS)
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
$(BUILD)/gmpx-sched: $(SCHED_SRCS) $(SCHED_HDRS) $(BPF_SKELS) $(ABI_HDRS) bpf/gmpx_scx.h
	@echo "  LD $@$(if $(SCX_ON),, (without scx mode: no sched_ext BTF))"
	@$(CC) $(BASEFLAGS) -O2 -I$(BUILD)/bpf $(SCHED_SCX_FLAGS) $(LIBBPF_CFLAGS) $(SCHED_SRCS) $(LIBBPF_LIBS) -o $@

# A fake runtime speaking the scx protocol (plain C: linux/bpf.h for the
# kick's BPF_PROG_TEST_RUN); runs in the vmtest guest
# (tools/vmtest/scx-kabi.sh).
scx-kabi-test: $(BUILD)/scx_kabi_test
vmtest-scx-kabi: $(BUILD)/scx_kabi_test $(SCHED_BIN)
	tools/vmtest/scx-kabi.sh
$(BUILD)/scx_kabi_test: selftests/scx_kabi_test.c $(ABI_HDRS)
	@mkdir -p $(BUILD)
	@echo "  LD $@"
	@$(CC) -std=gnu11 -O2 -g -pthread $(WARN) -Iinclude $< -lm -o $@
.PHONY: scx-kabi-test vmtest-scx-kabi

# Fuzz targets (selftests/fuzz/): the daemon's pure functions, the request
# parser (proto.c) and admission with the per-user limits (policy.c), under
# libFuzzer, ASan and UBSan. Seed corpus: selftests/fuzz/corpus/<target>/.
FUZZ_CC    ?= clang
FUZZ_FLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	      -Iinclude -Itools/gmpx-sched $(WARN)
FUZZ_BINS  := $(BUILD)/fuzz/fuzz_proto $(BUILD)/fuzz/fuzz_admit
fuzz: $(FUZZ_BINS)
$(BUILD)/fuzz/fuzz_proto: selftests/fuzz/fuzz_proto.c tools/gmpx-sched/proto.c $(SCHED_HDRS) $(ABI_HDRS)
	@mkdir -p $(dir $@)
	@echo "  FUZZ $@"
	@$(FUZZ_CC) $(FUZZ_FLAGS) selftests/fuzz/fuzz_proto.c tools/gmpx-sched/proto.c -o $@
$(BUILD)/fuzz/fuzz_admit: selftests/fuzz/fuzz_admit.c tools/gmpx-sched/policy.c $(SCHED_HDRS) $(ABI_HDRS)
	@mkdir -p $(dir $@)
	@echo "  FUZZ $@"
	@$(FUZZ_CC) $(FUZZ_FLAGS) selftests/fuzz/fuzz_admit.c tools/gmpx-sched/policy.c -o $@
.PHONY: fuzz

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
	  $(BUILD)/harness_selftest $(MODEL_BINS) examples $(BPF_ALL) $(BUILD)/scx_kabi_test $(FUZZ_BINS) $(PB2)
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

# make install: every public header, libgmpx.a, libgmpx.so.$(VERSION) (with
# libgmpx.so.$(SOMAJOR) and libgmpx.so), the sanitizer builds
# (libgmpx-asan.a, libgmpx-tsan.a), pkg-config files (gmpx, gmpx-asan,
# gmpx-tsan), man pages made from the header comments, and, when it was
# built, gmpx-sched under sbin with its systemd unit. make uninstall removes
# exactly those files. tools/check-install.sh (run by make test) installs
# into a temporary DESTDIR and builds the examples from it by pkg-config.
# The API (gmpx.h and the family headers it includes; man pages come from
# these) and the kernel-assist ABI (shared memory; the daemon's protocol),
# installed for tools that read a runtime's state or speak to gmpx-sched.
PUB_HDRS := include/gmpx.h $(filter-out $(ABI_HDRS),$(wildcard include/gmpx/*.h))
SAN_LIBS := $(BUILD)/asan/libgmpx.a $(BUILD)/tsan/libgmpx.a
MAN_STAMP := $(BUILD)/man/.stamp
$(MAN_STAMP): tools/mkman.py $(PUB_HDRS) tools/gmpx-sched/README.md
	@echo "  MAN $(BUILD)/man"
	@python3 tools/mkman.py --version $(VERSION) --out $(BUILD)/man $(PUB_HDRS) tools/gmpx-sched/README.md
	@touch $@
man: $(MAN_STAMP)
$(BUILD)/pkgconfig/%.pc: tools/pkgconfig/%.pc.in Makefile
	@mkdir -p $(dir $@)
	@sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|; s|@VERSION@|$(VERSION)|' $< >$@
PC_FILES := $(BUILD)/pkgconfig/gmpx.pc $(BUILD)/pkgconfig/gmpx-asan.pc $(BUILD)/pkgconfig/gmpx-tsan.pc
$(BUILD)/gmpx-sched.service: tools/gmpx-sched/gmpx-sched.service.in Makefile
	@sed -e 's|@SBINDIR@|$(SBINDIR)|' $< >$@
install: lib $(SAN_LIBS) $(MAN_STAMP) $(PC_FILES) $(BUILD)/gmpx-sched.service
	install -d $(DESTDIR)$(INCLUDEDIR)/gmpx $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
	  $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man8
	install -m 644 include/gmpx.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(filter include/gmpx/%,$(PUB_HDRS)) $(ABI_HDRS) $(DESTDIR)$(INCLUDEDIR)/gmpx/
	install -m 644 $(BUILD)/libgmpx.a $(DESTDIR)$(LIBDIR)/libgmpx.a
	install -m 644 $(BUILD)/asan/libgmpx.a $(DESTDIR)$(LIBDIR)/libgmpx-asan.a
	install -m 644 $(BUILD)/tsan/libgmpx.a $(DESTDIR)$(LIBDIR)/libgmpx-tsan.a
	install -m 755 $(BUILD)/libgmpx.so $(DESTDIR)$(LIBDIR)/libgmpx.so.$(VERSION)
	ln -sf libgmpx.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libgmpx.so.$(SOMAJOR)
	ln -sf libgmpx.so.$(SOMAJOR) $(DESTDIR)$(LIBDIR)/libgmpx.so
	install -m 644 $(PC_FILES) $(DESTDIR)$(PKGCONFIGDIR)/
	install -m 644 $(BUILD)/man/man3/*.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 644 $(BUILD)/man/man8/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/gmpx
	install -m 755 tools/gmpx-trace $(DESTDIR)$(PREFIX)/bin/gmpx-trace
	install -m 644 user/trace.proto $(DESTDIR)$(PREFIX)/share/gmpx/trace.proto
	@if [ -f $(BUILD)/proto/trace_pb2.py ]; then \
	  echo "install -m 644 $(BUILD)/proto/trace_pb2.py $(DESTDIR)$(PREFIX)/share/gmpx/"; \
	  install -m 644 $(BUILD)/proto/trace_pb2.py $(DESTDIR)$(PREFIX)/share/gmpx/; fi
	@if [ -x $(BUILD)/gmpx-sched ]; then \
	  echo "install -m 755 $(BUILD)/gmpx-sched $(DESTDIR)$(SBINDIR)/gmpx-sched"; \
	  install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(SYSTEMDUNITDIR) && \
	  install -m 755 $(BUILD)/gmpx-sched $(DESTDIR)$(SBINDIR)/gmpx-sched && \
	  install -m 644 $(BUILD)/gmpx-sched.service $(DESTDIR)$(SYSTEMDUNITDIR)/gmpx-sched.service; \
	else echo "  SKIP gmpx-sched: not built (bpf/README.md)"; fi
uninstall:
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/,$(patsubst include/%,%,$(PUB_HDRS) $(ABI_HDRS)))
	-rmdir $(DESTDIR)$(INCLUDEDIR)/gmpx 2>/dev/null
	rm -f $(addprefix $(DESTDIR)$(LIBDIR)/,libgmpx.a libgmpx-asan.a libgmpx-tsan.a libgmpx.so \
	  libgmpx.so.$(SOMAJOR) libgmpx.so.$(VERSION))
	rm -f $(addprefix $(DESTDIR)$(PKGCONFIGDIR)/,gmpx.pc gmpx-asan.pc gmpx-tsan.pc)
	rm -f $(DESTDIR)$(PREFIX)/bin/gmpx-trace $(addprefix $(DESTDIR)$(PREFIX)/share/gmpx/,trace.proto trace_pb2.py)
	-rmdir $(DESTDIR)$(PREFIX)/share/gmpx 2>/dev/null
	@if [ -f $(BUILD)/man/manifest ]; then \
	  sed 's|^|$(DESTDIR)$(MANDIR)/|' $(BUILD)/man/manifest | xargs rm -f; fi
	rm -f $(DESTDIR)$(SBINDIR)/gmpx-sched $(DESTDIR)$(SYSTEMDUNITDIR)/gmpx-sched.service
.PHONY: man uninstall

# The core, which reaches a kernel-assist mode only through kassist.h's table.
SEAM_SRCS := user/proc.c user/procresize.c user/sysmon.c user/syscall.c user/preempt.c
FORMAT_SRCS := $(wildcard user/*.c user/*.h include/*.h include/gmpx/*.h selftests/*.c selftests/*.h selftests/fuzz/*.c examples/*.c \
		tools/bench/workloads/*/*.c tools/bench/workloads/*/*.cpp tools/bench/include/*.h tools/bench/include/*.hpp \
		bpf/*.bpf.c bpf/*.h tools/gmpx-sched/*.c tools/gmpx-sched/*.h)
format:
	clang-format -i $(FORMAT_SRCS)
format-check:
	@echo "  CLANG-FORMAT (check)"
	@clang-format --dry-run --Werror $(FORMAT_SRCS)

# Formatting (.clang-format) and static analysis of the runtime; warnings
# are errors (.clang-tidy).
lint: format-check $(BPF_SKELS) $(if $(PBC_ON),$(BUILD)/proto/trace.pb-c.h)
	@echo "  SEAM $(SEAM_SRCS) (no kernel-assist mode checks: kassist.h)"
	@! grep -nE 'gx_kassist_(active|scx|trace|testing)|kscx|GX_KASSIST_(TRACE|SCX)|->mode\b' $(SEAM_SRCS)
	@echo "  CPPCHECK user/"
	@cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,performance,portability \
	  --suppress=missingIncludeSystem --inline-suppr -Iinclude -Iuser $(if $(PBC_ON),-I$(BUILD)/proto) -D__x86_64__ user/*.c
	@echo "  CPPCHECK tools/gmpx-sched/"
	@cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,performance,portability \
	  --suppress=missingIncludeSystem --suppress=unknownMacro --inline-suppr -Iinclude -I$(BUILD)/bpf $(SCHED_SCX_FLAGS) -D__x86_64__ tools/gmpx-sched/*.c
	@echo "  CLANG-TIDY user/ tools/gmpx-sched/"
	@clang-tidy --quiet $(wildcard user/*.c) -- -std=gnu11 -Iinclude -Iuser $(if $(PBC_ON),-I$(BUILD)/proto) 2>&1 | \
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
