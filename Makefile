# nsmgr — named, pinned network namespaces.
#
#   make                 build nsmgrctl, nsmgrd and nsmgr-runtime
#   make demo            install what is needed, build, run nsmgr's main job
#                        on the example config in a sandbox
#   make check           install missing Debian packages, build with -Werror,
#                        run unit and system tests (as root, in a sandbox)
#   make check-vm        install what the VM tests need, build, run every
#                        tests/vm/test-*.sh in a qemu VM with Debian's kernel
#                        (for what this machine's kernel lacks, e.g. VRF)
#   make install         DESTDIR=, PREFIX= (default /usr/local): binaries
#                        (nsmgr-runtime's helper in LIBEXECDIR/nsmgr), systemd
#                        units (UNITDIR= from pkg-config systemd), tmpfiles.d,
#                        man pages, bash and zsh completion, examples, the
#                        D-Bus policy and interface (DBUSDIR=), the polkit
#                        actions (POLKITDIR=),
#                        /etc/nsmgr/nsmgr.conf unless one exists, the CNI
#                        plugin into CNIDIRS= (/usr/lib/cni /opt/cni/bin); CPPFLAGS,
#                        CFLAGS and LDFLAGS from the environment are used
#   make uninstall       the same DESTDIR=, PREFIX=: removes what install
#                        installed (the config only if it was not changed)
#   make deb             a Debian package in build/deb/ (dpkg-buildpackage -b on
#                        a copy of the tree as git sees it)
#   make check-deb       build it, lintian, hardening-check, install it into a
#                        copy-on-write root, run it, purge it (tests/deb/)
#   make torture         kill -9 at chosen points, concurrent workers, daemon
#                        kills: many rounds of tests/system/test_trust.py
#   make asan            build with AddressSanitizer + UBSan into build-asan/
#   make fuzz            build every tests/fuzz/fuzz-NAME.c with clang's libFuzzer
#                        (+ ASan, UBSan) into build-fuzz/ and run each for
#                        FUZZ_SECONDS (default 600) on top of its corpus,
#                        tests/fuzz/corpus/NAME/; fails on a crash, leak or hang
#   make check-fuzz      what CI runs: every fuzz target replays its corpus and
#                        tests/fuzz/regressions/NAME/, then fuzzes for
#                        FUZZ_SECONDS (default 60)
#   make bench           install what is needed, build, compare nsmgr with ip,
#                        ip -batch, CNI and C floors in a sandbox; table and
#                        plot in bench/results/ (QUICK=1: a short smoke run)
#   make bench-docker    what nsmgr-runtime adds to `docker run`: its calls per run
#                        and each call's cost against a stub (bench/spawn-pair.c),
#                        and the end-to-end run against runc, with
#                        a dockerd of its own in a sandbox; bench/results/docker.md
#   make bench-scale     nsmgr at up to 10,000 namespaces (apply, re-apply,
#                        list, nsmgrd start, memory, drift-to-repair latency);
#                        bench/results/scale/ (QUICK=1: up to 1000)
#   make bench-cni       CNI ADD+DEL per pod, the nsmgr plugin against
#                        bridge+host-local+loopback, N = 100 and 500;
#                        bench/results/cni/
#   make clean

VERSION     := 0.1.0
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
SBINDIR     ?= $(PREFIX)/sbin
LIBEXECDIR  ?= $(PREFIX)/libexec
MANDIR      ?= $(PREFIX)/share/man
SYSCONFDIR  ?= /etc
# Where CNI runtimes look for plugins: Debian's (containernetworking-plugins,
# podman) and the upstream default (containerd, kubelet), whatever PREFIX is.
CNIDIRS     ?= /usr/lib/cni /opt/cni/bin
DOCDIR      ?= $(PREFIX)/share/doc/nsmgr
EXAMPLEDIR  ?= $(DOCDIR)/examples
# bash-completion and zsh look under /usr/local too. Debian's zsh looks in
# vendor-completions for packaged ones (debian/rules says so).
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
BUILD       ?= build
# systemd's unit and tmpfiles.d folders, as systemd.pc says (the machine's,
# whatever PREFIX is: systemd does not look in /usr/local for them).
UNITDIR     ?= $(or $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system)
TMPFILESDIR ?= $(or $(shell pkg-config --variable=tmpfilesdir systemd 2>/dev/null),/usr/lib/tmpfiles.d)
# The same for dbus-daemon and polkitd, which read only these folders.
DBUSDIR     ?= /usr/share/dbus-1
POLKITDIR   ?= /usr/share/polkit-1

PKGS        := libnl-3.0 libnl-route-3.0 libconfig json-c libsystemd
# Loaded with dlopen() when a command needs them (nsmgr/lib/dlopen-*.c):
# their headers, never a link.
DLOPEN_PKGS := libnftables
PKG_CFLAGS  := $(shell pkg-config --cflags $(PKGS) $(DLOPEN_PKGS) 2>/dev/null)
PKG_LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CC          ?= cc
WARNINGS    := -Wall -Wextra -Wmissing-prototypes -Wstrict-prototypes -Wformat=2 \
               -Wshadow -Wvla -fno-common -Wno-unused-parameter -Wno-format-nonliteral
ifeq ($(WERROR),1)
WARNINGS    += -Werror
endif
OPTFLAGS    ?= -O2 -g
CFLAGS      ?=
override CFLAGS += -std=gnu11 $(OPTFLAGS) $(WARNINGS) -MMD -MP
# The preprocessor's flags come after the caller's (dpkg-buildflags puts
# -D_FORTIFY_SOURCE=2 there).
CPPFLAGS    ?=
override CPPFLAGS += -D_GNU_SOURCE -DNSMGR_VERSION='"$(VERSION)"' -Insmgr/lib -Insmgr/cni $(PKG_CFLAGS)
LDFLAGS     ?=
LIBS        := $(PKG_LIBS) -lpthread

ifneq ($(V),1)
Q := @
quiet = @printf '  %-6s %s\n' $(1) $(2);
endif

LIB_SRC     := $(wildcard nsmgr/lib/*.c)
CTL_SRC     := $(wildcard nsmgr/ctl/*.c)
DAEMON_SRC  := $(wildcard nsmgr/daemon/*.c)
CNI_SRC     := $(wildcard nsmgr/cni/*.c)
CNI_MAIN    := $(BUILD)/nsmgr/cni/cni-main.o
RUNTIME_OBJ := $(BUILD)/nsmgr/runtime/nsmgr-runtime.o
RUNTIME_NET_OBJ := $(BUILD)/nsmgr/runtime/nsmgr-runtime-network.o
LIB_OBJ     := $(LIB_SRC:%.c=$(BUILD)/%.o)
CTL_OBJ     := $(CTL_SRC:%.c=$(BUILD)/%.o)
DAEMON_OBJ  := $(DAEMON_SRC:%.c=$(BUILD)/%.o)
CNI_OBJ     := $(CNI_SRC:%.c=$(BUILD)/%.o)
UNITS       := $(patsubst units/%.in,$(BUILD)/units/%,$(wildcard units/*.in))
MANPAGES    := $(wildcard man/*.[58])
EXAMPLES    := $(wildcard conf/*.conf)
UNIT_SRC    := $(wildcard tests/unit/test-*.c)
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_BIN   := $(BUILD)/bench/floor-create $(BUILD)/bench/floor-wire $(BUILD)/bench/floor-reread $(BUILD)/bench/floor-cni $(BUILD)/bench/timed \
               $(BUILD)/bench/repair-latency $(BUILD)/bench/spawn-pair $(BUILD)/bench/exec-floor

# The CNI plugin is named after its "type" in a network configuration, in a
# folder of its own so that CNI_PATH=$(BUILD)/cni finds it.
CNI_BIN     := $(BUILD)/cni/nsmgr

all: $(BUILD)/nsmgrctl $(BUILD)/nsmgrd $(BUILD)/nsmgr-runtime $(BUILD)/nsmgr-runtime-network $(CNI_BIN) $(UNITS)

$(BUILD)/libnsmgr.a: $(LIB_OBJ)
	$(call quiet,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# $(call archive_libs,STATIC,PKGS): the link flags of the pkg-config
# packages PKGS, taken from their archives when STATIC is 1 (glibc stays
# shared), from their shared libraries otherwise.
LINK_STATIC  := -Wl,-Bstatic
LINK_DYNAMIC := -Wl,-Bdynamic
archive_libs = $(if $(filter 1,$(1)),$(LINK_STATIC) $(shell pkg-config --libs $(2) 2>/dev/null) $(LINK_DYNAMIC) -lpthread -lm,$(shell pkg-config --libs $(2) 2>/dev/null) -lpthread)

# nsmgrctl is what runtimes and scripts run once per container, so its
# start-up is their latency: libnl, libconfig and json-c are linked in (only
# the parts it uses; the dynamic loader then maps libc alone), which makes
# `create` + `delete` about 2 ms a pair cheaper here than with the four
# shared libraries, and faster than `ip netns add` + `del` (bench/, oneshot).
# libnftables stays a dlopen() on first use. CTL_STATIC=0 links them
# dynamically, as Debian's policy prefers.
CTL_STATIC  ?= 1
CTL_PKGS    := libnl-3.0 libnl-route-3.0 libconfig json-c
CTL_LIBS    := $(call archive_libs,$(CTL_STATIC),$(CTL_PKGS))

$(BUILD)/nsmgrctl: $(CTL_OBJ) $(CNI_MAIN) $(BUILD)/libnsmgr.a
	$(call quiet,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(CTL_LIBS)

$(BUILD)/nsmgrd: $(DAEMON_OBJ) $(BUILD)/libnsmgr.a
	$(call quiet,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# nsmgr-runtime runs for every verb docker or containerd hands a runtime
# (create, start, kill, delete, ...), so it starts like a small program: it
# needs only json-c and libnl (for the namespace code), and none of what the
# network code pulls in (libnftables, libconfig), which nsmgr-runtime-network
# links instead. RUNTIME_STATIC picks how (bench/docker measures it):
#   full  (the default when libc.a, rcrt1.o and the archives exist) one
#         static PIE, glibc included: no dynamic loader, no libc.so to map
#         and relocate; about 0.7 ms less per runtime call than "libs" here.
#         glibc warns that getaddrinfo, getprotobyname and getprotobynumber
#         would need its NSS modules at run time: libnl's nl_addr_info,
#         nl_str2ip_proto and nl_ip_proto2str call them, and nothing in the
#         shim calls those three (objdump -d finds no call or address of
#         them), so the warnings are filtered out of the build log.
#   libs  libnl and json-c from their archives, glibc shared (the default
#         when libc.a is missing or a sanitizer is on; what debian/rules
#         asks for).
#   0     everything shared.
RUNTIME_LIBS_STATIC := $(shell for l in nl-route-3 nl-3 json-c; do f=$$($(CC) -print-file-name=lib$$l.a); \
                          test -f "$$f" || { echo no; exit; }; done; echo yes)
RUNTIME_LIBC_STATIC := $(shell for f in libc.a rcrt1.o; do test -f "$$($(CC) -print-file-name=$$f)" || \
                          { echo no; exit; }; done; echo yes)
# The sanitizers' run-time libraries cannot be linked statically (make asan).
ifneq ($(findstring -fsanitize,$(CFLAGS) $(LDFLAGS)),)
RUNTIME_LIBC_STATIC := no
endif
ifeq ($(RUNTIME_LIBS_STATIC),yes)
RUNTIME_STATIC ?= $(if $(filter yes,$(RUNTIME_LIBC_STATIC)),full,libs)
else
RUNTIME_STATIC ?= 0
endif
ifeq ($(RUNTIME_STATIC),full)
RUNTIME_LDFLAGS := -static-pie
RUNTIME_LIBS := -lnl-route-3 -lnl-3 -ljson-c -lpthread -lm
# Only the three warnings above, which say nothing about the shim, are dropped.
RUNTIME_LD_QUIET := -e "warning: Using 'get\(addrinfo\|protobyname\|protobynumber\)' in statically linked" \
                    -e 'in function .nl_\(addr_info\|str2ip_proto\|ip_proto2str\).:$$'
else ifeq ($(RUNTIME_STATIC),libs)
RUNTIME_LIBS := -Wl,-Bstatic -lnl-route-3 -lnl-3 -ljson-c -Wl,-Bdynamic -lpthread -lm
else
RUNTIME_LIBS := $(shell pkg-config --libs libnl-3.0 libnl-route-3.0 json-c 2>/dev/null) -lpthread -lm
endif

$(BUILD)/nsmgr-runtime: $(RUNTIME_OBJ) $(BUILD)/libnsmgr.a
	$(call quiet,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $(RUNTIME_LDFLAGS) -o $@ $^ $(RUNTIME_LIBS) 2>$@.log; r=$$?; \
		$(if $(RUNTIME_LD_QUIET),grep -v $(RUNTIME_LD_QUIET),cat) $@.log >&2; rm -f $@.log; exit $$r

$(BUILD)/nsmgr-runtime-network: $(RUNTIME_NET_OBJ) $(BUILD)/libnsmgr.a
	$(call quiet,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(RUNTIME_OBJ): override CFLAGS += -DNSMGR_LIBEXECDIR='"$(LIBEXECDIR)/nsmgr"'
$(RUNTIME_OBJ): $(BUILD)/paths

# The CNI plugin starts once per pod and operation: without the engine
# (nothing in it refers to reconcile.c), and so without libnftables and its
# libraries, and with libnl, json-c and libconfig linked in (only the parts
# it uses: no libnl-route constructors registering every qdisc, no
# /etc/libnl/classid), start-up costs about a third less. CNI_STATIC=0
# links them dynamically, as Debian's policy prefers.
CNI_STATIC  ?= 1
CNI_PKGS    := libnl-3.0 libnl-route-3.0 libconfig json-c
CNI_LIBS    := $(call archive_libs,$(CNI_STATIC),$(CNI_PKGS))

$(CNI_BIN): $(CNI_OBJ) $(BUILD)/libnsmgr.a
	$(call quiet,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(CNI_LIBS)

# The plugin hands requests that need the engine to the installed nsmgrctl.
$(BUILD)/nsmgr/cni/cni-main.o: override CFLAGS += -DNSMGRCTL_PATH='"$(BINDIR)/nsmgrctl"'
$(BUILD)/nsmgr/cni/cni-main.o: $(BUILD)/paths

# The units name the installed binaries, nsmgr-runtime its helper; they are
# made again when BINDIR, SBINDIR or LIBEXECDIR change (the stamp is
# rewritten only then).
$(BUILD)/paths: FORCE
	$(Q)mkdir -p $(BUILD)
	$(Q)echo 'BINDIR=$(BINDIR) SBINDIR=$(SBINDIR) LIBEXECDIR=$(LIBEXECDIR)' | cmp -s - $@ || \
		echo 'BINDIR=$(BINDIR) SBINDIR=$(SBINDIR) LIBEXECDIR=$(LIBEXECDIR)' > $@

$(BUILD)/units/%: units/%.in $(BUILD)/paths
	$(call quiet,GEN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SBINDIR@|$(SBINDIR)|g' $< > $@.tmp && mv $@.tmp $@

$(BUILD)/%.o: %.c
	$(call quiet,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/test-%: tests/unit/test-%.c $(BUILD)/libnsmgr.a
	$(call quiet,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) -lcmocka

# The allocation-failure test fails allocations that nsmgr's own objects make.
ALLOC_WRAP  := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup,--wrap=asprintf,--wrap=vasprintf
$(BUILD)/tests/test-config-alloc: LDFLAGS += $(ALLOC_WRAP)

$(BUILD)/bench/floor-%: bench/floor-%.c
	$(call quiet,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBS)

$(BUILD)/bench/repair-latency: bench/repair-latency.c
	$(call quiet,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBS)

# No libraries: its own pages count in the RSS it reports.
$(BUILD)/bench/timed: bench/timed.c
	$(call quiet,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $<

$(BUILD)/bench/spawn-pair: bench/spawn-pair.c
	$(call quiet,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $<

# Linked as nsmgr-runtime is, so that bench/docker compares like with like.
$(BUILD)/bench/exec-floor: bench/exec-floor.c
	$(call quiet,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(RUNTIME_LDFLAGS) -o $@ $<

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

bench-docker: deps
	$(Q)$(MAKE) --no-print-directory all $(BUILD)/bench/spawn-pair $(BUILD)/bench/exec-floor
	$(Q)bench/docker $(BUILD) $(if $(QUICK),--quick) $(BENCH_ARGS)

# Up to 10,000 namespaces on bridges of 1000: apply, re-apply, list, nsmgrd's
# start and memory, event-to-repair latency; bench/results/scale/.
bench-scale: deps bench-deps
	$(Q)$(MAKE) --no-print-directory all $(BENCH_BIN)
	$(Q)bench/run $(BUILD) --scale $(if $(QUICK),--quick) $(BENCH_ARGS)

# The CNI workload (make bench leaves it out, to stay within 30 minutes):
# bench/results/cni/.
bench-cni: deps bench-deps
	$(Q)$(MAKE) --no-print-directory all $(BENCH_BIN)
	$(Q)bench/run $(BUILD) --cni $(if $(QUICK),--quick) $(BENCH_ARGS)

asan:
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan WERROR=1 OPTFLAGS='$(ASAN_FLAGS)' all

ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
ASAN_ENV   := ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

# kill -9 at chosen points of apply, tear-down, attach and detach (50 each),
# 8 workers for 60 s, nsmgrd killed 20 times while it repairs; the figures go
# to build/torture.jsonl (README: Reliability).
TORTURE_ENV := TORTURE_ROUNDS=$(or $(ROUNDS),50) TORTURE_SECONDS=$(or $(SECONDS),60) \
               TORTURE_DAEMON_KILLS=$(or $(KILLS),20) TORTURE_REPORT=$(abspath $(BUILD))/torture.jsonl

torture: deps
	$(Q)$(MAKE) --no-print-directory WERROR=1 all
	$(Q)rm -f $(BUILD)/torture.jsonl
	$(Q)$(TORTURE_ENV) tests/run-system-tests $(BUILD) tests/system/test_trust.py
	$(Q)cat $(BUILD)/torture.jsonl

check-asan: deps asan
	$(Q)$(ASAN_ENV) $(MAKE) --no-print-directory BUILD=build-asan WERROR=1 OPTFLAGS='$(ASAN_FLAGS)' unit
	$(Q)$(ASAN_ENV) tests/run-system-tests build-asan

# The reference config goes to /etc/nsmgr/nsmgr.conf only if there is none:
# an administrator's config is never overwritten.
install: all
	install -Dm755 $(BUILD)/nsmgrctl $(DESTDIR)$(BINDIR)/nsmgrctl
	install -Dm755 $(BUILD)/nsmgrd $(DESTDIR)$(SBINDIR)/nsmgrd
	install -Dm755 $(BUILD)/nsmgr-runtime $(DESTDIR)$(BINDIR)/nsmgr-runtime
	install -Dm755 $(BUILD)/nsmgr-runtime-network $(DESTDIR)$(LIBEXECDIR)/nsmgr/nsmgr-runtime-network
	install -d $(DESTDIR)$(UNITDIR)
	install -m644 $(UNITS) $(DESTDIR)$(UNITDIR)/
	install -Dm644 tmpfiles.d/nsmgr.conf $(DESTDIR)$(TMPFILESDIR)/nsmgr.conf
	for m in $(MANPAGES); do install -Dm644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/} || exit 1; done
	install -Dm644 shell-completion/bash/nsmgrctl $(DESTDIR)$(BASHCOMPDIR)/nsmgrctl
	install -Dm644 shell-completion/zsh/_nsmgrctl $(DESTDIR)$(ZSHCOMPDIR)/_nsmgrctl
	install -d $(DESTDIR)$(EXAMPLEDIR)
	install -m644 $(EXAMPLES) $(DESTDIR)$(EXAMPLEDIR)/
	install -Dm644 conf/iproute2/rt_protos.d-nsmgr.conf $(DESTDIR)$(SYSCONFDIR)/iproute2/rt_protos.d/nsmgr.conf
	install -Dm644 nsmgr/daemon/org.nsmgr1.conf $(DESTDIR)$(DBUSDIR)/system.d/org.nsmgr1.conf
	install -Dm644 nsmgr/daemon/org.nsmgr1.Manager.xml $(DESTDIR)$(DBUSDIR)/interfaces/org.nsmgr1.Manager.xml
	install -Dm644 nsmgr/daemon/org.nsmgr1.policy $(DESTDIR)$(POLKITDIR)/actions/org.nsmgr1.policy
	install -d $(DESTDIR)$(SYSCONFDIR)/nsmgr/conf.d
	test -e $(DESTDIR)$(SYSCONFDIR)/nsmgr/nsmgr.conf || \
		install -m644 conf/nsmgr.conf $(DESTDIR)$(SYSCONFDIR)/nsmgr/nsmgr.conf
	for d in $(CNIDIRS); do install -Dm755 $(CNI_BIN) $(DESTDIR)$$d/nsmgr || exit 1; done

# What install installed. The config goes only as the reference installed it
# (an edited one is the administrator's), folders only when empty; the state
# under /var/lib/nsmgr (leases) stays.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/nsmgrctl $(DESTDIR)$(SBINDIR)/nsmgrd $(DESTDIR)$(BINDIR)/nsmgr-runtime
	rm -f $(DESTDIR)$(LIBEXECDIR)/nsmgr/nsmgr-runtime-network
	-rmdir $(DESTDIR)$(LIBEXECDIR)/nsmgr 2>/dev/null
	rm -f $(patsubst $(BUILD)/units/%,$(DESTDIR)$(UNITDIR)/%,$(UNITS))
	rm -f $(DESTDIR)$(TMPFILESDIR)/nsmgr.conf
	rm -f $(DESTDIR)$(SYSCONFDIR)/iproute2/rt_protos.d/nsmgr.conf
	-rmdir $(DESTDIR)$(SYSCONFDIR)/iproute2/rt_protos.d $(DESTDIR)$(SYSCONFDIR)/iproute2 2>/dev/null
	rm -f $(foreach m,$(MANPAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m)))
	rm -f $(DESTDIR)$(BASHCOMPDIR)/nsmgrctl $(DESTDIR)$(ZSHCOMPDIR)/_nsmgrctl
	rm -f $(DESTDIR)$(DBUSDIR)/system.d/org.nsmgr1.conf $(DESTDIR)$(DBUSDIR)/interfaces/org.nsmgr1.Manager.xml
	rm -f $(DESTDIR)$(POLKITDIR)/actions/org.nsmgr1.policy
	for d in $(CNIDIRS); do rm -f $(DESTDIR)$$d/nsmgr; rmdir $(DESTDIR)$$d 2>/dev/null; done; true
	rm -f $(addprefix $(DESTDIR)$(EXAMPLEDIR)/,$(notdir $(EXAMPLES)))
	-rmdir $(DESTDIR)$(EXAMPLEDIR) $(DESTDIR)$(DOCDIR) 2>/dev/null
	if cmp -s conf/nsmgr.conf $(DESTDIR)$(SYSCONFDIR)/nsmgr/nsmgr.conf; then \
		rm -f $(DESTDIR)$(SYSCONFDIR)/nsmgr/nsmgr.conf; \
	elif [ -e $(DESTDIR)$(SYSCONFDIR)/nsmgr/nsmgr.conf ]; then \
		echo "$(DESTDIR)$(SYSCONFDIR)/nsmgr/nsmgr.conf was changed: kept"; \
	fi
	-rmdir $(DESTDIR)$(SYSCONFDIR)/nsmgr/conf.d $(DESTDIR)$(SYSCONFDIR)/nsmgr 2>/dev/null

# dpkg-buildpackage writes next to the source folder: the copy in
# $(DEBDIR)/nsmgr-$(VERSION) keeps it all under build/. The copy holds what
# git would commit now (tracked and new files, nothing ignored), so a build
# from it is one from a clean clone with the work tree's changes.
DEBDIR := $(BUILD)/deb

deb-deps:
	$(Q)tests/deb/deps.sh

deb: deb-deps
	$(Q)rm -rf $(DEBDIR) && mkdir -p $(DEBDIR)/nsmgr-$(VERSION)
	$(Q)if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z --cached --others --exclude-standard; \
	else \
		find . -path ./build -prune -o -path ./build-asan -prune -o -type f -print0; \
	fi | tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -C $(DEBDIR)/nsmgr-$(VERSION) -xf -
	$(Q)cd $(DEBDIR)/nsmgr-$(VERSION) && dpkg-buildpackage -us -uc -b $(DEB_BUILD_ARGS)
	$(Q)ls $(DEBDIR)/*.deb

check-deb: deps deb
	$(Q)tests/deb/run-deb-tests $(DEBDIR)
# --- fuzzing ------------------------------------------------------------------
# Every tests/fuzz/fuzz-NAME.c defines LLVMFuzzerTestOneInput() and is linked
# with libnsmgr.a built by clang with -fsanitize=fuzzer-no-link; its corpus is
# tests/fuzz/corpus/NAME/, inputs that once crashed it are kept in
# tests/fuzz/regressions/NAME/, and tests/fuzz/NAME.dict, if there is one,
# is its dictionary. New inputs found while fuzzing go to build-fuzz/corpus/NAME/
# (merge the interesting ones into the tree with -merge=1); a crash is
# written to build-fuzz/crashes/NAME/ and fails the run.
FUZZ_CC      ?= clang-14
FUZZ_BUILD   := build-fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_FLAGS   := -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
                -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz-*.c)
FUZZ_NAMES   := $(FUZZ_SRC:tests/fuzz/fuzz-%.c=%)
FUZZ_BIN     := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz-%)
FUZZ_ENV     := ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
                LSAN_OPTIONS=suppressions=$(CURDIR)/tests/fuzz/lsan.supp:print_suppressions=0
# -timeout: one input taking this long is a hang; -rss_limit_mb: a runaway.
FUZZ_OPTS    := -timeout=10 -rss_limit_mb=2048 -print_final_stats=1

$(FUZZ_BUILD)/fuzz-%: $(FUZZ_BUILD)/tests/fuzz/fuzz-%.o $(FUZZ_BUILD)/libnsmgr.a
	$(call quiet,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS)

# The objects of the fuzz targets are kept (they are not intermediate files).
.SECONDARY: $(FUZZ_SRC:%.c=$(FUZZ_BUILD)/%.o)

fuzz-deps:
	$(Q)tests/fuzz/deps.sh

fuzz-build: deps fuzz-deps
	$(Q)$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) WERROR=1 OPTFLAGS='$(FUZZ_FLAGS)' $(FUZZ_BIN)

# One target: fuzz-run-NAME (FUZZ_SECONDS of fuzzing), fuzz-replay-NAME
# (the corpus and the regressions, once each). A leak check after every
# input costs five times the speed here (libconfig leaks a token on some
# syntax errors, and LeakSanitizer then scans the heap each time), so the
# fuzzing runs without one and every input it kept is replayed with it.
fuzz-run-%: fuzz-build
	$(Q)mkdir -p $(FUZZ_BUILD)/corpus/$* $(FUZZ_BUILD)/crashes/$*
	$(Q)echo "== fuzz-$* for $(FUZZ_SECONDS) s"
	$(Q)$(FUZZ_ENV) $(FUZZ_BUILD)/fuzz-$* $(FUZZ_OPTS) -detect_leaks=0 -max_total_time=$(FUZZ_SECONDS) \
		-artifact_prefix=$(FUZZ_BUILD)/crashes/$*/ $(if $(wildcard tests/fuzz/$*.dict),-dict=tests/fuzz/$*.dict) \
		$(FUZZ_BUILD)/corpus/$* $(wildcard tests/fuzz/corpus/$*) $(wildcard tests/fuzz/regressions/$*)
	$(Q)echo "== fuzz-$*: replaying what it kept, with the leak check"
	$(Q)$(FUZZ_ENV) $(FUZZ_BUILD)/fuzz-$* $(FUZZ_OPTS) -runs=0 -artifact_prefix=$(FUZZ_BUILD)/crashes/$*/ \
		$(FUZZ_BUILD)/corpus/$*

fuzz-replay-%: fuzz-build
	$(Q)mkdir -p $(FUZZ_BUILD)/crashes/$*
	$(Q)echo "== fuzz-$*: replaying $(words $(wildcard tests/fuzz/corpus/$*/* tests/fuzz/regressions/$*/*)) inputs"
	$(Q)$(FUZZ_ENV) $(FUZZ_BUILD)/fuzz-$* $(FUZZ_OPTS) -runs=0 -artifact_prefix=$(FUZZ_BUILD)/crashes/$*/ \
		$(wildcard tests/fuzz/corpus/$*) $(wildcard tests/fuzz/regressions/$*)

fuzz: FUZZ_SECONDS ?= 600
fuzz: $(FUZZ_NAMES:%=fuzz-run-%)

check-fuzz: FUZZ_SECONDS ?= 60
check-fuzz: $(FUZZ_NAMES:%=fuzz-replay-%)
	$(Q)$(MAKE) --no-print-directory FUZZ_SECONDS=$(FUZZ_SECONDS) $(FUZZ_NAMES:%=fuzz-run-%)

clean:
	rm -rf build build-asan build-fuzz

format:
	clang-format -i nsmgr/*/*.c nsmgr/*/*.h tests/unit/*.c

FORCE:

.PHONY: all unit deps demo check vm-deps check-vm bench-deps bench bench-docker bench-scale bench-cni asan check-asan torture install \
	uninstall deb-deps deb check-deb clean format fuzz fuzz-deps fuzz-build check-fuzz FORCE

-include $(LIB_OBJ:.o=.d) $(CTL_OBJ:.o=.d) $(DAEMON_OBJ:.o=.d) $(RUNTIME_OBJ:.o=.d) $(RUNTIME_NET_OBJ:.o=.d) \
         $(CNI_OBJ:.o=.d) $(BENCH_BIN:=.d) $(FUZZ_SRC:%.c=$(FUZZ_BUILD)/%.d)
