/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A config file's text before libconfig sees it: see config-text.h. The
 * scanner below follows libconfig 1.5's lib/scanner.l token by token (in
 * its INITIAL state flex takes the longest match, the earlier rule on a
 * tie), far enough to find every integer literal, in order, and the
 * brackets around them; anything it does not know is left to libconfig,
 * which then refuses the text. */
#include <fcntl.h>
#include <libconfig.h>
#include <stdint.h>
#include <sys/stat.h>

#include "config-text.h"
#include "strv.h"

void config_text_done(ConfigText *t) {
        free(t->text);
        free(t->ints);
        *t = (ConfigText) {};
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_hex(char c) {
        return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_name_start(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '*';
}

static bool is_name_char(char c) {
        return is_name_start(c) || is_digit(c) || c == '-' || c == '_';
}

static size_t digits(const char *s, size_t i, size_t len) {
        size_t n = 0;

        while (i + n < len && is_digit(s[i + n]))
                n++;
        return n;
}

/* {integer} [-+]?[0-9]+ */
static size_t match_integer(const char *s, size_t i, size_t len) {
        size_t sign = i < len && (s[i] == '-' || s[i] == '+'), n = digits(s, i + sign, len);

        return n ? sign + n : 0;
}

/* L(L)? after a literal */
static size_t match_l(const char *s, size_t i, size_t len) {
        if (i >= len || s[i] != 'L')
                return 0;
        return i + 1 < len && s[i + 1] == 'L' ? 2 : 1;
}

/* {hex} 0[Xx][0-9A-Fa-f]+ */
static size_t match_hex(const char *s, size_t i, size_t len) {
        size_t n = 0;

        if (i + 2 >= len || s[i] != '0' || (s[i + 1] != 'x' && s[i + 1] != 'X'))
                return 0;
        while (i + 2 + n < len && is_hex(s[i + 2 + n]))
                n++;
        return n ? 2 + n : 0;
}

/* [eE][-+]?[0-9]+ */
static size_t match_exponent(const char *s, size_t i, size_t len) {
        size_t sign, n;

        if (i >= len || (s[i] != 'e' && s[i] != 'E'))
                return 0;
        sign = i + 1 < len && (s[i + 1] == '-' || s[i + 1] == '+');
        n = digits(s, i + 1 + sign, len);
        return n ? 1 + sign + n : 0;
}

/* {float} ([-+]?([0-9]*)?\.[0-9]*([eE][-+]?[0-9]+)?)|([-+]?([0-9]+)(\.[0-9]*)?[eE][-+]?[0-9]+) */
static size_t match_float(const char *s, size_t i, size_t len) {
        size_t sign = i < len && (s[i] == '-' || s[i] == '+'), a = 0, b = 0, k;

        k = i + sign + digits(s, i + sign, len);
        if (k < len && s[k] == '.') {
                size_t e = k + 1 + digits(s, k + 1, len);
                a = e + match_exponent(s, e, len) - i;
        }
        if (digits(s, i + sign, len) > 0) {
                size_t e = k;

                if (e < len && s[e] == '.')
                        e += 1 + digits(s, e + 1, len);
                if (match_exponent(s, e, len) > 0)
                        b = e + match_exponent(s, e, len) - i;
        }
        return a > b ? a : b;
}

static int add_int(ConfigText *t, const char *s, size_t n, bool hex, int line) {
        ConfigInt v = { .hex = hex, .line = line };
        uint64_t u = 0;
        size_t k = 0;
        bool neg = false;

        if (GREEDY_REALLOC(t->ints, t->cap_ints, t->n_ints + 1) < 0)
                return -ENOMEM;
        if (n < sizeof(v.text))
                memcpy(v.text, s, n);
        else {
                memcpy(v.text, s, sizeof(v.text) - 4);
                memcpy(v.text + sizeof(v.text) - 4, "...", 4);
        }
        if (hex)
                k = 2;
        else if (s[0] == '-' || s[0] == '+') {
                neg = s[0] == '-';
                k = 1;
        }
        for (; k < n && (hex ? is_hex(s[k]) : is_digit(s[k])); k++) {
                unsigned d = is_digit(s[k]) ? (unsigned) (s[k] - '0') : (unsigned) ((s[k] | 0x20) - 'a' + 10);

                if (u > (UINT64_MAX - d) / (hex ? 16 : 10)) {
                        v.overflow = true;
                        break;
                }
                u = u * (hex ? 16 : 10) + d;
        }
        if (!v.overflow) {
                if (neg ? u > (uint64_t) INT64_MAX + 1 : u > (uint64_t) INT64_MAX)
                        v.overflow = true;
                else
                        v.value = neg ? (long long) (0 - u) : (long long) u;
        }
        t->ints[t->n_ints++] = v;
        return 0;
}

/* "@include" as libconfig's include_open: ^[ \t]*@include[ \t]+\" */
static bool include_at(const char *s, size_t i, size_t len) {
        while (i < len && (s[i] == ' ' || s[i] == '\t'))
                i++;
        if (len - i < 9 || memcmp(s + i, "@include", 8) != 0 || (s[i + 8] != ' ' && s[i + 8] != '\t'))
                return false;
        i += 8;
        while (i < len && (s[i] == ' ' || s[i] == '\t'))
                i++;
        return i < len && s[i] == '"';
}

typedef struct Frame {
        char close;          /* '}' for a group (and the top level), ')' or ']' */
        unsigned settings;
} Frame;

int config_text_scan(const char *text, size_t len, const char *file, ConfigText *ret, ConfigErrors *errors) {
        _cleanup_(config_text_done) ConfigText t = {};
        Frame stack[CONFIG_DEPTH_MAX + 1] = { { .close = '}' } };
        size_t depth = 0, i = 0;
        const char *nul;
        int line = 1, r;

        nul = memchr(text, 0, len);
        if (nul) {
                for (const char *p = text; p < nul; p++)
                        line += *p == '\n';
                config_error_add(errors, file, line,
                                 "the file holds a NUL byte, so it is not a text file; is it the config you meant?");
                return -EINVAL;
        }
        t.text = malloc(len + 1);
        if (!t.text)
                return -ENOMEM;
        memcpy(t.text, text, len);
        t.text[len] = 0;
        t.len = len;

        while (i < len) {
                const char *s = t.text;
                char c = s[i];
                size_t f, in, in64, hx, hx64, best;

                if ((i == 0 || s[i - 1] == '\n') && include_at(s, i, len)) {
                        config_error_add(errors, file, line,
                                         "@include is not supported; put the file into /etc/nsmgr/conf.d instead, where every *.conf is read");
                        return -EINVAL;
                }
                if (c == '\n') {
                        line++;
                        i++;
                        continue;
                }
                if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
                        i++;
                        continue;
                }
                if (c == '/' && i + 1 < len && s[i + 1] == '*') {
                        for (i += 2; i < len && !(s[i] == '*' && i + 1 < len && s[i + 1] == '/'); i++)
                                line += s[i] == '\n';
                        i += 2;
                        continue;
                }
                if (c == '#' || (c == '/' && i + 1 < len && s[i + 1] == '/')) {
                        while (i < len && s[i] != '\n')
                                i++;
                        continue;
                }
                if (c == '"') {
                        int start = line;

                        for (i++; i < len && s[i] != '"'; i++) {
                                if (s[i] == '\n')
                                        line++;
                                else if (s[i] == '\\' && i + 1 < len && (s[i + 1] == '"' || s[i + 1] == '\\'))
                                        i++;
                        }
                        /* libconfig would say "syntax error" at the end, and
                         * leak the string it collected. */
                        if (i >= len) {
                                config_error_add(errors, file, start,
                                                 "a string that starts on this line is not closed: a '\"' is missing");
                                return -EINVAL;
                        }
                        i++;
                        continue;
                }
                if (strchr("=:,;", c)) {
                        i++;
                        continue;
                }
                if (c == '{' || c == '(' || c == '[') {
                        if (depth == CONFIG_DEPTH_MAX) {
                                config_error_add(errors, file, line,
                                                 "brackets are nested more than %d deep; nsmgr.conf needs 5 at most",
                                                 CONFIG_DEPTH_MAX);
                                return -EINVAL;
                        }
                        stack[++depth] = (Frame) { .close = c == '{' ? '}' : c == '(' ? ')' : ']' };
                        i++;
                        continue;
                }
                if (c == '}' || c == ')' || c == ']') {
                        if (depth == 0 || stack[depth].close != c)
                                break; /* libconfig says where */
                        depth--;
                        i++;
                        continue;
                }
                if (is_name_start(c)) {
                        size_t n = 1;

                        while (i + n < len && is_name_char(s[i + n]))
                                n++;
                        /* true and false are values, every other name a setting. */
                        if (!((n == 4 && strncasecmp(s + i, "true", 4) == 0) ||
                              (n == 5 && strncasecmp(s + i, "false", 5) == 0)) &&
                            stack[depth].close == '}' && ++stack[depth].settings > CONFIG_GROUP_MAX) {
                                config_error_add(errors, file, line,
                                                 "a group { ... } holds more than %d settings; no group of nsmgr.conf has that many",
                                                 CONFIG_GROUP_MAX);
                                return -EINVAL;
                        }
                        i += n;
                        continue;
                }

                f = match_float(s, i, len);
                in = match_integer(s, i, len);
                in64 = in ? in + match_l(s, i + in, len) : 0;
                hx = match_hex(s, i, len);
                hx64 = hx ? hx + match_l(s, i + hx, len) : 0;
                best = f;
                if (in > best)
                        best = in;
                if (in64 > best)
                        best = in64;
                if (hx > best)
                        best = hx;
                if (hx64 > best)
                        best = hx64;
                if (best == 0)
                        break; /* garbage: libconfig refuses it */
                if (best != f) {
                        bool hex = best == hx || best == hx64;

                        r = add_int(&t, s + i, hex ? hx : in, hex, line);
                        if (r < 0)
                                return r;
                }
                i += best;
        }

        *ret = t;
        t = (ConfigText) {};
        return 0;
}

static const char *file_kind(mode_t mode) {
        switch (mode & S_IFMT) {
        case S_IFDIR:  return "a directory";
        case S_IFIFO:  return "a FIFO";
        case S_IFCHR:  return "a character device";
        case S_IFBLK:  return "a block device";
        case S_IFSOCK: return "a socket";
        default:       return "not a regular file";
        }
}

int config_text_load(const char *path, const char *file, ConfigText *ret, ConfigErrors *errors) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len = 0;

        /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
        fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                config_error_add(errors, file, 0, "cannot read config: %s", strerror(errno));
                return -EINVAL;
        }
        if (fstat(fd, &st) < 0) {
                config_error_add(errors, file, 0, "cannot read config: %s", strerror(errno));
                return -EINVAL;
        }
        if (!S_ISREG(st.st_mode)) {
                config_error_add(errors, file, 0, "cannot read config: it is %s; a config is a regular file",
                                 file_kind(st.st_mode));
                return -EINVAL;
        }
        if (st.st_size > CONFIG_FILE_MAX) {
                config_error_add(errors, file, 0,
                                 "cannot read config: it is %jd bytes, over the limit of %d (%d MiB) for one config file; split it into files in /etc/nsmgr/conf.d",
                                 (intmax_t) st.st_size, CONFIG_FILE_MAX, CONFIG_FILE_MAX >> 20);
                return -EINVAL;
        }

        /* Read up to one byte more than allowed, so that a file that grew
         * since fstat() (or one that says it is empty, as in /proc) shows. */
        for (size_t cap = 0;;) {
                ssize_t n;

                if (len == cap) {
                        size_t ncap = cap ? cap * 2 : (size_t) st.st_size + 4096;
                        char *nbuf;

                        if (cap == CONFIG_FILE_MAX + 1)
                                break;
                        if (ncap > CONFIG_FILE_MAX + 1)
                                ncap = CONFIG_FILE_MAX + 1;
                        nbuf = realloc(buf, ncap);
                        if (!nbuf)
                                return -ENOMEM;
                        buf = nbuf;
                        cap = ncap;
                }
                n = read(fd, buf + len, cap - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        config_error_add(errors, file, 0, "cannot read config: %s", strerror(errno));
                        return -EINVAL;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        if (len > CONFIG_FILE_MAX) {
                config_error_add(errors, file, 0,
                                 "cannot read config: it is over the limit of %d bytes (%d MiB) for one config file; split it into files in /etc/nsmgr/conf.d",
                                 CONFIG_FILE_MAX, CONFIG_FILE_MAX >> 20);
                return -EINVAL;
        }
        return config_text_scan(buf, len, file, ret, errors);
}

static int attach(ConfigText *t, config_setting_t *s, size_t *k) {
        int type = config_setting_type(s);

        if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) {
                const ConfigInt *v;
                long long want;

                if (*k >= t->n_ints)
                        return -EBADMSG;
                v = &t->ints[*k];
                /* What libconfig made of the literal: Debian's 1.5 keeps a
                 * decimal without L as (int) strtol(), upstream's as an
                 * int64 if it does not fit; with L, or in hex, the bits. */
                if (v->overflow)
                        want = config_setting_get_int64(s);
                else if (type == CONFIG_TYPE_INT)
                        want = (int32_t) (uint32_t) (uint64_t) v->value;
                else
                        want = v->value;
                if (config_setting_get_int64(s) != want)
                        return -EBADMSG;
                config_setting_set_hook(s, (void *) v);
                (*k)++;
                return 0;
        }
        if (type == CONFIG_TYPE_GROUP || type == CONFIG_TYPE_LIST || type == CONFIG_TYPE_ARRAY)
                for (int i = 0; i < config_setting_length(s); i++) {
                        int r = attach(t, config_setting_get_elem(s, (unsigned) i), k);
                        if (r < 0)
                                return r;
                }
        return 0;
}

int config_text_attach(ConfigText *t, config_setting_t *root) {
        size_t k = 0;
        int r;

        r = attach(t, root, &k);
        if (r < 0)
                return r;
        return k == t->n_ints ? 0 : -EBADMSG;
}

const char *config_text_line(const ConfigText *t, int n, char buf[static CONFIG_LINE_SHOW_MAX]) {
        const char *s = t->text, *end;
        size_t k = 0;

        for (int i = 1; i < n && s; i++) {
                s = strchr(s, '\n');
                if (s)
                        s++;
        }
        if (!s) {
                buf[0] = 0;
                return buf;
        }
        end = strchrnul(s, '\n');
        while (s < end && (*s == ' ' || *s == '\t'))
                s++;
        while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
                end--;
        for (size_t i = 0; s + i < end; i++) {
                unsigned char c = (unsigned char) s[i];

                if (i == CONFIG_LINE_SHOW_BYTES) {
                        memcpy(buf + k, "...", 4);
                        return buf;
                }
                if (c < 0x20 || c >= 0x7f || c == '\'' || c == '\\')
                        k += (size_t) snprintf(buf + k, CONFIG_LINE_SHOW_MAX - k, "\\x%02x", c);
                else
                        buf[k++] = (char) c;
        }
        buf[k] = 0;
        return buf;
}
