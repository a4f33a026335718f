# nsmgr — named, pinned network namespaces.
#
#   make                 build nsmgrctl and nsmgrd
#   make demo            install what is needed, build, run nsmgr's main job
#                        on the example config in a sandbox
#   make check           install missing Debian packages, build with -Werror,
#                        run unit and system tests (as root, in a sandbox)
#   make check-vm        install what the VM tests need, build, run every
#                        tests/vm/test-*.sh in a qemu VM with Debian's kernel
#                        (for what this machine's kernel lacks, e.g. VRF)
#   make install         DESTDIR=, PREFIX= (default /usr/local): binaries, systemd
#                        units (UNITDIR= from pkg-config systemd), man pages,
#                        the D-Bus policy and interface (DBUSDIR=), the polkit
#                        actions (POLKITDIR=), /etc/nsmgr/nsmgr.conf unless one exists
#   make asan            build with AddressSanitizer + UBSan into build-asan/
#   make bench           install what is needed, build, compare nsmgr with ip,
#                        ip -batch, CNI and C floors in a sandbox; table and
#                        plot in bench/results/ (QUICK=1: a short smoke run)
#   make clean

VERSION     := 0.1.0
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
SBINDIR     ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
SYSCONFDIR  ?= /etc
BUILD       ?= build
# systemd's unit folder, as systemd.pc says (the machine's, whatever PREFIX is:
# systemd does not look in /usr/local for system units).
UNITDIR     ?= $(or $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system)
# The same for dbus-daemon and polkitd, which read only these folders.
DBUSDIR     ?= /usr/share/dbus-1
POLKITDIR   ?= /usr/share/polkit-1

PKGS        := libnl-3.0 libnl-route-3.0 libconfig json-c libsystemd libnftables
PKG_CFLAGS  := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CC          ?= cc
WARNINGS    := -Wall -Wextra -Wmissing-prototypes -Wstrict-prototypes -Wformat=2 \
               -Wshadow -Wvla -fno-common -Wno-unused-parameter -Wno-format-nonliteral
ifeq ($(WERROR),1)
WARNINGS    += -Werror
endif
OPTFLAGS    ?= -O2 -g
CFLAGS      ?=
override CFLAGS += -std=gnu11 $(OPTFLAGS) $(WARNINGS) -D_GNU_SOURCE -DNSMGR_VERSION='"$(VERSION)"' \
               -Insmgr/lib $(PKG_CFLAGS) -MMD -MP
LDFLAGS     ?=
LIBS        := $(PKG_LIBS) -lpthread

ifneq ($(V),1)
Q := @
quiet = @printf '  %-6s %s\n' $(1) $(2);
endif

LIB_SRC     := $(wildcard nsmgr/lib/*.c)
CTL_SRC     := $(wildcard nsmgr/ctl/*.c)
DAEMON_SRC  := $(wildcard nsmgr/daemon/*.c)
LIB_OBJ     := $(LIB_SRC:%.c=$(BUILD)/%.o)
CTL_OBJ     := $(CTL_SRC:%.c=$(BUILD)/%.o)
DAEMON_OBJ  := $(DAEMON_SRC:%.c=$(BUILD)/%.o)
UNITS       := $(patsubst units/%.in,$(BUILD)/units/%,$(wildcard units/*.in))
MANPAGES    := $(wildcard man/*.[58])
UNIT_SRC    := $(wildcard tests/unit/test-*.c)
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_BIN   := $(BUILD)/bench/floor-create $(BUILD)/bench/floor-wire $(BUILD)/bench/timed

all: $(BUILD)/nsmgrctl $(BUILD)/nsmgrd $(UNITS)

$(BUILD)/libnsmgr.a: $(LIB_OBJ)
	$(call quiet,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/nsmgrctl: $(CTL_OBJ) $(BUILD)/libnsmgr.a
	$(call quiet,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/nsmgrd: $(DAEMON_OBJ) $(BUILD)/libnsmgr.a
	$(call quiet,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# The units name the installed binaries; they are made again when BINDIR or
# SBINDIR change (the stamp is rewritten only then).
$(BUILD)/paths: FORCE
	$(Q)mkdir -p $(BUILD)
	$(Q)echo 'BINDIR=$(BINDIR) SBINDIR=$(SBINDIR)' | cmp -s - $@ || echo 'BINDIR=$(BINDIR) SBINDIR=$(SBINDIR)' > $@

$(BUILD)/units/%: units/%.in $(BUILD)/paths
	$(call quiet,GEN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SBINDIR@|$(SBINDIR)|g' $< > $@.tmp && mv $@.tmp $@

$(BUILD)/%.o: %.c
	$(call quiet,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/test-%: tests/unit/test-%.c $(BUILD)/libnsmgr.a
	$(call quiet,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) -lcmocka

$(BUILD)/bench/floor-%: bench/floor-%.c
	$(call quiet,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBS)

# No libraries: its own pages count in the RSS it reports.
$(BUILD)/bench/timed: bench/timed.c
	$(call quiet,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

unit: $(UNIT_BIN)
	$(Q)for t in $(UNIT_BIN); do echo "== $$t"; $$t || exit 1; done

deps:
	$(Q)tests/deps.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/demo $(BUILD)

check: deps
	$(Q)$(MAKE) --no-print-directory WERROR=1 all $(UNIT_BIN)
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)tests/run-system-tests $(BUILD)

vm-deps:
	$(Q)tests/vm/deps.sh

check-vm: deps vm-deps
	$(Q)$(MAKE) --no-print-directory WERROR=1 all
	$(Q)tests/vm/run-vm-tests --build $(BUILD)

bench-deps:
	$(Q)bench/deps.sh

bench: deps bench-deps
	$(Q)$(MAKE) --no-print-directory all $(BENCH_BIN)
	$(Q)bench/run $(BUILD) $(if $(QUICK),--quick) $(BENCH_ARGS)

asan:
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan WERROR=1 OPTFLAGS='$(ASAN_FLAGS)' all

ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
ASAN_ENV   := ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

check-asan: deps asan
	$(Q)$(ASAN_ENV) $(MAKE) --no-print-directory BUILD=build-asan WERROR=1 OPTFLAGS='$(ASAN_FLAGS)' unit
	$(Q)$(ASAN_ENV) tests/run-system-tests build-asan

# The reference config goes to /etc/nsmgr/nsmgr.conf only if there is none:
# an administrator's config is never overwritten.
install: all
	install -Dm755 $(BUILD)/nsmgrctl $(DESTDIR)$(BINDIR)/nsmgrctl
	install -Dm755 $(BUILD)/nsmgrd $(DESTDIR)$(SBINDIR)/nsmgrd
	install -d $(DESTDIR)$(UNITDIR)
	install -m644 $(UNITS) $(DESTDIR)$(UNITDIR)/
	for m in $(MANPAGES); do install -Dm644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/} || exit 1; done
	install -Dm644 nsmgr/daemon/org.nsmgr1.conf $(DESTDIR)$(DBUSDIR)/system.d/org.nsmgr1.conf
	install -Dm644 nsmgr/daemon/org.nsmgr1.Manager.xml $(DESTDIR)$(DBUSDIR)/interfaces/org.nsmgr1.Manager.xml
	install -Dm644 nsmgr/daemon/org.nsmgr1.policy $(DESTDIR)$(POLKITDIR)/actions/org.nsmgr1.policy
	install -d $(DESTDIR)$(SYSCONFDIR)/nsmgr/conf.d
	test -e $(DESTDIR)$(SYSCONFDIR)/nsmgr/nsmgr.conf || \
		install -m644 conf/nsmgr.conf $(DESTDIR)$(SYSCONFDIR)/nsmgr/nsmgr.conf

clean:
	rm -rf build build-asan

format:
	clang-format -i nsmgr/*/*.c nsmgr/*/*.h tests/unit/*.c

FORCE:

.PHONY: all unit deps demo check vm-deps check-vm bench-deps bench asan check-asan install clean format FORCE

-include $(LIB_OBJ:.o=.d) $(CTL_OBJ:.o=.d) $(DAEMON_OBJ:.o=.d) $(BENCH_BIN:=.d)
