"""Table-driven tests of the harness's small pure parts."""

from __future__ import annotations

import dataclasses

import pytest

from echo_conformance._bounds import Bounds, time_fields
from echo_conformance._client import COMPLETE, EOF, RESET, SLOW, STALLED, TIMEOUT, WRONG, Exchanged, chunked
from echo_conformance._diff import describe_stream, first_difference
from echo_conformance._registry import (DECLARATIONS, MANIFEST_KEYS, Implementation, ManifestError, bundled,
                                        from_options, load_manifest, make, parse_target, parse_transports)


@pytest.mark.parametrize("expected, observed, at", [
    (b"abc", b"abc", None),
    (b"abc", b"ab", 2),
    (b"ab", b"abc", 2),
    (b"abc", b"axc", 1),
    (b"", b"x", 0),
    (bytes(200_000), bytes(199_999) + b"\x01", 199_999),
])
def test_first_difference(expected, observed, at):
    assert first_difference(expected, observed) == at


@pytest.mark.parametrize("expected, observed, phrases", [
    (b"hello", b"hello", ["received exactly the 5 bytes"]),
    (b"hello", b"hell", ["expected 5 bytes back, observed 4", "truncated: the last one byte never arrived",
                         "68 65 6c 6c 6f", "|hello|"]),
    (b"ping", b"ping\n", ["one extra byte after the echo, from offset 4", "0a", "|ping.|"]),
    (b"\x00\x01\x02", b"\x00\xff\x02", ["one byte differs, at offset 1", "00 ff 02"]),
])
def test_describe_stream(expected, observed, phrases):
    text = describe_stream(expected, observed)
    for phrase in phrases:
        assert phrase in text


@pytest.mark.parametrize("payload, sizes, chunks", [
    (b"abcdef", [2], [b"ab", b"cd", b"ef"]),
    (b"abcdef", [1, 4], [b"a", b"bcde", b"f"]),
    (b"abc", [10], [b"abc"]),
    (b"", [3], []),
    (b"abc", [0], [b"a", b"b", b"c"]),
])
def test_chunked_whole_bytewise_and_with_trailing_data(payload, sizes, chunks):
    assert chunked(payload, sizes) == chunks
    assert b"".join(chunked(payload, sizes)) == payload


@pytest.mark.parametrize("value, target", [
    ("127.0.0.1:7", ("127.0.0.1", 7)),
    ("[::1]:2007", ("::1", 2007)),
    ("localhost:65535", ("localhost", 65535)),
])
def test_parse_target(value, target):
    assert parse_target(value) == target


@pytest.mark.parametrize("value", ["localhost", ":7", "host:0", "host:70000", "host:x"])
def test_parse_target_rejects(value):
    with pytest.raises(ManifestError):
        parse_target(value)


def test_transports_are_parsed_and_deduplicated():
    assert parse_transports("x", "tcp, udp,tcp") == ("tcp", "udp")


def test_template_arguments_are_filled_per_argument():
    impl = make("x", "{python} -m server --port {port} --name 'two words'")
    assert impl.argv(python="/path with space/python", port=9, host="::1")[:2] == ["/path with space/python", "-m"]
    assert impl.argv(port=9)[-1] == "two words"


# --- the declaration table: options, manifest keys, validation and reproduce lines -----------

THREAD = "{python} -m echo_conformance.implementations.echo_thread --host {host} --port {port}"


def _options(argv: list[str]):
    """Parse ``argv`` as the echo-conformance command would, and select the implementations."""
    from echo_conformance.cli import parser

    return from_options(vars(parser().parse_args(argv)))


#: Implementation's fields after its declarations: where it came from
IDENTITY = ("target", "source", "manifest", "extra")


def test_the_table_is_the_implementation_fields_and_the_manifest_keys():
    fields = dataclasses.fields(Implementation)
    assert [f.name for f in fields] == [*(d.field for d in DECLARATIONS), *IDENTITY]
    for d, f in zip(DECLARATIONS, fields):  # a required declaration has no default
        assert f.default == (dataclasses.MISSING if d.required else d.default), d.field
    assert list(make("x", THREAD).declared()) == [d.field for d in DECLARATIONS]
    assert MANIFEST_KEYS == {d.field for d in DECLARATIONS}
    assert {d.option for d in DECLARATIONS if d.option} == {
        "--impl-name", "--impl-cmd", "--impl-model", "--impl-kind", "--impl-transport", "--impl-ipv6",
        "--impl-capacity", "--impl-connections", "--impl-cwd"}


def test_pytest_plugin_and_command_offer_every_declaration_option():
    from echo_conformance import plugin
    from echo_conformance.cli import parser

    plugin_options: list[str] = []

    class Group:  # what pytest_addoption adds to
        def addoption(self, *names, **kwargs):
            plugin_options.extend(names)

    class Parser:
        def getgroup(self, *args, **kwargs):
            return Group()

    plugin.pytest_addoption(Parser())  # type: ignore[arg-type]
    command = parser().format_help()
    for d in DECLARATIONS:
        if d.option:
            assert d.option in plugin_options and f"\n    {d.option}" in command, d.option
    assert "--skip-case" in plugin_options


def test_every_declaration_survives_the_reproduce_line(tmp_path):
    argv = ["--impl-cmd", THREAD, "--impl-name", "two words", "--impl-model", "serial", "--impl-kind", "echo",
            "--impl-transport", "udp,tcp", "--impl-ipv6", "--impl-capacity", "500", "--impl-cwd", str(tmp_path)]
    [impl] = _options(argv)
    assert (impl.model, impl.transports, impl.ipv6, impl.capacity, impl.cwd) == (
        "serial", ("udp", "tcp"), True, 500, tmp_path.resolve())
    line = impl.reproduce_argv()
    assert line[:2] == ["--impl-cmd", THREAD] and "--impl-ipv6" in line and "--impl-capacity" in line
    assert _options(line) == [impl]


def test_the_reproduce_line_names_only_what_differs_from_the_defaults():
    [impl] = _options(["--impl-cmd", THREAD])
    assert impl.reproduce_argv() == ["--impl-cmd", THREAD]
    [impl] = _options(["--impl-cmd", THREAD, "--impl-ipv6"])
    assert impl.reproduce_options() == f"--impl-cmd '{THREAD}' --impl-ipv6"


def test_extras_are_no_part_of_an_implementations_identity():
    plain, listed = make("x", THREAD), make("x", THREAD, extra={"must_fail": ["tcp.echo.binary"]})
    assert plain == listed and hash(plain) == hash(listed)
    assert dataclasses.replace(plain, model="serial") != plain


@pytest.mark.parametrize("target, ipv6", [("127.0.0.1:2007", False), ("[::1]:2007", True)])
def test_a_target_reproduce_line_keeps_its_declarations(target, ipv6):
    argv = ["--target", target, "--impl-name", "mine", "--impl-model", "serial", "--impl-transport", "tcp,udp",
            "--impl-capacity", "9"]
    [impl] = _options(argv)
    assert impl.ipv6 is ipv6 and not impl.launched
    line = impl.reproduce_argv()
    assert line[:2] == ["--target", target]
    assert {"--impl-name", "--impl-model", "--impl-transport", "--impl-capacity"} <= set(line)
    assert _options(line) == [impl]


def test_manifest_and_bundled_reproduce_lines_select_by_name(tmp_path):
    manifest = tmp_path / "m.toml"
    manifest.write_text(f'[[implementation]]\nname = "a"\ncommand = "{THREAD}"\ncapacity = 3\nmust_fail = ["x"]\n')
    [impl] = load_manifest(manifest)
    assert impl.capacity == 3 and impl.cwd == tmp_path.resolve() and impl.extra == {"must_fail": ["x"]}
    assert impl.reproduce_argv() == ["--impl-file", str(manifest), "--impl", "a"]
    assert _options(impl.reproduce_argv()) == [impl]
    thread = next(i for i in bundled() if i.name == "echo-thread")
    assert thread.reproduce_argv() == ["--impl", "echo-thread"]


@pytest.mark.parametrize("argv, message", [
    (["--impl-cmd", "x"], "--impl-cmd: the command template must contain {port}"),
    (["--impl-cmd", "x {port}", "--impl-model", "parallel"], "--impl-model must be one of serial, concurrent"),
    (["--impl-cmd", "x {port}", "--impl-transport", "sctp"], "--impl-transport: unknown transport 'sctp'"),
    (["--impl-cmd", "x {port}", "--impl-transport", ","], "--impl-transport: no transport declared"),
    (["--impl-cmd", "x {port}", "--impl-capacity", "0"], "--impl-capacity must be a positive whole number"),
    (["--impl-cmd", "x {port}", "--impl-capacity", "many"], "--impl-capacity must be a positive whole number"),
    (["--impl-cmd", "x {port}", "--impl-cwd", "/no/such/dir"], "--impl-cwd: no such directory"),
    (["--impl-cmd", "x {port}", "--impl-kind", "relay"], "a relay's command template must contain {upstream_port}"),
    (["--impl-cmd", "x {port}", "--target", "h:1"], "use only one of --impl-cmd, --impl-file and --target"),
    (["--target", "h:1", "--impl-cwd", "."], "--impl-cwd does not apply to --target"),
    (["--target", "127.0.0.1:7", "--impl-ipv6"], "--impl-ipv6 with --target"),
    (["--impl-model", "serial"], "--impl-model: declarations go with --impl-cmd or --target"),
    (["--impl", "nope"], "--impl: no implementation named nope"),
])
def test_bad_declarations_on_the_command_line(argv, message):
    with pytest.raises(ManifestError) as info:
        _options(argv)
    assert message in str(info.value)


@pytest.mark.parametrize("entry, message", [
    ('command = "x {port}"', "implementation #1: name is required"),
    ('name = "a"', "implementation 'a': command is required"),
    ('name = "a"\ncommand = "x {port}"\nmodel = 1', "implementation 'a': model must be one of"),
    ('name = "a"\ncommand = "x {port}"\nipv6 = "yes"', "implementation 'a': ipv6 must be true or false"),
    ('name = "a"\ncommand = "x {port}"\ncapacity = true', "implementation 'a': capacity must be a positive"),
    ('name = "a"\ncommand = "x {port}"\ntransports = "tcp,sctp"', "unknown transport 'sctp'"),
    ('name = "a"\ncommand = "x {port}"\ncwd = "nowhere"', "implementation 'a': cwd: no such directory"),
    ('name = "a"\ncommand = "x {port}"\ndescription = 5', "implementation 'a': description must be a string"),
])
def test_bad_manifest_entries_name_the_file_the_entry_and_the_key(entry, message, tmp_path):
    manifest = tmp_path / "m.toml"
    manifest.write_text(f"[[implementation]]\n{entry}\n")
    with pytest.raises(ManifestError) as info:
        load_manifest(manifest)
    assert str(info.value).startswith(f"{manifest}: ") and message in str(info.value)


@pytest.mark.parametrize("ended", [COMPLETE, EOF, RESET, STALLED, SLOW, WRONG, TIMEOUT])
@pytest.mark.parametrize("stall", [None, 2.0])
def test_every_outcome_describes_itself_with_or_without_a_stall_bound(ended, stall):
    """listen_quietly() returns outcomes without a stall bound: describing one must not fail."""
    assert Exchanged(b"ab", ended, 0.5, stall=stall).describe()


def test_scaled_bounds_multiply_every_time_once():
    base, slow = Bounds(), Bounds().scaled(2.5)
    assert all(isinstance(getattr(base, name), float) for name in time_fields())
    assert all(getattr(slow, name) == getattr(base, name) * 2.5 for name in time_fields())
    assert slow.scale == 2.5 and base.progress == 2.0  # reading a field does no arithmetic
    assert dataclasses.replace(slow, exchange=7.0).progress == slow.progress == 5.0  # nor does replace()
    assert base.scaled(2).scaled(2) == base.scaled(4)  # powers of two: exact in floating point
