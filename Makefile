# xmcp build. `make` builds everything, `make test` runs the suite,
# `make bench` the benchmarks; V=1 shows the commands.
.DELETE_ON_ERROR:
.SUFFIXES:

BUILD     ?= build
CLANG     ?= clang
CC        ?= cc
BPFTOOL   ?= bpftool
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

PKGS      := libbpf libxdp json-c libpcap libmnl libmicrohttpd libcap libsystemd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS    ?= -O2 -g
XCFLAGS   := -std=c11 -pthread -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
	     -Iinclude -Iuser -I$(BUILD) $(PKG_CFLAGS) -MMD -MP
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	      -Iinclude -Ibpf -I$(BUILD) -MMD -MP

# The datapath is one BPF object, build/xmcp.bpf.o, with one skeleton
# (struct xmcp), linked from one part per concern: the XDP classifier and
# its drops, the tc ingress programs, the tc egress path program, and the
# maps they share. Each part is compiled on its own; `bpftool gen object`
# (libbpf's static linker) resolves their extern maps and settings to the
# one definition in maps.bpf.c (bpf/lib/maps.h) and keeps one copy of the
# weak option scanners (include/xmcp_types.h). Which programs a command
# loads is user/kernel/datapath.c's choice, not the build's. xdp_empty is the
# benchmark's baseline, an object and a skeleton of its own.
XMCP_PARTS := maps classify steer path
XMCP_PART_OBJS := $(patsubst %,$(BUILD)/bpf/%.bpf.o,$(XMCP_PARTS))
SKELS     := $(BUILD)/xmcp.skel.h $(BUILD)/xdp_empty.skel.h

# The CLI and the objects other programs (unit tests, benchmarks) reuse.
# user/: one folder per concern (README, Layout). The library is what the
# unit tests and benchmarks link too; the CLI adds the commands, the
# daemon's core and the roles, which call into one another.
LIB_SRCS  := $(wildcard user/lib/*.c user/kernel/*.c user/policy/*.c user/relay/*.c user/install/*.c) \
	     user/daemon/admission.c user/daemon/control.c user/daemon/dest.c \
	     user/roles/head.c user/roles/mcp_convert.c user/roles/upstream.c
LIB_SRCS  := $(filter-out user/install/install.c,$(LIB_SRCS))
CLI_SRCS  := $(filter-out $(LIB_SRCS),$(wildcard user/*/*.c))
LIB_OBJS  := $(patsubst user/%.c,$(BUILD)/user/%.o,$(LIB_SRCS))
CLI_OBJS  := $(patsubst user/%.c,$(BUILD)/user/%.o,$(CLI_SRCS))
UNIT_TESTS := mp_convert policy journal dest relay
UNIT_BINS := $(patsubst %,$(BUILD)/test_%,$(UNIT_TESTS))
BENCH_BINS := $(BUILD)/bench_xdp $(BUILD)/bench_tc
TOOL_BINS := $(BUILD)/delayline $(BUILD)/connrate
FUZZ_BINS := $(BUILD)/fuzz_mp_convert
FUZZ_SECS ?= 300
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude -Iuser \
	      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

# The same daemon and unit tests under AddressSanitizer and UBSan, for the
# sanitizer tests of the relay and the MCP (tests/bats/sanitizers.bats).
SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
SAN_LIB_OBJS := $(patsubst user/%.c,$(BUILD)/san/%.o,$(LIB_SRCS))
SAN_CLI_OBJS := $(patsubst user/%.c,$(BUILD)/san/%.o,$(CLI_SRCS))
SAN_BINS := $(BUILD)/san/xmcp $(patsubst %,$(BUILD)/san/test_%,$(UNIT_TESTS))

.PHONY: all clean test bench deps demo fuzz install vmtest
all: $(BUILD)/xmcp $(UNIT_BINS) $(BENCH_BINS) $(TOOL_BINS) $(FUZZ_BINS) $(SAN_BINS)

deps:
	scripts/install-deps.sh

$(BUILD) $(BUILD)/bpf $(BUILD)/user $(BUILD)/tests $(BUILD)/bench $(BUILD)/san:
	$(Q)mkdir -p $@

$(BUILD)/vmlinux.h: | $(BUILD)
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BUILD)/vmlinux.h | $(BUILD)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# maps comes first: libbpf 1.1's linker gives a map the BTF offset it had
# in the first part that names it, extern or not, while the instructions
# are relocated to where its definition lands. The check after the link
# refuses an object where two maps would share an offset (libbpf would then
# bind a program to the wrong one; with no match it fails in SKEL).
$(BUILD)/xmcp.bpf.o: $(XMCP_PART_OBJS)
	$(call msg,BPFLINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^
	$(Q)$(BPFTOOL) btf dump file $@ | awk '/^\[/ { maps = index($$0, "DATASEC \047.maps\047") > 0; next } \
		maps && seen[$$2]++ { print "$@: two maps at " $$2 " in .maps: define a shared map in the first part"; bad = 1 } \
		END { exit bad }'

$(BUILD)/xdp_empty.bpf.o: bpf/xdp_empty.bpf.c $(BUILD)/vmlinux.h | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@

# Every user object may include a skeleton: build them first.
$(BUILD)/user/%.o: user/%.c $(SKELS) | $(BUILD)/user
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(XCFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/tests/%.o: tests/unit/%.c $(SKELS) | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(XCFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/bench/%.o: bench/%.c $(SKELS) | $(BUILD)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(XCFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/san/%.o: user/%.c $(SKELS) | $(BUILD)/san
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(XCFLAGS) $(SAN_FLAGS) -c $< -o $@

$(BUILD)/san/test_%.o: tests/unit/test_%.c $(SKELS) | $(BUILD)/san
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(XCFLAGS) $(SAN_FLAGS) -c $< -o $@

$(BUILD)/san/xmcp: $(SAN_CLI_OBJS) $(SAN_LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(SAN_FLAGS) $^ $(PKG_LIBS) -lelf -lz -o $@

$(BUILD)/san/test_%: $(BUILD)/san/test_%.o $(SAN_LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(SAN_FLAGS) $^ $(PKG_LIBS) -lelf -lz -o $@

$(BUILD)/xmcp: $(CLI_OBJS) $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(PKG_LIBS) -lelf -lz -o $@

$(BUILD)/test_%: $(BUILD)/tests/test_%.o $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(PKG_LIBS) -lelf -lz -o $@

$(BUILD)/bench_%: $(BUILD)/bench/bench_%.o $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(PKG_LIBS) -lelf -lz -o $@

# Test tools stand alone: no skeleton, no library.
$(BUILD)/%: tests/tools/%.c | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(XCFLAGS) $(CFLAGS) $< -o $@

# libFuzzer targets: clang with its runtime, the decoder alone, sanitizers on.
$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c user/lib/%.c | $(BUILD)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_FLAGS) $^ -o $@

# A longer run than the one in `make test`; new inputs go to build/, not the seeds.
# Then the datapath's differential fuzzer: FUZZ_FRAMES frames through the
# XDP program and an independent reference (tests/tools/difffuzz.py).
FUZZ_FRAMES ?= 200000
fuzz: $(FUZZ_BINS) $(BUILD)/xmcp
	mkdir -p $(BUILD)/fuzz-corpus && cp tests/fuzz/corpus/* $(BUILD)/fuzz-corpus/
	$(BUILD)/fuzz_mp_convert -max_total_time=$(FUZZ_SECS) $(BUILD)/fuzz-corpus
	/usr/bin/python3 tests/tools/difffuzz.py --frames $(FUZZ_FRAMES) --xmcp $(BUILD)/xmcp

# The suite on this kernel, then its VM part (tests/run.sh: VM_TESTS) on
# VMTEST_KERNEL; `make test VMTEST_KERNEL=` runs this kernel's part only.
VMTEST_KERNEL ?= debian
test: all
	VMTEST_KERNEL=$(VMTEST_KERNEL) tests/run.sh

# The suite in a VM on another kernel: KERNEL is a path, a release or
# `debian`; TESTS are bats files or arguments (default: all). vmtest/README.md.
KERNEL ?= debian
vmtest: all
	vmtest/run.sh --kernel $(KERNEL) -- $(TESTS)

bench: all
	bench/run.sh $(if $(QUICK),--quick)

demo: all
	scripts/demo.sh

# The binary, the systemd unit and the example policies; DESTDIR for staging.
PREFIX ?= /usr/local
install: $(BUILD)/xmcp
	install -D -m 0755 $(BUILD)/xmcp $(DESTDIR)$(PREFIX)/sbin/xmcp
	install -D -m 0644 contrib/xmcp@.service $(DESTDIR)/etc/systemd/system/xmcp@.service
	install -d $(DESTDIR)$(PREFIX)/share/xmcp/policies $(DESTDIR)/etc/xmcp
	install -m 0644 policies/*.json $(DESTDIR)$(PREFIX)/share/xmcp/policies/
	install -m 0644 docs/policy.md $(DESTDIR)$(PREFIX)/share/xmcp/
	install -D -m 0644 contrib/xmcp-anycast.conf $(DESTDIR)$(PREFIX)/share/xmcp/contrib/xmcp-anycast.conf

clean:
	rm -rf $(BUILD)

# Skeletons and objects are wanted results, not intermediates to delete
# (make would otherwise remove them, and print so after the test summary).
.SECONDARY:

# (Not xmcp.bpf.d: a build from before the datapath was split left one
# that names bpf/xmcp.bpf.c, which is gone; the linked object has none.)
-include $(filter-out $(BUILD)/xmcp.bpf.d,$(wildcard $(BUILD)/*.d $(BUILD)/bpf/*.d $(BUILD)/user/*.d \
	   $(BUILD)/user/*/*.d $(BUILD)/tests/*.d $(BUILD)/bench/*.d $(BUILD)/san/*.d $(BUILD)/san/*/*.d))
