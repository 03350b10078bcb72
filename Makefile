# fcsnap - Firecracker snapshot tools.  See README.
#
#   make                 build every program and libfcsnap.a into $(O)
#   make check           build, then run the whole TAP suite with prove
#   make check SANITIZE=1  the same under ASan+UBSan (objects in build/san)
#   make STATIC=1        static binaries
#   make install PREFIX=/usr/local DESTDIR=
#   make fuzz            libFuzzer targets (clang) into build/fuzz
#   make demo            build, then make a demo snapshot and run code in it
#
# Everything is found by directory, so adding a file needs no edit here:
#   common/*.c  -> libfcsnap.a      cmd/*.c   -> bin/<name>
#   guest/*.c   -> bin/<name> (static unless SANITIZE)
#   t/unit/*.c  -> t/unit/<name> (TAP)   t/helpers/*.c -> t/<name>
#   t/standin/*.c -> t/fc-standin (the Firecracker stand-in)

VERSION  = 0.1.0
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
CC      ?= cc
AR      ?= ar
PROVE   ?= prove
JOBS    ?= 2

ifeq ($(SANITIZE),1)
O       ?= build/san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
O       ?= build
SANFLAGS =
endif

WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-unused-parameter -Wformat=2
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DFCSNAP_VERSION='"$(VERSION)"' $(WARN) \
           -Icommon $(CFLAGS) $(SANFLAGS)
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)
ifeq ($(STATIC),1)
ALL_LDFLAGS += -static
endif
GUEST_LDFLAGS = $(ALL_LDFLAGS)
ifneq ($(SANITIZE),1)
GUEST_LDFLAGS += -static
endif

LIB_SRC   = $(sort $(wildcard common/*.c))
LIB_OBJ   = $(LIB_SRC:%.c=$(O)/%.o)
LIB       = $(O)/libfcsnap.a
HDRS      = $(wildcard common/*.h)
CMD_SRC   = $(sort $(wildcard cmd/*.c))
CMDS      = $(CMD_SRC:cmd/%.c=$(O)/bin/%)
GUEST_SRC = $(sort $(wildcard guest/*.c))
GUESTS    = $(GUEST_SRC:guest/%.c=$(O)/bin/%)
UNIT_SRC  = $(sort $(wildcard t/unit/*.c))
UNITS     = $(UNIT_SRC:t/unit/%.c=$(O)/t/unit/%)
HELP_SRC  = $(sort $(wildcard t/helpers/*.c))
HELPERS   = $(HELP_SRC:t/helpers/%.c=$(O)/t/%)
STAND_SRC = $(sort $(wildcard t/standin/*.c))
STANDIN   = $(if $(STAND_SRC),$(O)/t/fc-standin)
FUZZ_SRC  = $(sort $(wildcard fuzz/*.c))
MANS      = $(sort $(wildcard man/*.[1-8]))

all: $(LIB) $(CMDS) $(GUESTS)
tests: all $(UNITS) $(HELPERS) $(STANDIN)

$(O)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJ)

$(O)/bin/%: $(O)/cmd/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $< $(LIB) $(ALL_LDFLAGS)

$(GUESTS): $(O)/bin/%: $(O)/guest/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $< $(LIB) $(GUEST_LDFLAGS)

$(O)/t/unit/%: $(O)/t/unit/%.o $(LIB)
	$(CC) -o $@ $< $(LIB) $(ALL_LDFLAGS)

$(O)/t/%: $(O)/t/helpers/%.o $(LIB)
	$(CC) -o $@ $< $(LIB) $(ALL_LDFLAGS)

$(STAND_SRC:%.c=$(O)/%.o): t/standin/standin.h

$(O)/t/fc-standin: $(STAND_SRC:%.c=$(O)/%.o) $(LIB)
	$(CC) -o $@ $(STAND_SRC:%.c=$(O)/%.o) $(LIB) $(ALL_LDFLAGS)

# The suite: C unit tests (TAP binaries) and shell scripts t/NNNN-*.t.
# T names a subset: make check T='t/0100-*.t'
T ?= $(UNITS) $(sort $(wildcard t/[0-9]*.t))
check: tests
	FCSNAP_BUILD=$(abspath $(O)) FCSNAP_SRC=$(CURDIR) $(PROVE) -j$(JOBS) $(T)

# libFuzzer targets: fuzz/<name>.c, built with clang over a copy of the
# library instrumented for coverage (FUZZ_O, default build/fuzz).  Run one with
#   nice build/fuzz/<name> -max_total_time=300 fuzz/corpus/<name>
# (t/0960-fuzz.t builds them all and runs each for a few seconds.)
FUZZ_CC  ?= clang
FUZZ_O   ?= build/fuzz
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -DFCSNAP_VERSION='"$(VERSION)"' -Icommon -g -O1 \
           -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_LIB = $(FUZZ_O)/libfcsnap.a
FUZZ_OBJ = $(LIB_SRC:%.c=$(FUZZ_O)/obj/%.o)
FUZZ_BIN = $(FUZZ_SRC:fuzz/%.c=$(FUZZ_O)/%)
fuzz: $(FUZZ_BIN)
$(FUZZ_O)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(WARN) -fsanitize=fuzzer-no-link -c -o $@ $<
$(FUZZ_LIB): $(FUZZ_OBJ)
	rm -f $@
	$(AR) rcs $@ $(FUZZ_OBJ)
$(FUZZ_BIN): $(FUZZ_O)/%: fuzz/%.c $(FUZZ_LIB) $(wildcard fuzz/*.h) $(GUEST_SRC)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(WARN) -Wno-missing-prototypes -fsanitize=fuzzer \
	  -o $@ $< $(FUZZ_LIB)

bench: all tests
	@for b in bench/*/run; do echo "== $$b"; FCSNAP_BUILD=$(abspath $(O)) sh $$b || exit 1; done

# make demo: build, then t/demo.sh: check KVM, make a busybox rootfs, create
# the snapshot (fetching firecracker and a kernel when missing), run code.
demo: all
	@FCSNAP_BUILD=$(abspath $(O)) sh t/demo.sh

install: all
	sh ./install.sh --prefix "$(PREFIX)" --bindir "$(BINDIR)" --mandir "$(MANDIR)" \
	  --destdir "$(DESTDIR)" --from "$(O)/bin"

clean:
	rm -rf build

.PHONY: all tests check fuzz bench demo install clean
.SECONDARY:
