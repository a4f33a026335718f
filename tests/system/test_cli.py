"""Issue 16: nsmgrctl as a daily user meets it: per-verb help, versions,
usage errors, tables in display columns, colour only on a terminal, messages
for non-root users, and bash and zsh completion (driven as the shells drive
them: bash's COMP_WORDS/COMP_CWORD, zsh's TAB on a pseudo-terminal)."""

import os
import pty
import re
import select
import subprocess
import unicodedata

import pytest

from conftest import ROOT, run

BASH_COMPLETION = os.path.join(ROOT, "shell-completion", "bash", "nsmgrctl")
ZSH_DIR = os.path.join(ROOT, "shell-completion", "zsh")
ZCOMPLETE = os.path.join(ROOT, "tests", "lib", "zcomplete.zsh")
VERBS = ["create", "pin", "delete", "list", "show", "path", "exec", "apply", "check", "attach", "detach", "oci",
         "oci-hook", "status", "reload", "monitor", "help", "version"]


def columns(s):
    """Display columns of s, as a terminal shows it (East Asian wide and
    fullwidth characters take two), computed without nsmgr's code."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1 for c in s)


def verb_options(nsmgr, verb):
    """The options 'nsmgrctl help VERB' describes: its Options: section."""
    text = nsmgr.ok("help", verb).stdout
    section = text.split("\nOptions:\n", 1)[1].split("\n\n", 1)[0]
    opts = set()
    for line in section.splitlines():
        # "  -c, --config FILE  text" or "      --json  text"; a wrapped
        # text goes on further right.
        if line.startswith("  -") or line.startswith("      --"):
            label = line.strip().split("  ")[0]
            opts |= set(re.findall(r"--?[a-zA-Z][\w-]*", label))
    return opts


# --- help and versions -------------------------------------------------------

def test_every_verb_has_help_of_its_own(nsmgr):
    listed = [l.split("\t")[0] for l in nsmgr.ok("__complete", "verbs").stdout.splitlines()]
    assert listed == VERBS
    general = nsmgr.ok("--help").stdout
    for verb in VERBS:
        h = nsmgr.ok("help", verb).stdout
        assert h.startswith(f"Usage: nsmgrctl {verb}"), h
        assert h != general
        # The same text every way it is asked for.
        assert nsmgr.ok(verb, "--help").stdout == h
        assert nsmgr.ok(verb, "-h").stdout == h
        assert "  -h, --help" in h


MAN_HEADS = []


def man_heads():
    """Each entry head of nsmgrctl(8)'s COMMANDS section (written by hand,
    apart from the code) as (verb, text): its first line, and one after
    each .TQ, without formatting."""
    if not MAN_HEADS:
        text = open(os.path.join(ROOT, "man", "nsmgrctl.8")).read()
        body = text.split(".SH COMMANDS", 1)[1].split("\n.SH ", 1)[0]
        for entry in body.split("\n.TP\n")[1:]:
            lines = entry.split("\n")
            head = " ".join([lines[0]] + [lines[i + 1] for i, l in enumerate(lines[:-1]) if l == ".TQ"])
            head = re.sub(r"\\f[BIRP]", "", head.replace("\\-", "-"))
            m = re.match(r"(?:\.B[IR]? )?\"?([a-z-]+)(.*)", head)
            MAN_HEADS.append((m.group(1), m.group(2)))
    return MAN_HEADS


def man_options():
    """Each verb's options as nsmgrctl(8) lists them."""
    out = {}
    for verb, head in man_heads():
        out.setdefault(verb, set()).update(re.findall(r"--[a-z][a-z-]*|(?<![\w-])-[a-zA-Z]\b", head))
    return out


@pytest.mark.parametrize("verb", [v for v in VERBS if v not in ("help", "version")])
def test_help_describes_every_option_the_man_page_lists(nsmgr, verb):
    described = verb_options(nsmgr, verb)
    in_man = man_options().get(verb)
    assert in_man is not None, f"nsmgrctl(8) has no entry for {verb}"
    assert in_man <= described, f"{verb}: in nsmgrctl(8) but not in 'help {verb}': {in_man - described}"
    assert described - {"-h", "--help"} <= in_man, \
        f"{verb}: in 'help {verb}' but not in nsmgrctl(8): {described - {'-h', '--help'} - in_man}"
    # And each is accepted: never "unknown option".
    for o in described - {"-h", "--help"}:
        p = nsmgr(verb, o, "x") if verb != "exec" else nsmgr(verb, "x", o)
        assert "unknown option" not in p.stderr, (verb, o, p.stderr)


def positional(words):
    """The operands of a synopsis: its upper-case words up to the first
    option or bracket (NAME, NAME|PATH, NETWORK)."""
    out = []
    for w in words:
        if w.startswith(("-", "[")):
            break
        if re.fullmatch(r"[A-Z][A-Z|]*", w):
            out.append(w)
    return out


def test_synopses_agree_in_help_man_page_and_readme(nsmgr):
    man = {}
    for verb, head in man_heads():
        man.setdefault(verb, positional(head.split()))
    readme = {}
    for line in open(os.path.join(ROOT, "README.md")):
        m = re.match(r"    nsmgrctl ([a-z-]+) (.*)", line)
        if m and m.group(1) not in readme:
            readme[m.group(1)] = positional(m.group(2).split())
    for verb in ("attach", "detach", "create", "delete", "show", "path", "oci"):
        usage = nsmgr.ok("help", verb).stdout.splitlines()[0].split()[2:]
        assert positional(usage) == man[verb] == readme[verb], (verb, usage, man[verb], readme[verb])
    # A namespace that is not under /run/netns (a CNI runtime's pin, /proc/PID/ns/net)
    # is attached and detached by its path.
    assert man["attach"] == ["NAME|PATH", "NETWORK"]


def test_help_fits_80_columns_and_summaries_line_up(nsmgr):
    text = nsmgr.ok("--help").stdout
    assert max(columns(l) for l in text.splitlines()) <= 80
    rows = text.split("\nCommands:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    # One row per verb (no summary wrapped onto a second line), each
    # summary starting in the same column: attach's row used to push its
    # summary out.
    assert [r.split()[0] for r in rows] == VERBS
    starts = {re.match(r"  \S.*?\S  +", r).end() for r in rows}
    assert len(starts) == 1, rows
    for verb in VERBS:
        assert max(columns(l) for l in nsmgr.ok("help", verb).stdout.splitlines()) <= 80, verb


def test_apply_n_is_documented_and_is_a_dry_run(nsmgr):
    assert "-n, --dry-run" in nsmgr.ok("help", "apply").stdout
    p = nsmgr("apply", "-n", "-c", os.path.join(ROOT, "conf", "bridge-tutorial.conf"))
    assert p.returncode == 4, p.stderr  # changes pending, as nsmgrctl(8) says
    assert "would change (dry run, nothing was changed)" in p.stdout and "red" in p.stdout
    assert not os.path.isdir("/run/netns") or os.listdir("/run/netns") == []
    assert run(["ip", "netns", "list"], check=True).stdout == ""


def test_help_of_an_unknown_verb_is_a_usage_error(nsmgr):
    p = nsmgr("help", "frobnicate")
    assert p.returncode == 2 and "unknown command 'frobnicate'" in p.stderr
    # Never matched by prefix.
    assert nsmgr("help", "cre").returncode == 2


@pytest.mark.parametrize("args", [["--version"], ["-V"], ["version"]])
def test_version_every_way(nsmgr, args):
    version = re.search(r"^VERSION\s*:=\s*(\S+)", open(os.path.join(ROOT, "Makefile")).read(), re.M).group(1)
    assert nsmgr.ok(*args).stdout == f"nsmgrctl {version}\n"


def test_version_takes_no_argument(nsmgr):
    p = nsmgr("version", "extra")
    assert p.returncode == 2 and "unexpected argument 'extra'" in p.stderr


# --- exec ----------------------------------------------------------------------

def test_exec_unknown_option_is_a_usage_error_not_a_command(nsmgr, tmp_path):
    nsmgr.ok("create", "c2")
    marker = tmp_path / "ran"
    for args in (["--foo", "--", "true"], ["-x", "true"], ["--foo"]):
        p = nsmgr("exec", "c2", *args)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert f"unknown option '{args[0]}'" in p.stderr and "cannot run" not in p.stderr
    # What follows NAME and '--', or the command, is still the command's.
    p = nsmgr("exec", "c2", "--", "sh", "-c", f"touch {marker}")
    assert p.returncode == 0 and marker.exists()
    assert nsmgr("exec", "c2", "sh", "-c", "exit 3").returncode == 3
    assert nsmgr.ok("exec", "c2", "--help").stdout.startswith("Usage: nsmgrctl exec")


# --- list ----------------------------------------------------------------------

NAMES = ["café", "网络", "red", "a-much-longer-name"]


def list_text(nsmgr, *args, env=None):
    p = subprocess.run([nsmgr.ctl_path, "list", *args], capture_output=True, text=True,
                       env=dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8", **(env or {})))
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_list_aligns_names_in_display_columns(nsmgr):
    for n in NAMES:
        nsmgr.ok("create", n)
    lines = list_text(nsmgr).splitlines()
    assert lines[0].startswith("NAME ")
    assert sorted(l.split()[0] for l in lines[1:]) == sorted(NAMES)
    # Every column starts (left-aligned) or ends (numbers, right-aligned)
    # in the same display column on every line, wide characters included.
    head = lines[0]
    inode_end = columns(head[:head.index("INODE") + len("INODE")])
    managed_start = columns(head[:head.index("MANAGED")])
    for l in lines[1:]:
        m = re.match(r"(\S+)( +)(\d+)", l)
        assert columns(m.group(0)) == inode_end, (l, lines)
        assert columns(l[:l.index("create")]) == managed_start, (l, lines)


def test_list_no_legend_and_quiet(nsmgr):
    for n in NAMES:
        nsmgr.ok("create", n)
    full = list_text(nsmgr).splitlines()
    assert list_text(nsmgr, "--no-legend").splitlines() == full[1:]
    assert list_text(nsmgr, "--quiet").splitlines() == sorted(os.listdir("/run/netns"))
    assert list_text(nsmgr, "-q").splitlines() == sorted(NAMES, key=lambda n: n.encode())
    # Nothing listed: no header either, whatever the options.
    for n in NAMES:
        nsmgr.ok("delete", n)
    assert list_text(nsmgr) == list_text(nsmgr, "-q") == ""


def on_terminal(args, env):
    """Runs args with stdout on a pseudo-terminal; returns what it wrote."""
    master, slave = pty.openpty()
    p = subprocess.Popen(args, stdout=slave, stderr=subprocess.PIPE, env=env)
    os.close(slave)
    out = b""
    while True:
        r, _, _ = select.select([master], [], [], 30)
        if not r:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    p.wait(timeout=30)
    os.close(master)
    assert p.returncode == 0
    return out.decode()


def test_colour_only_on_a_terminal_and_never_with_no_color(nsmgr):
    nsmgr.ok("create", "red")
    open("/run/netns/broken1", "w").close()
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    tty = on_terminal([nsmgr.ctl_path, "list"], dict(base, TERM="xterm"))
    assert "\x1b[" in tty
    # The header highlighted, the broken entry red; the text the same.
    assert re.search(r"\x1b\[[0-9;]*mNAME ", tty) and re.search(r"\x1b\[[0-9;]*31mbroken1 ", tty)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", tty).replace("\r\n", "\n")
    assert plain == list_text(nsmgr)
    for env in (dict(base, TERM="xterm", NO_COLOR="1"), dict(base, TERM="dumb")):
        assert "\x1b" not in on_terminal([nsmgr.ctl_path, "list"], env)
    # A pipe: none.
    assert "\x1b" not in list_text(nsmgr) and "\x1b" not in nsmgr("status").stdout
    # NO_COLOR set but empty does not count (https://no-color.org).
    assert "\x1b[" in on_terminal([nsmgr.ctl_path, "list"], dict(base, TERM="xterm", NO_COLOR=""))


# --- non-root ------------------------------------------------------------------

def as_nobody(nsmgr, *args):
    return run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                nsmgr.ctl_path, *args])


@pytest.mark.parametrize("args", [["exec", "red", "--", "true"], ["show", "red"]])
def test_non_root_is_told_root_is_needed(nsmgr, args):
    nsmgr.ok("create", "red")
    p = as_nobody(nsmgr, *args)
    assert p.returncode == 1
    assert "permission denied; this needs root" in p.stderr and "'red'" in p.stderr
    assert p.stderr.count("\n") == 1, p.stderr


# --- bash completion -------------------------------------------------------------

def bash_complete(nsmgr, words, with_bash_completion=False, cwd=ROOT):
    """Calls _nsmgrctl as bash does on TAB, COMP_WORDS being WORDS (the last
    is the one being completed); returns COMPREPLY."""
    pre = ". /usr/share/bash-completion/bash_completion\n" if with_bash_completion else ""
    script = pre + f""". {BASH_COMPLETION}
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${{#COMP_LINE}}
_nsmgrctl
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    env = dict(os.environ, PATH=os.path.dirname(nsmgr.ctl_path) + ":" + os.environ["PATH"])
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", script, "bash", *words], capture_output=True,
                       text=True, env=env, cwd=cwd)
    # bash-completion's own compopt calls complain outside a real TAB.
    stderr = [l for l in p.stderr.splitlines() if "compopt: not currently executing completion function" not in l]
    assert p.returncode == 0 and stderr == [], p.stderr
    return [w for w in p.stdout.split("\n") if w]


def test_bash_completion_is_registered():
    p = run(["bash", "--norc", "-c", f". {BASH_COMPLETION}; complete -p nsmgrctl"], check=True)
    assert p.stdout.strip() == "complete -F _nsmgrctl nsmgrctl"


@pytest.mark.parametrize("loaded", [False, True], ids=["plain", "bash-completion"])
def test_bash_completes_verbs_and_options_per_verb(nsmgr, loaded):
    assert bash_complete(nsmgr, ["nsmgrctl", ""], loaded) == VERBS
    assert bash_complete(nsmgr, ["nsmgrctl", "de"], loaded) == ["delete", "detach"]
    assert bash_complete(nsmgr, ["nsmgrctl", "-"], loaded) == ["-h", "--help", "-V", "--version"]
    for verb in VERBS:
        offered = set(bash_complete(nsmgr, ["nsmgrctl", verb, "-"], loaded)) - {"--"}
        assert offered == verb_options(nsmgr, verb), verb
    assert bash_complete(nsmgr, ["nsmgrctl", "list", "--no"], loaded) == ["--no-legend"]
    assert bash_complete(nsmgr, ["nsmgrctl", "help", "att"], loaded) == ["attach"]


@pytest.mark.parametrize("loaded", [False, True], ids=["plain", "bash-completion"])
def test_bash_completes_namespaces_from_run_netns(nsmgr, loaded):
    nsmgr.ok("create", "red")
    nsmgr.ok("create", "my ns")
    run(["ip", "netns", "add", "by-ip"], check=True)  # made by another tool: there too
    names = ["by-ip", "my ns", "red"]
    for words in (["delete", ""], ["show", ""], ["exec", ""], ["attach", ""], ["path", "--json", ""]):
        assert sorted(bash_complete(nsmgr, ["nsmgrctl", *words], loaded)) == names, words
    assert bash_complete(nsmgr, ["nsmgrctl", "delete", "r"], loaded) == ["red"]
    # A new name is not completed from existing ones.
    assert bash_complete(nsmgr, ["nsmgrctl", "create", ""], loaded) == []


@pytest.mark.parametrize("loaded", [False, True], ids=["plain", "bash-completion"])
def test_bash_completes_networks_from_the_config(nsmgr, loaded, tmp_path):
    nsmgr.ok("create", "red")
    lab = os.path.join(ROOT, "conf", "lab.conf")
    assert bash_complete(nsmgr, ["nsmgrctl", "attach", "-c", lab, "red", ""], loaded) == ["lab"]
    assert bash_complete(nsmgr, ["nsmgrctl", "detach", "red", "--config", "=", lab, ""], loaded) == ["lab"]
    # The default config, as nsmgrctl reads it.
    with open("/etc/nsmgr/nsmgr.conf", "w") as f:
        f.write('networks = ( { name = "front"; bridge = "br-front"; subnet = "198.18.30.0/24"; },\n'
                '             { name = "back"; bridge = "br-back"; subnet = "198.18.31.0/24"; } );\n')
    assert sorted(bash_complete(nsmgr, ["nsmgrctl", "attach", "red", ""], loaded)) == ["back", "front"]
    assert bash_complete(nsmgr, ["nsmgrctl", "attach", "red", "f"], loaded) == ["front"]
    # A config that cannot be read offers nothing, and says nothing.
    with open("/etc/nsmgr/nsmgr.conf", "w") as f:
        f.write("networks = (\n")
    assert bash_complete(nsmgr, ["nsmgrctl", "attach", "red", ""], loaded) == []


@pytest.mark.parametrize("loaded", [False, True], ids=["plain", "bash-completion"])
def test_bash_completes_files_pids_and_commands(nsmgr, loaded):
    assert bash_complete(nsmgr, ["nsmgrctl", "apply", "-c", "conf/lab"], loaded) == ["conf/lab.conf"]
    assert bash_complete(nsmgr, ["nsmgrctl", "apply", "--config", "=", "conf/bridge"], loaded) == \
        ["conf/bridge-tutorial.conf"]
    # Folders only (no 'configure' file here to tell, so: folders are offered).
    assert [w.rstrip("/") for w in bash_complete(nsmgr, ["nsmgrctl", "oci", "x", "--bundle", "con"], loaded)] == \
        ["conf"]
    assert str(os.getpid()) in bash_complete(nsmgr, ["nsmgrctl", "pin", "x", "--pid", ""], loaded)
    nsmgr.ok("create", "red")
    for words in (["exec", "red", "nsmgrc"], ["exec", "red", "--", "nsmgrc"]):
        assert "nsmgrctl" in bash_complete(nsmgr, ["nsmgrctl", *words], loaded), words
    assert bash_complete(nsmgr, ["nsmgrctl", "exec", "red", "--"], loaded) == ["--help", "--"]


# --- zsh completion ----------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|.\x08")


def zsh_complete(nsmgr, *lines):
    """What the terminal shows after TAB at the end of each line, in an
    interactive zsh with our completion loaded by compinit."""
    env = dict(os.environ, TERM="xterm", PATH=os.path.dirname(nsmgr.ctl_path) + ":" + os.environ["PATH"])
    p = subprocess.run(["zsh", "-f", ZCOMPLETE, ZSH_DIR, *lines], capture_output=True, text=True, env=env,
                       cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    out = {}
    for part in p.stdout.split("=== ")[1:]:
        line, shown = part.split("\n", 1)
        out[line] = ANSI.sub("", shown)
    return out


def test_zsh_completion_loads_with_compinit():
    p = run(["zsh", "-fc", f"fpath=({ZSH_DIR} $fpath); autoload -U compinit; compinit -u -D; "
                           "print -r -- $_comps[nsmgrctl]"], check=True)
    assert p.stdout.strip() == "_nsmgrctl"


def test_zsh_completes_verbs_options_namespaces_and_networks(nsmgr):
    nsmgr.ok("create", "red")
    nsmgr.ok("create", "blue")
    lab = os.path.join(ROOT, "conf", "lab.conf")
    shown = zsh_complete(nsmgr, "nsmgrctl de", "nsmgrctl list -", "nsmgrctl delete ", f"nsmgrctl attach -c {lab} red ",
                         "nsmgrctl exec red -- nsmgrc")
    assert re.search(r"delete +-- unpin NAME", shown["nsmgrctl de"]) and "detach" in shown["nsmgrctl de"]
    assert "--no-legend" in shown["nsmgrctl list -"] and "--quiet" in shown["nsmgrctl list -"]
    assert "red" in shown["nsmgrctl delete "] and "blue" in shown["nsmgrctl delete "]
    # A single match is inserted.
    assert f"attach -c {lab} red lab" in shown[f"nsmgrctl attach -c {lab} red "]
    assert "exec red -- nsmgrctl" in shown["nsmgrctl exec red -- nsmgrc"]
