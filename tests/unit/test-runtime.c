/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nsmgr-runtime's logic (runtime.h): reading runc's command line, what a
 * config.json asks for, whether the container may join, docker's hook,
 * and errors in runc's log format. Whether the reading of the command line
 * agrees with runc itself is checked against the real runc by
 * tests/system/test_docker.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "fileio.h"
#include "jsonfile.h"
#include "runtime.h"

/* --- the command line --------------------------------------------------------- */

#define ARGS(...) ((char *[]) { "nsmgr-runtime", __VA_ARGS__, NULL })

static int count(char **v) {
        int n = 0;

        while (v[n])
                n++;
        return n;
}

static RuntimeArgs parse_ok(char **argv) {
        RuntimeArgs a = {};

        assert_int_equal(runtime_args_parse(count(argv), argv, &a, NULL), 0);
        return a;
}

static void assert_argv(const RuntimeArgs *a, char **want) {
        assert_int_equal(a->argc, count(want));
        for (int i = 0; i < a->argc; i++)
                assert_string_equal(a->argv[i], want[i]);
        assert_null(a->argv[a->argc]);
}

/* create with this bundle and id, argv handed on as it came. */
static void assert_create(char **argv, const char *bundle, const char *id) {
        RuntimeArgs a = parse_ok(argv);

        assert_true(a.parsed);
        assert_true(a.create);
        assert_string_equal(a.bundle, bundle);
        assert_string_equal(a.id, id);
        assert_argv(&a, argv);
        runtime_args_done(&a);
}

/* runc would not create anything from this: nsmgr-runtime looks away. */
static void assert_no_create(char **argv) {
        RuntimeArgs a = parse_ok(argv);

        assert_false(a.create);
        assert_argv(&a, argv);
        runtime_args_done(&a);
}

static void containerd_and_docker_command_lines(void **state) {
        /* What containerd's runc shim runs for `docker run` (docker 20.10). */
        char **argv = ARGS("--root", "/run/docker/runtime-runc/moby", "--log", "/run/containerd/t/moby/ID/log.json",
                           "--log-format", "json", "create", "--bundle", "/run/containerd/t/moby/ID", "--pid-file",
                           "/run/containerd/t/moby/ID/init.pid", "ID");
        RuntimeArgs a = parse_ok(argv);

        assert_true(a.parsed && a.create);
        assert_string_equal(a.verb, "create");
        assert_string_equal(a.bundle, "/run/containerd/t/moby/ID");
        assert_string_equal(a.id, "ID");
        assert_string_equal(a.log, "/run/containerd/t/moby/ID/log.json");
        assert_true(a.log_json);
        assert_null(a.runtime_path);
        assert_argv(&a, argv);
        runtime_args_done(&a);

        /* podman/conmon style, and the systemd cgroup driver. */
        assert_create(ARGS("--systemd-cgroup", "--root", "/run/runc", "--log", "/x/log", "create", "--bundle", "/b",
                           "--pid-file", "/x/pid", "--console-socket", "/x/sock", "--no-pivot", "--no-new-keyring",
                           "--preserve-fds", "2", "c1"),
                      "/b", "c1");
        assert_create(ARGS("run", "-d", "--bundle", "/b", "c1"), "/b", "c1");
        assert_create(ARGS("run", "--detach", "--keep", "--no-subreaper", "-b", "/b", "c1"), "/b", "c1");

        /* Other verbs are only handed on. */
        a = parse_ok(ARGS("--root", "/r", "--log", "/l", "--log-format", "json", "delete", "--force", "ID"));
        assert_true(a.parsed);
        assert_false(a.create);
        assert_string_equal(a.verb, "delete");
        runtime_args_done(&a);
        a = parse_ok(ARGS("start", "ID"));
        assert_string_equal(a.verb, "start");
        assert_false(a.create);
        runtime_args_done(&a);
}

static void bundle_forms(void **state) {
        assert_create(ARGS("create", "-b", "/b", "c"), "/b", "c");
        assert_create(ARGS("create", "-b=/b", "c"), "/b", "c");
        assert_create(ARGS("create", "--bundle=/b", "c"), "/b", "c");
        assert_create(ARGS("create", "-bundle", "/b", "c"), "/b", "c");
        assert_create(ARGS("create", "--bundle", "-odd", "c"), "-odd", "c");
        /* urfave/cli moves options before the arguments. */
        assert_create(ARGS("create", "c", "--bundle", "/b"), "/b", "c");
        assert_create(ARGS("create", "c", "--pid-file", "/p", "-b", "/b"), "/b", "c");
        /* The last one given wins, as in Go's flag package. */
        assert_create(ARGS("create", "-b", "/a", "-b", "/b", "c"), "/b", "c");
        /* None, or an empty one: runc's working directory. */
        assert_create(ARGS("create", "c"), ".", "c");
        assert_create(ARGS("create", "--bundle=", "c"), ".", "c");
        /* "--" ends the options. */
        assert_create(ARGS("create", "-b", "/b", "--", "c"), "/b", "c");
        assert_create(ARGS("--", "create", "-b", "/b", "c"), "/b", "c");
}

static void command_lines_runc_refuses(void **state) {
        /* Unknown options, global or the command's. */
        assert_no_create(ARGS("--bogus", "create", "-b", "/b", "c"));
        assert_no_create(ARGS("create", "--bogus", "-b", "/b", "c"));
        assert_no_create(ARGS("create", "-x", "c"));
        /* Not exactly one argument. */
        assert_no_create(ARGS("create", "-b", "/b"));
        assert_no_create(ARGS("create", "-b", "/b", "c", "d"));
        assert_no_create(ARGS("create", "c", "--", "d"));
        /* A boolean takes the next word when options are moved first,
         * which then ends them: "-d ID --bundle B" is three arguments. */
        assert_no_create(ARGS("run", "-d", "c", "--bundle", "/b"));
        /* Both forms of one option (urfave/cli's normalizeFlags). */
        assert_no_create(ARGS("create", "-b", "/a", "--bundle", "/b", "c"));
        /* A value missing, a boolean or an integer that does not parse. */
        assert_no_create(ARGS("create", "c", "--bundle"));
        assert_no_create(ARGS("create", "--no-pivot=yes", "c"));
        assert_no_create(ARGS("create", "--preserve-fds", "x", "c"));
        assert_no_create(ARGS("create", "--preserve-fds=", "c"));
        assert_no_create(ARGS("create", "--preserve-fds", "1__0", "c"));
        assert_no_create(ARGS("create", "--preserve-fds", "_1", "c"));
        assert_no_create(ARGS("create", "--preserve-fds", "9223372036854775808", "c"));
        /* Bad option syntax. */
        assert_no_create(ARGS("create", "---b", "/b", "c"));
        assert_no_create(ARGS("create", "-=b", "c"));
        /* Asking for help creates nothing. */
        assert_no_create(ARGS("create", "--help", "c"));
        assert_no_create(ARGS("create", "-h", "c"));
        /* Not create. */
        assert_no_create(ARGS("creat", "-b", "/b", "c"));
        assert_no_create(ARGS("help", "create"));
        /* An unknown --log-format stops runc before any command. */
        assert_no_create(ARGS("--log-format", "xml", "create", "-b", "/b", "c"));
        /* A global boolean with a value that is no boolean. */
        assert_no_create(ARGS("--debug=maybe", "create", "-b", "/b", "c"));
        assert_no_create(ARGS("--debug", "--debug=yes", "create", "c"));
}

static void integers_as_go_reads_them(void **state) {
        static const char *const good[] = { "0", "3", "+3", "-3", "010", "0x1f", "0X1F", "0b101", "0o17", "1_000",
                                            "0x_1f", "0_7", "9223372036854775807", "-9223372036854775808", NULL };
        static const char *const bad[] = { "", "-", "x", "0x", "08", "0b2", "1__0", "_1", "1_", "0x_", "1.5",
                                           "9223372036854775808", "-9223372036854775809", NULL };

        for (size_t i = 0; good[i]; i++)
                assert_create(ARGS("create", "--preserve-fds", (char *) good[i], "c"), ".", "c");
        for (size_t i = 0; bad[i]; i++)
                assert_no_create(ARGS("create", "--preserve-fds", (char *) bad[i], "c"));
}

static void global_options(void **state) {
        RuntimeArgs a;

        a = parse_ok(ARGS("--debug", "--debug=false", "--systemd-cgroup=1", "--rootless", "auto", "--criu", "c",
                          "-root=/r", "create", "-b", "/b", "c"));
        assert_true(a.parsed && a.create);
        runtime_args_done(&a);
        /* A value that looks like an option is a value. */
        a = parse_ok(ARGS("--root", "--log", "create", "-b", "/b", "c"));
        assert_true(a.create);
        assert_null(a.log);
        runtime_args_done(&a);
        /* Text logs unless asked for json. */
        a = parse_ok(ARGS("--log", "/l", "--log-format=text", "create", "c"));
        assert_string_equal(a.log, "/l");
        assert_false(a.log_json);
        runtime_args_done(&a);
        a = parse_ok(ARGS("--log-format", "", "create", "c"));
        assert_true(a.parsed && a.create);
        runtime_args_done(&a);

        a = parse_ok(ARGS("--help"));
        assert_true(a.help);
        assert_null(a.verb);
        runtime_args_done(&a);
        a = parse_ok(ARGS("-v", "create", "c"));
        assert_true(a.version);
        assert_false(a.create);
        runtime_args_done(&a);
        a = parse_ok(ARGS("--version", "--help"));
        assert_true(a.help);
        assert_false(a.version);
        runtime_args_done(&a);
        a = parse_ok(ARGS("--help", "-h"));
        assert_false(a.help); /* runc refuses both forms */
        assert_false(a.parsed);
        runtime_args_done(&a);
        a = parse_ok(ARGS("--root", "/r"));
        assert_true(a.parsed);
        assert_null(a.verb);
        runtime_args_done(&a);
}

static void our_options_are_taken_out(void **state) {
        RuntimeArgs a;

        a = parse_ok(ARGS("--runtime-path", "/usr/bin/crun", "--nsmgr-config", "/c.conf", "--root", "/r", "create",
                          "-b", "/b", "c"));
        assert_string_equal(a.runtime_path, "/usr/bin/crun");
        assert_string_equal(a.nsmgr_config, "/c.conf");
        assert_true(a.create);
        assert_argv(&a, ARGS("--root", "/r", "create", "-b", "/b", "c"));
        runtime_args_done(&a);

        /* Anywhere among runc's global options, in every form. */
        a = parse_ok(ARGS("--root", "/r", "-runtime-path=/x", "--log", "/l", "create", "c"));
        assert_string_equal(a.runtime_path, "/x");
        assert_argv(&a, ARGS("--root", "/r", "--log", "/l", "create", "c"));
        runtime_args_done(&a);

        /* After the command they are the command's, and runc's to refuse. */
        a = parse_ok(ARGS("create", "--runtime-path", "/x", "c"));
        assert_null(a.runtime_path);
        assert_false(a.create);
        runtime_args_done(&a);
}

static void our_options_without_a_value(void **state) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        char **argv = ARGS("--root", "/r", "--runtime-path");
        RuntimeArgs a = {};

        assert_int_equal(runtime_args_parse(count(argv), argv, &a, &err), -EINVAL);
        assert_string_equal(err.msg, "option '--runtime-path' needs a value");
        runtime_args_done(&a);
        nm_error_clear(&err);

        argv = ARGS("--log", "/l", "--nsmgr-config=", "create", "c");
        assert_int_equal(runtime_args_parse(count(argv), argv, &a, &err), -EINVAL);
        assert_string_equal(err.msg, "option '--nsmgr-config' needs a value, not an empty word");
        assert_string_equal(a.log, "/l"); /* the error still goes where runc's would */
        runtime_args_done(&a);
}

/* --- what a container asks for ------------------------------------------------ */

static json_object *json(const char *text) {
        json_object *o = NULL;

        assert_int_equal(json_parse_document(text, strlen(text), "test", &o, NULL), 0);
        return o;
}

static void request_from_env_and_annotations(void **state) {
        _cleanup_json_ json_object *c = NULL;
        RuntimeRequest r = {};

        c = json("{\"process\":{\"env\":[\"PATH=/bin\",\"NSMGR_NETNS=pod1\",\"NSMGR_NETNS=later\"]}}");
        assert_int_equal(runtime_request_parse(c, "c", &r, NULL), 0);
        assert_string_equal(r.netns, "pod1"); /* the first, as getenv() finds it */
        assert_string_equal(r.netns_from, "NSMGR_NETNS");
        assert_null(r.network);
        runtime_request_done(&r);
        json_object_put(c);

        c = json("{\"annotations\":{\"org.nsmgr.netns\":\"pod1\",\"org.nsmgr.network\":\"lab\",\"org.nsmgr.pin\":\"x\","
                 "\"org.other\":\"y\"}}");
        assert_int_equal(runtime_request_parse(c, "c", &r, NULL), 0);
        assert_string_equal(r.netns, "pod1");
        assert_string_equal(r.network, "lab");
        assert_string_equal(r.netns_from, "org.nsmgr.netns");
        runtime_request_done(&r);
        json_object_put(c);

        /* Both ways, agreeing. */
        c = json("{\"process\":{\"env\":[\"NSMGR_NETNS=pod1\",\"NSMGR_NETWORK=lab\"]},"
                 "\"annotations\":{\"org.nsmgr.netns\":\"pod1\"}}");
        assert_int_equal(runtime_request_parse(c, "c", &r, NULL), 0);
        assert_string_equal(r.netns, "pod1");
        assert_string_equal(r.network, "lab");
        runtime_request_done(&r);
        json_object_put(c);

        /* Nothing: no env, a prefix that only looks alike, odd types runc refuses anyway. */
        c = json("{\"process\":{\"env\":[\"NSMGR_NETNSX=a\",\"NSMGR_NETNS\",7]},\"annotations\":{\"org.nsmgr.pin\":\"x\"}}");
        assert_int_equal(runtime_request_parse(c, "c", &r, NULL), 0);
        assert_null(r.netns);
        json_object_put(c);
        c = json("{\"process\":{\"env\":\"NSMGR_NETNS=a\"},\"annotations\":[]}");
        assert_int_equal(runtime_request_parse(c, "c", &r, NULL), 0);
        assert_null(r.netns);
        json_object_put(c);
        c = json("{}");
        assert_int_equal(runtime_request_parse(c, "c", &r, NULL), 0);
        assert_null(r.netns);
}

static void assert_request_refused(const char *config, int code, const char *msg) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_json_ json_object *c = json(config);
        RuntimeRequest r = {};

        assert_int_equal(runtime_request_parse(c, "c1", &r, &err), code);
        assert_null(r.netns);
        assert_string_equal(err.msg, msg);
}

static void bad_requests(void **state) {
        assert_request_refused("{\"process\":{\"env\":[\"NSMGR_NETNS=a/b\"]}}", -EINVAL,
                               "container 'c1': NSMGR_NETNS: invalid namespace name 'a/b': it must not contain '/'");
        assert_request_refused("{\"annotations\":{\"org.nsmgr.netns\":\"..\"}}", -EINVAL,
                               "container 'c1': org.nsmgr.netns: invalid namespace name '..': '.' and '..' are not names");
        assert_request_refused("{\"process\":{\"env\":[\"NSMGR_NETNS=\"]}}", -EINVAL,
                               "container 'c1': NSMGR_NETNS is empty; give the name of a namespace");
        assert_request_refused("{\"process\":{\"env\":[\"NSMGR_NETNS=a\",\"NSMGR_NETWORK=\"]}}", -EINVAL,
                               "container 'c1': NSMGR_NETWORK is empty; give the name of a network");
        assert_request_refused("{\"process\":{\"env\":[\"NSMGR_NETWORK=lab\"]}}", -EINVAL,
                               "container 'c1' asks for the network 'lab' but names no namespace; set NSMGR_NETNS (or org.nsmgr.netns) to the namespace to attach to it");
        assert_request_refused("{\"process\":{\"env\":[\"NSMGR_NETNS=a\"]},\"annotations\":{\"org.nsmgr.netns\":\"b\"}}",
                               -EINVAL,
                               "container 'c1' asks for 'a' in NSMGR_NETNS and for 'b' in the annotation org.nsmgr.netns; give one");
        assert_request_refused("{\"annotations\":{\"org.nsmgr.netsn\":\"a\"}}", -EOPNOTSUPP,
                               "container 'c1' has the annotation org.nsmgr.netsn, which this nsmgr does not know (nsmgr-runtime knows org.nsmgr.netns and org.nsmgr.network); refusing to start it half-wired");
        assert_request_refused("{\"annotations\":{\"org.nsmgr.netns\":1}}", -EINVAL,
                               "container 'c1': annotation org.nsmgr.netns is not a string");
}

static void text_that_cannot_ask(void **state) {
        static const char *const may[] = {
                "{\"process\":{\"env\":[\"NSMGR_NETNS=pod1\"]}}",
                "{\"process\":{\"env\":[\"NSMGR_NETWORK=lab\"]}}",
                "{\"annotations\":{\"org.nsmgr.netns\":\"pod1\"}}",
                "{\"annotations\":{\"org.nsmgr.pin\":\"web\"}}",
                /* Spelt with escapes: only a parse can tell. */
                "{\"process\":{\"env\":[\"NSMGR_\\u004eETNS=pod1\"]}}",
                NULL,
        };
        static const char *const cannot[] = {
                "{\"process\":{\"env\":[\"PATH=/bin\",\"NSMGR_NET=x\"]},\"annotations\":{\"org.nsmgrx\":\"y\"}}",
                "", "{", NULL,
        };
        _cleanup_json_ json_object *c = NULL;
        RuntimeRequest r = {};

        for (size_t i = 0; may[i]; i++)
                assert_true(runtime_text_may_ask(may[i], strlen(may[i])));
        for (size_t i = 0; cannot[i]; i++)
                assert_false(runtime_text_may_ask(cannot[i], strlen(cannot[i])));
        c = json(may[4]);
        assert_int_equal(runtime_request_parse(c, "c", &r, NULL), 0);
        assert_string_equal(r.netns, "pod1");
        runtime_request_done(&r);
}

/* --- docker's containers ---------------------------------------------------------- */

#define ID "3967a2fab76125404b2e6db23fcc2a9e3a0a2d30fde1cb1a4a2e8360fbb521bd"
#define DOCKER_MOUNTS                                                                                               \
        "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"                            \
        "{\"destination\":\"/etc/resolv.conf\",\"type\":\"bind\",\"source\":\"/var/lib/docker/containers/" ID      \
        "/resolv.conf\"},"                                                                                          \
        "{\"destination\":\"/etc/hostname\",\"type\":\"bind\",\"source\":\"/var/lib/docker/containers/" ID          \
        "/hostname\"}]"
#define SETKEY                                                                                                      \
        "{\"path\":\"/proc/15/exe\",\"args\":[\"libnetwork-setkey\",\"-exec-root=/run/docker\",\"" ID               \
        "\",\"9de3f84c62c9\"]}"

static void docker_container_dir(void **state) {
        _cleanup_json_ json_object *c = json("{" DOCKER_MOUNTS "}");
        _cleanup_free_ char *dir = runtime_docker_container_dir(c, ID);

        assert_string_equal(dir, "/var/lib/docker/containers/" ID);
        /* Another container's files (docker --network container:X shares
         * hosts and resolv.conf), or none of docker's. */
        assert_null(runtime_docker_container_dir(c, "other"));
        assert_null(runtime_docker_container_dir(c, ""));
        json_object_put(c);
        c = json("{\"mounts\":[{\"destination\":\"/etc/hosts\",\"source\":\"/srv/" ID "/hosts\"},"
                 "{\"destination\":\"/data\",\"source\":\"/var/lib/docker/containers/" ID "/x\"},"
                 "{\"destination\":\"/etc/hosts\",\"source\":\"containers/" ID "/hosts\"}]}");
        assert_null(runtime_docker_container_dir(c, ID));
        json_object_put(c);
        c = json("{\"mounts\":{}}");
        assert_null(runtime_docker_container_dir(c, ID));
}

static void docker_hook_dropped(void **state) {
        _cleanup_json_ json_object *c = NULL;
        _cleanup_free_ char *text = NULL;

        c = json("{\"hooks\":{\"prestart\":[" SETKEY "],\"createRuntime\":[{\"path\":\"/bin/x\",\"args\":[\"x\"]}," SETKEY
                 "],\"poststop\":[]}}");
        assert_true(runtime_has_docker_hook(c));
        assert_int_equal(runtime_drop_docker_hook(c), 2);
        assert_false(runtime_has_docker_hook(c));
        text = strdup(json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        /* The list that held only docker's hook goes; others stay as they were. */
        assert_string_equal(text, "{\"hooks\":{\"createRuntime\":[{\"path\":\"/bin/x\",\"args\":[\"x\"]}],\"poststop\":[]}}");
        assert_int_equal(runtime_drop_docker_hook(c), 0);
        json_object_put(c);
        c = json("{\"hooks\":{\"prestart\":[{\"path\":\"/x\"},{\"args\":[]},{\"args\":[1]}]}}");
        assert_false(runtime_has_docker_hook(c));
        assert_int_equal(runtime_drop_docker_hook(c), 0);
}

static void assert_check(const char *config, bool docker, const char *hostconfig, int code, const char *msg) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_json_ json_object *c = json(config), *h = hostconfig ? json(hostconfig) : NULL;

        assert_int_equal(runtime_check_container(c, "c1", docker, h, "pod1", &err), code);
        if (msg)
                assert_string_equal(err.msg, msg);
        else if (code == 0)
                assert_null(err.msg);
}

#define OWN_NETNS "{\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"}]}}"

static void who_may_join(void **state) {
        assert_check(OWN_NETNS, true, "{\"NetworkMode\":\"none\"}", 0, NULL);
        assert_check(OWN_NETNS, false, NULL, 0, NULL);
        /* Asked again (a restart of a container whose config.json was patched). */
        assert_check("{\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"/run/netns/pod1\"}]}}", false, NULL, 0,
                     NULL);

        assert_check(OWN_NETNS, true, "{\"NetworkMode\":\"default\"}", -EPERM,
                     "container 'c1' is on the docker network 'bridge'; to join 'pod1' it must run with --network none (network_mode: none), or docker keeps an interface of its own in the shared namespace, sets disable_ipv6 there and fights the others over eth0");
        assert_check(OWN_NETNS, true, "{\"NetworkMode\":\"lab\"}", -EPERM,
                     "container 'c1' is on the docker network 'lab'; to join 'pod1' it must run with --network none (network_mode: none), or docker keeps an interface of its own in the shared namespace, sets disable_ipv6 there and fights the others over eth0");
        assert_check("{\"linux\":{\"namespaces\":[]}}", true, "{\"NetworkMode\":\"host\"}", -EPERM,
                     "container 'c1' is on the docker network 'host'; to join 'pod1' it must run with --network none (network_mode: none), or docker keeps an interface of its own in the shared namespace, sets disable_ipv6 there and fights the others over eth0");
        assert_check(OWN_NETNS, true, "{\"Privileged\":false}", -EINVAL,
                     "cannot tell the network mode of docker container 'c1': its hostconfig.json has no NetworkMode");
        assert_check(OWN_NETNS, true, NULL, -EPERM,
                     "cannot tell the network mode of docker container 'c1': there is no hostconfig.json next to the files docker binds at /etc/hostname, /etc/hosts and /etc/resolv.conf; refusing to join 'pod1'");
        assert_check("{\"linux\":{\"namespaces\":[{\"type\":\"pid\"}]}}", false, NULL, -EPERM,
                     "container 'c1' runs in the machine's network namespace (its config.json has no \"network\" entry in linux.namespaces); to join 'pod1' it needs a namespace of its own (docker: --network none)");
        assert_check("{}", false, NULL, -EPERM, NULL);
        assert_check("{\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"/proc/1261/ns/net\"}]}}", false, NULL,
                     -EPERM,
                     "container 'c1' already joins the network namespace /proc/1261/ns/net (docker: --network container:...); to join 'pod1' instead, give it a namespace of its own (docker: --network none)");
}

/* --- the whole of create, as far as it goes without /run/netns --------------- */

static int attach_calls;

static int fake_attach(const char *id, const char *netns, const char *network, const char *config, void *userdata,
                       NmError *err) {
        attach_calls++;
        return nm_error(err, -EIO, "the fake attach was called");
}

static char *bundle_with(const char *config) {
        char tmpl[] = "/tmp/nsmgr-test-runtime-XXXXXX", *dir, *path = NULL;

        dir = mkdtemp(tmpl);
        assert_non_null(dir);
        assert_true(asprintf(&path, "%s/config.json", dir) > 0);
        assert_int_equal(write_file_atomic(path, config, strlen(config), 0644), 0);
        free(path);
        return strdup(dir);
}

static void remove_bundle(char *dir) {
        char *path = NULL;

        assert_true(asprintf(&path, "%s/config.json", dir) > 0);
        unlink(path);
        rmdir(dir);
        free(path);
        free(dir);
}

static void prepare_without_namespaces(void **state) {
        static const char asks_nothing[] = "{\"process\":{\"env\":[\"A=b\"]}," DOCKER_MOUNTS "}";
        static const char on_bridge[] = "{\"process\":{\"env\":[\"NSMGR_NETNS=pod1\",\"NSMGR_NETWORK=lab\"]},"
                                        "\"linux\":{\"namespaces\":[{\"type\":\"network\"}]},\"hooks\":{\"prestart\":[" SETKEY
                                        "]}}";
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        char *dir = bundle_with(asks_nothing), *text = NULL;
        RuntimeArgs a = { .create = true, .id = "c1" };
        struct stat before, after;
        size_t len;

        /* Asks for nothing: config.json is not even rewritten. */
        a.bundle = dir;
        assert_int_equal(chdir(dir), 0);
        assert_int_equal(stat("config.json", &before), 0);
        assert_int_equal(runtime_prepare(&a, fake_attach, NULL, &err), 0);
        assert_int_equal(stat("config.json", &after), 0);
        assert_int_equal(before.st_ino, after.st_ino);
        assert_int_equal(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
        remove_bundle(dir);

        /* No config.json, or not JSON: runc will say so. */
        a.bundle = "/nonexistent";
        assert_int_equal(runtime_prepare(&a, fake_attach, NULL, &err), 0);
        dir = bundle_with("{\"process\":");
        a.bundle = dir;
        assert_int_equal(runtime_prepare(&a, fake_attach, NULL, &err), 0);
        remove_bundle(dir);

        /* Docker's hook without docker's hostconfig.json: refused before
         * anything is made, and config.json is as it was. */
        dir = bundle_with(on_bridge);
        a.bundle = dir;
        attach_calls = 0;
        assert_int_equal(runtime_prepare(&a, fake_attach, NULL, &err), -EPERM);
        assert_int_equal(attach_calls, 0);
        assert_non_null(strstr(err.msg, "cannot tell the network mode of docker container 'c1'"));
        assert_int_equal(chdir(dir), 0);
        assert_int_equal(read_full_file("config.json", &text, &len), 0);
        assert_string_equal(text, on_bridge);
        free(text);
        remove_bundle(dir);
        assert_int_equal(chdir("/"), 0);
}

/* --- errors in runc's log format ---------------------------------------------------- */

static void log_entries(void **state) {
        _cleanup_free_ char *j = NULL, *t = NULL, *bare = NULL, *odd = NULL, *zone = NULL;
        time_t when = 1714564800; /* 2024-05-01T12:00:00Z */

        setenv("TZ", "UTC", 1);
        tzset();
        j = runtime_log_entry(true, "nsmgr-runtime: namespace 'x' does not exist (there is no /run/netns/x)", when);
        assert_string_equal(j, "{\"level\":\"error\",\"msg\":\"nsmgr-runtime: namespace 'x' does not exist (there is no "
                               "/run/netns/x)\",\"time\":\"2024-05-01T12:00:00Z\"}\n");
        t = runtime_log_entry(false, "nsmgr-runtime: a \"b\"\\c\n\td\x01\x7f é \xff", when);
        assert_string_equal(t, "time=\"2024-05-01T12:00:00Z\" level=error msg=\"nsmgr-runtime: a \\\"b\\\"\\\\c\\n\\td\\x01\\x7f é \\xff\"\n");
        bare = runtime_log_entry(false, "plain-word/1.2@x^y+z", when);
        assert_string_equal(bare, "time=\"2024-05-01T12:00:00Z\" level=error msg=plain-word/1.2@x^y+z\n");
        odd = runtime_log_entry(true, "a\"b\n", when);
        assert_string_equal(odd, "{\"level\":\"error\",\"msg\":\"a\\\"b\\n\",\"time\":\"2024-05-01T12:00:00Z\"}\n");

        /* Local time with its offset, as Go's RFC3339 writes it. */
        setenv("TZ", "XYZ-2", 1);
        tzset();
        zone = runtime_log_entry(true, "m", when);
        assert_string_equal(zone, "{\"level\":\"error\",\"msg\":\"m\",\"time\":\"2024-05-01T14:00:00+02:00\"}\n");
        free(zone);
        setenv("TZ", "XYZ+3:30", 1);
        tzset();
        zone = runtime_log_entry(true, "m", when);
        assert_string_equal(zone, "{\"level\":\"error\",\"msg\":\"m\",\"time\":\"2024-05-01T08:30:00-03:30\"}\n");
        setenv("TZ", "UTC", 1);
        tzset();
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(containerd_and_docker_command_lines),
                cmocka_unit_test(bundle_forms),
                cmocka_unit_test(command_lines_runc_refuses),
                cmocka_unit_test(integers_as_go_reads_them),
                cmocka_unit_test(global_options),
                cmocka_unit_test(our_options_are_taken_out),
                cmocka_unit_test(our_options_without_a_value),
                cmocka_unit_test(request_from_env_and_annotations),
                cmocka_unit_test(bad_requests),
                cmocka_unit_test(text_that_cannot_ask),
                cmocka_unit_test(docker_container_dir),
                cmocka_unit_test(docker_hook_dropped),
                cmocka_unit_test(who_may_join),
                cmocka_unit_test(prepare_without_namespaces),
                cmocka_unit_test(log_entries),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
