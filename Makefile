# uid-nri-plugin — top-level targets (see README.md).
#   make            build/uid-mapper
#   make check      unit tests + NRI conformance suite (real containerd/nri)
#   make e2e        real containerd + runc node scenarios (root)
#   make e2e-nested the same node one level down: root of a 2048-ID user namespace
#   make demo       one pod as uid 65532 on a 2048-ID pool, explained
#   make bench      micro-benchmarks (print numbers, never fail)
#   make fuzz       libFuzzer over the wire parsers (FUZZ_SECONDS each)
#   make sanitize   unit tests under ASan + UBSan
#   make install    PREFIX=/usr/local DESTDIR=

CC        ?= gcc
PREFIX    ?= /usr/local
DESTDIR   ?=
VERSION   := $(shell git describe --always --dirty 2>/dev/null || echo 0.1.0)
BUILD     ?= build
FUZZ_SECONDS ?= 30

PKGS      := libprotobuf-c yaml-0.1 libarchive
CFLAGS    ?= -O2 -g
override CFLAGS += -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 \
             -fno-strict-aliasing -Isrc -I$(BUILD)/gen \
             -DUID_MAPPER_VERSION='"$(VERSION)"'
LDLIBS    += $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lprotobuf-c -lyaml -larchive)

PROTOS    := $(wildcard src/wire/*.proto)
GEN_C     := $(patsubst src/wire/%.proto,$(BUILD)/gen/%.pb-c.c,$(PROTOS))
GEN_H     := $(GEN_C:.c=.h)
LIB_SRC   := $(filter-out src/main.c,$(wildcard src/*/*.c))
LIB_OBJ   := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRC)) \
             $(patsubst $(BUILD)/gen/%.c,$(BUILD)/obj/gen/%.o,$(GEN_C))
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
DEPS_STAMP := $(BUILD)/.deps-build

.PHONY: all check unit conformance e2e e2e-nested demo bench fuzz sanitize install clean deps
.DEFAULT_GOAL := all

all: $(BUILD)/uid-mapper

$(DEPS_STAMP): scripts/deps.sh
	@mkdir -p $(@D)
	scripts/deps.sh build
	@touch $@
deps: $(DEPS_STAMP)

# Generated sources are kept: tests, fuzz targets and benchmarks include the headers.
.SECONDARY: $(GEN_C) $(GEN_H)
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: src/wire/%.proto | $(DEPS_STAMP)
	@mkdir -p $(BUILD)/gen
	protoc-c --proto_path=src/wire --c_out=$(BUILD)/gen $<

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(filter-out -Wshadow,$(CFLAGS)) -MMD -MP -c -o $@ $<

$(BUILD)/obj/%.o: src/%.c $(GEN_H) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libuidmapper.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/uid-mapper: $(BUILD)/obj/main.o $(BUILD)/libuidmapper.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(BUILD)/libuidmapper.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(BUILD)/libuidmapper.a $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libuidmapper.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libuidmapper.a $(LDLIBS)

# The kernel-facing tests run again as root of a user namespace that holds
# only 2048 IDs, like a usernetes node (design notes, fact 7).
NESTED_BIN := $(addprefix $(BUILD)/tests/,test_userns test_podmounts test_kernel_map test_mapper)

unit: $(UNIT_BIN) $(BUILD)/tests/usernetes_node $(BUILD)/uid-mapper
	tests/run-unit.sh $(UNIT_BIN) --nested $(BUILD)/tests/usernetes_node $(NESTED_BIN)

conformance: $(BUILD)/uid-mapper
	scripts/deps.sh test
	tests/conformance/run.sh

check: all
	tests/run-suites.sh unit conformance

e2e: all
	scripts/deps.sh test
	tests/e2e/run.sh

# The launcher of the nested node: root of a user namespace with a given map.
$(BUILD)/tests/usernetes_node: tests/usernetes_node.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

e2e-nested: all $(BUILD)/tests/usernetes_node
	scripts/deps.sh test
	tests/e2e/run.sh nested

demo: all
	scripts/deps.sh test
	tests/e2e/demo.sh

bench: $(BENCH_BIN) $(BUILD)/uid-mapper
	scripts/deps.sh test
	@for b in $(BENCH_BIN); do echo "== $$b"; $$b || exit 1; done
	@[ ! -x bench/run-extra.sh ] || bench/run-extra.sh
	@echo "== CreateContainer round trips through the real NRI adaptation"
	tests/conformance/run.sh --bench

fuzz:
	scripts/deps.sh test
	$(MAKE) --no-print-directory BUILD=$(BUILD)/fuzz CC=clang \
	    CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" $(BUILD)/fuzz/libuidmapper.a
	fuzz/run.sh $(BUILD)/fuzz $(FUZZ_SECONDS)

sanitize:
	$(MAKE) --no-print-directory BUILD=$(BUILD)/sanitize CC=clang \
	    CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	    LDFLAGS="-fsanitize=address,undefined" unit

install: all
	install -D -m 0755 $(BUILD)/uid-mapper $(DESTDIR)$(PREFIX)/bin/uid-mapper
	install -D -m 0644 packaging/uid-mapper.conf $(DESTDIR)$(PREFIX)/share/uid-mapper/uid-mapper.conf
	mkdir -p $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|@bindir@|$(PREFIX)/bin|' packaging/uid-mapper.service.in \
	    > $(DESTDIR)$(PREFIX)/lib/systemd/system/uid-mapper.service

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
