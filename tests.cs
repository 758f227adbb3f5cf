#!/usr/bin/env dotnet
// tests.cs: every test of KV (xunit.v3). Run them all with `dotnet tests.cs`; one class with
// `dotnet tests.cs -- -class ParserTests`.
//
// Unit tests call Protocol.cs directly (parser, command table, codec, store, formats). Integration tests
// build KVServer.cs and KVClient.cs once (LiveProcess.BuildAsync), start a real server process on port 0 and
// talk to it over TCP, or drive the real client with redirected standard input, as a user would.

#:include Protocol.cs
#:package xunit.v3@4.0.2

using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using KV;
using Xunit;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

// ---------------------------------------------------------------------------------------------
// Unit tests: Protocol.cs
// ---------------------------------------------------------------------------------------------

public class CommandTableTests
{
    [Fact]
    public void Every_command_has_a_name_usage_help_and_wire_reply()
    {
        Assert.Equal(Enum.GetValues<CommandKind>().Length, Commands.All.Length);
        foreach (var command in Commands.All)
        {
            Assert.Matches("^[a-z]+$", command.Name);
            Assert.StartsWith(command.Name, command.Usage);
            Assert.False(string.IsNullOrWhiteSpace(command.Summary));
            Assert.False(string.IsNullOrWhiteSpace(command.Reply));
            Assert.Contains(command.Summary, command.HelpLine);
        }
    }

    [Fact]
    public void Names_are_unique_and_found_in_any_case()
    {
        Assert.Equal(Commands.All.Length, Commands.All.Select(c => c.Name).Distinct().Count());
        foreach (var command in Commands.All)
        {
            Assert.Same(command, Commands.Find(Encoding.ASCII.GetBytes(command.Name.ToUpperInvariant())));
            Assert.Same(command, Commands.Get(command.Kind));
        }
    }

    [Fact]
    public void Usage_shows_the_flags_only_where_a_command_takes_them()
    {
        Assert.Equal("get KEY [--xml|--json|--yml]", Commands.Get(CommandKind.Get).Usage);
        Assert.Equal("list [--xml|--json|--yml]", Commands.Get(CommandKind.List).Usage);
        Assert.Equal("set KEY VALUE", Commands.Get(CommandKind.Set).Usage);
        Assert.Equal("del KEY", Commands.Get(CommandKind.Del).Usage);
    }
}

public class ParserTests
{
    private static Request Valid(string line) =>
        Assert.IsType<LineParse.Valid>(Request.Parse(line)).Request;

    private static string Invalid(string line) =>
        Assert.IsType<LineParse.Invalid>(Request.Parse(line)).Error;

    [Theory]
    [InlineData("get k", CommandKind.Get)]
    [InlineData("GET k", CommandKind.Get)]
    [InlineData("gEt k", CommandKind.Get)]
    [InlineData("set k v", CommandKind.Set)]
    [InlineData("SET k v", CommandKind.Set)]
    [InlineData("del k", CommandKind.Del)]
    [InlineData("Del k", CommandKind.Del)]
    [InlineData("list", CommandKind.List)]
    [InlineData("LIST", CommandKind.List)]
    [InlineData("ping", CommandKind.Ping)]
    [InlineData("PiNg", CommandKind.Ping)]
    [InlineData("help", CommandKind.Help)]
    [InlineData("help get", CommandKind.Help)]
    [InlineData("HELP SET", CommandKind.Help)]
    [InlineData("exit", CommandKind.Exit)]
    [InlineData("EXIT", CommandKind.Exit)]
    public void Every_command_parses_in_any_case(string line, CommandKind kind) =>
        Assert.Equal(kind, Valid(line).Command.Kind);

    [Theory]
    [InlineData(" x\tb ")]
    [InlineData("\t\ttabs\tinside\t")]
    [InlineData("   ")]
    [InlineData("")]
    [InlineData("runs   of    spaces")]
    [InlineData("<tag attr=\"1\">&amp;'quoted'</tag>")]
    [InlineData("ñandú, čeština, 日本語, עברית")]
    [InlineData("emoji 😀🎉 and a family 👨‍👩‍👧")]
    [InlineData("set k v")]
    [InlineData("--json")]
    [InlineData("a\rb")]
    public void The_value_of_set_is_the_rest_of_the_line_verbatim(string value)
    {
        var request = Valid("set key " + value);
        Assert.Equal("key", request.Key);
        Assert.Equal(value, request.Value);
    }

    [Theory]
    [InlineData("get k --xml", OutputFormat.Xml)]
    [InlineData("get k --JSON", OutputFormat.Json)]
    [InlineData("get k --Yml", OutputFormat.Yaml)]
    [InlineData("list --xml", OutputFormat.Xml)]
    [InlineData("list --json", OutputFormat.Json)]
    [InlineData("LIST --YML", OutputFormat.Yaml)]
    [InlineData("get k", OutputFormat.Plain)]
    public void Format_flags_are_case_insensitive(string line, OutputFormat format) =>
        Assert.Equal(format, Valid(line).Format);

    [Fact]
    public void Keys_are_case_sensitive_and_may_hold_any_printable_unicode()
    {
        Assert.Equal("Key", Valid("get Key").Key);
        Assert.Equal("ключ-😀", Valid("del ключ-😀").Key);
        Assert.Equal(new string('k', 256), Valid("get " + new string('k', 256)).Key);
        Assert.Equal(string.Concat(Enumerable.Repeat("😀", 256)), Valid("get " + string.Concat(Enumerable.Repeat("😀", 256))).Key);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\t")]
    public void A_blank_line_is_nothing(string line) =>
        Assert.IsType<LineParse.Blank>(Request.Parse(line));

    [Theory]
    [InlineData("fo", "unknown command 'fo' (type 'help')")]
    [InlineData("gett k", "unknown command 'gett' (type 'help')")]
    [InlineData("help fo", "unknown command 'fo' (type 'help')")]
    [InlineData(" get k", "the line starts with a space")]
    [InlineData("get", "wrong arguments for 'get' (usage: get KEY [--xml|--json|--yml])")]
    [InlineData("get a b", "wrong arguments for 'get'")]
    [InlineData("get a --json --xml", "wrong arguments for 'get'")]
    [InlineData("get a --csv", "unknown flag '--csv' for 'get'")]
    [InlineData("get --json", "a KEY must come before '--json'")]
    [InlineData("get --json k", "a KEY must come before '--json'")]
    [InlineData("get  k", "unexpected extra space")]
    [InlineData("get k ", "unexpected extra space")]
    [InlineData("get k  --json", "unexpected extra space")]
    [InlineData("set", "wrong arguments for 'set' (usage: set KEY VALUE)")]
    [InlineData("set k", "wrong arguments for 'set'")]
    [InlineData("set  k v", "unexpected extra space")]
    [InlineData("del", "wrong arguments for 'del' (usage: del KEY)")]
    [InlineData("del k --json", "wrong arguments for 'del'")]
    [InlineData("del k v", "wrong arguments for 'del'")]
    [InlineData("list k", "wrong arguments for 'list'")]
    [InlineData("list --csv", "unknown flag '--csv' for 'list'")]
    [InlineData("list --json --xml", "wrong arguments for 'list'")]
    [InlineData("ping x", "wrong arguments for 'ping'")]
    [InlineData("ping --json", "wrong arguments for 'ping'")]
    [InlineData("ping ", "unexpected extra space")]
    [InlineData("exit now", "wrong arguments for 'exit'")]
    [InlineData("help get set", "wrong arguments for 'help'")]
    [InlineData("get a\tb", "the key contains whitespace or a control character")]
    [InlineData("set a\u00a0b v", "the key contains whitespace or a control character")]
    [InlineData("get a\u0001", "the key contains whitespace or a control character")]
    [InlineData("del a\u007f", "the key contains whitespace or a control character")]
    public void Every_bad_line_gets_a_precise_error(string line, string expected) =>
        Assert.StartsWith(expected, Invalid(line));

    [Fact]
    public void A_key_of_257_characters_is_too_long()
    {
        Assert.Equal("the key is longer than 256 characters", Invalid("get " + new string('k', 257)));
        Assert.Equal("the key is longer than 256 characters", Invalid("set " + string.Concat(Enumerable.Repeat("é", 257)) + " v"));
    }

    [Fact]
    public void Invalid_utf8_is_an_error_not_an_exception()
    {
        var parsed = Request.Parse([(byte)'s', (byte)'e', (byte)'t', (byte)' ', (byte)'k', (byte)' ', 0xff, 0xfe]);
        Assert.Equal(Errors.InvalidUtf8, Assert.IsType<LineParse.Invalid>(parsed).Error);
    }

    [Fact]
    public void Errors_echo_input_shortened_and_without_control_characters()
    {
        var error = Invalid("x\u0007y" + new string('z', 100));
        Assert.StartsWith("unknown command 'x?yzzz", error);
        Assert.Contains("...'", error);
        Assert.DoesNotContain('\u0007', error);
    }

    [Fact]
    public void Help_takes_one_command_as_its_topic()
    {
        Assert.Equal(CommandKind.Get, Valid("help GET").Topic?.Kind);
        Assert.Null(Valid("help").Topic);
    }
}

public class CodecTests
{
    private static async Task<List<Reply>> RoundTrip(Action<IBufferWriter<byte>> write, int count)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(buffer);
        var reader = new ReplyReader(PipeReader.Create(new MemoryStream(buffer.WrittenMemory.ToArray())));
        var replies = new List<Reply>();
        for (var i = 0; i < count; i++) replies.Add(await reader.ReadAsync(TestContext.Current.CancellationToken));
        await Assert.ThrowsAsync<EndOfStreamException>(async () => await reader.ReadAsync(TestContext.Current.CancellationToken));
        return replies;
    }

    [Fact]
    public async Task Every_reply_reads_back_as_written()
    {
        var keys = new[] { "a", "b", "ключ" }.Select(k => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(k)).ToArray();
        var replies = await RoundTrip(output =>
        {
            ReplyWriter.Ok(output);
            ReplyWriter.Pong(output);
            ReplyWriter.Value(output, Encoding.UTF8.GetBytes(" x\tb \r"));
            ReplyWriter.Value(output, []);
            ReplyWriter.Keys(output, keys);
            ReplyWriter.Keys(output, []);
            ReplyWriter.Help(output, Commands.All);
            ReplyWriter.Error(output, "key 'k' not found");
            ReplyWriter.Bye(output);
        }, 9);

        Assert.IsType<Reply.Ok>(replies[0]);
        Assert.IsType<Reply.Pong>(replies[1]);
        Assert.Equal(" x\tb \r", Assert.IsType<Reply.Value>(replies[2]).Text);
        Assert.Equal("", Assert.IsType<Reply.Value>(replies[3]).Text);
        Assert.Equal(["a", "b", "ключ"], Assert.IsType<Reply.Keys>(replies[4]).Names);
        Assert.Empty(Assert.IsType<Reply.Keys>(replies[5]).Names);
        Assert.Equal(Commands.All.Select(c => c.HelpLine), Assert.IsType<Reply.Help>(replies[6]).Lines);
        Assert.Equal("key 'k' not found", Assert.IsType<Reply.Error>(replies[7]).Message);
        Assert.IsType<Reply.Bye>(replies[8]);
    }

    [Fact]
    public void Replies_are_the_wire_lines_of_the_spec()
    {
        var buffer = new ArrayBufferWriter<byte>();
        ReplyWriter.Value(buffer, "v"u8);
        ReplyWriter.Keys(buffer, [new byte[] { (byte)'a' }]);
        ReplyWriter.Error(buffer, "boom");
        Assert.Equal("VALUE v\nKEYS 1\na\nERROR: boom\n", Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    [Fact]
    public async Task An_unknown_reply_is_an_error()
    {
        var reader = new ReplyReader(PipeReader.Create(new MemoryStream("WHAT\n"u8.ToArray())));
        await Assert.ThrowsAsync<InvalidDataException>(async () => await reader.ReadAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public void Framing_accepts_lf_and_crlf_and_keeps_a_partial_line()
    {
        var buffer = new ReadOnlySequence<byte>("ping\r\nget a\nset b"u8.ToArray());
        Assert.True(LineFraming.TryReadLine(ref buffer, out var first));
        Assert.Equal("ping", Encoding.UTF8.GetString(LineFraming.TrimCarriageReturn(first.ToArray())));
        Assert.True(LineFraming.TryReadLine(ref buffer, out var second));
        Assert.Equal("get a", Encoding.UTF8.GetString(second));
        Assert.False(LineFraming.TryReadLine(ref buffer, out _));
        Assert.Equal("set b", Encoding.UTF8.GetString(buffer));
    }
}

public class StoreTests
{
    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static string? Get(KeyValueStore store, string key) =>
        store.TryGet(Bytes(key), out var value) ? Encoding.UTF8.GetString(value.Span) : null;

    [Fact]
    public void Set_get_remove_and_sorted_keys()
    {
        var store = new KeyValueStore();
        store.Set(Bytes("b"), Bytes("2"));
        store.Set(Bytes("a"), Bytes("1"));
        store.Set(Bytes("B"), Bytes("3"));
        store.Set(Bytes("a"), Bytes("one"));
        store.Set(Bytes("empty"), []);
        Assert.Equal("one", Get(store, "a"));
        Assert.Equal("", Get(store, "empty"));
        Assert.Null(Get(store, "A"));
        Assert.Equal(["B", "a", "b", "empty"], store.SortedKeys().Select(k => Encoding.UTF8.GetString(k.Span)));
        Assert.True(store.Remove(Bytes("a")));
        Assert.False(store.Remove(Bytes("a")));
        Assert.Equal(3, store.Count);
    }

    [Fact]
    public void The_longest_key_and_a_large_value_are_kept_whole()
    {
        var store = new KeyValueStore();
        var key = string.Concat(Enumerable.Repeat("😀", Errors.MaxKeyCharacters));
        var value = new string('v', 1_000_000);
        store.Set(Bytes(key), Bytes(value));
        Assert.Equal(value, Get(store, key));
        Assert.Equal(key, Encoding.UTF8.GetString(Assert.Single(store.SortedKeys()).Span));
    }

    [Fact]
    public async Task Many_threads_lose_no_update_and_throw_nothing()
    {
        const int threads = 16, perThread = 5_000;
        var store = new KeyValueStore();
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(t => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < perThread; i++)
            {
                var own = $"t{t}-k{i}";
                store.Set(Bytes(own), Bytes($"v{i}"));
                Assert.Equal($"v{i}", Get(store, own));
                store.Set(Bytes($"shared-{i % 100}"), Bytes($"t{t}"));
                if (i % 2 == 1) Assert.True(store.Remove(Bytes(own)));
                if (i % 1000 == 0) Assert.NotEmpty(store.SortedKeys());
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(workers);

        Assert.Equal(threads * perThread / 2 + 100, store.Count);
        for (var t = 0; t < threads; t++)
            for (var i = 0; i < perThread; i += 2)
                Assert.Equal($"v{i}", Get(store, $"t{t}-k{i}"));
        Assert.All(Enumerable.Range(0, 100), i => Assert.Matches("^t\\d+$", Get(store, $"shared-{i}")));
    }
}

public class FormatTests
{
    public static readonly TheoryData<string> TrickyValues =
    [
        " x\tb ", "<&>\"'", "ñandú 日本語", "emoji 😀🎉", "yes", "no", "null", "~", "123", "1.5e3", "0x1F", "- x",
        "key: value", "#comment", "", "   ", "a\rb", "true", "On", "[1, 2]", "{a: b}", "*anchor", "!tag", "%x", "@x",
        "`x", "|", ">", "control \u0001 char", "\u0000nul",
    ];

    [Theory]
    [MemberData(nameof(TrickyValues))]
    public void Xml_reads_back_the_exact_value(string value)
    {
        var entry = XElement.Parse(Formats.Value(OutputFormat.Xml, "k", value));
        Assert.Equal("k", XmlText(entry.Element("key")!));
        Assert.Equal(value, XmlText(entry.Element("value")!));
    }

    [Theory]
    [MemberData(nameof(TrickyValues))]
    public void Json_reads_back_the_exact_value(string value)
    {
        using var json = JsonDocument.Parse(Formats.Value(OutputFormat.Json, "k", value));
        Assert.Equal("k", json.RootElement.GetProperty("key").GetString());
        Assert.Equal(value, json.RootElement.GetProperty("value").GetString());
    }

    [Theory]
    [MemberData(nameof(TrickyValues))]
    public void Yaml_reads_back_the_exact_value_as_a_string(string value)
    {
        var map = ReadYaml(Formats.Value(OutputFormat.Yaml, "k", value));
        Assert.Equal("k", map["key"].Value);
        Assert.Equal(value, map["value"].Value);
    }

    [Theory]
    [InlineData("yes")]
    [InlineData("No")]
    [InlineData("y")]
    [InlineData("ON")]
    [InlineData("off")]
    [InlineData("true")]
    [InlineData("null")]
    [InlineData("~")]
    [InlineData("")]
    [InlineData("123")]
    [InlineData("-1.5e3")]
    [InlineData(".inf")]
    [InlineData("0x1F")]
    [InlineData("- x")]
    [InlineData("key: value")]
    [InlineData("a\tb")]
    [InlineData(" leading")]
    [InlineData("trailing ")]
    [InlineData("'quoted'")]
    [InlineData("\"quoted\"")]
    [InlineData("#comment")]
    [InlineData("[1, 2]")]
    [InlineData("*anchor")]
    public void Yaml_quotes_whatever_a_reader_could_take_for_something_else(string value) =>
        Assert.Equal(ScalarStyle.DoubleQuoted, ReadYaml(Formats.Value(OutputFormat.Yaml, "k", value))["value"].Style);

    [Theory]
    [InlineData("hello")]
    [InlineData("Hello world")]
    [InlineData("Zürich")]
    [InlineData("path/to.file-1_b")]
    public void Yaml_leaves_plain_words_plain(string value)
    {
        Assert.Equal($"key: k\nvalue: {value}", Formats.Value(OutputFormat.Yaml, "k", value));
        Assert.Equal(ScalarStyle.Plain, ReadYaml(Formats.Value(OutputFormat.Yaml, "k", value))["value"].Style);
    }

    [Fact]
    public void Lists_read_back_in_every_format()
    {
        string[] keys = ["a", "yes", "123", "ключ", "😀", "null"];
        Assert.Equal(keys, XElement.Parse(Formats.Keys(OutputFormat.Xml, keys)).Elements("key").Select(XmlText));
        using var json = JsonDocument.Parse(Formats.Keys(OutputFormat.Json, keys));
        Assert.Equal(keys, json.RootElement.GetProperty("keys").EnumerateArray().Select(e => e.GetString()!));
        var yaml = new YamlStream();
        yaml.Load(new StringReader(Formats.Keys(OutputFormat.Yaml, keys)));
        var list = (YamlSequenceNode)((YamlMappingNode)yaml.Documents[0].RootNode)["keys"];
        Assert.Equal(keys, list.Children.Select(n => ((YamlScalarNode)n).Value!));
        Assert.Equal(string.Join('\n', keys), Formats.Keys(OutputFormat.Plain, keys));
        Assert.Equal(Formats.EmptyList, Formats.Keys(OutputFormat.Plain, []));
    }

    [Theory]
    [InlineData("ñandú 日本語")]
    [InlineData("emoji 😀🎉 and a family 👨‍👩‍👧")]
    [InlineData("<&> 'single'")]
    public void Json_keeps_non_ascii_and_html_characters_readable(string value) =>
        Assert.Contains($"\"value\": \"{value}\"", Formats.Value(OutputFormat.Json, "k", value));

    [Theory]
    [InlineData("\"", "\\\"")]
    [InlineData("\\", "\\\\")]
    [InlineData("\t", "\\t")]
    [InlineData("\u0001", "\\u0001")]
    [InlineData("\u2028", "\\u2028")]
    public void Json_escapes_what_json_requires(string value, string escaped) =>
        Assert.Contains($"\"value\": \"{escaped}\"", Formats.Value(OutputFormat.Json, "k", value));

    /// <summary>The text of an element as the format defines it: base64 where the element says so.</summary>
    public static string XmlText(XElement element) =>
        (string?)element.Attribute("encoding") == "base64" ? Encoding.UTF8.GetString(Convert.FromBase64String(element.Value)) : element.Value;

    public static Dictionary<string, YamlScalarNode> ReadYaml(string text)
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(text));
        return ((YamlMappingNode)yaml.Documents[0].RootNode).Children
            .ToDictionary(pair => ((YamlScalarNode)pair.Key).Value!, pair => (YamlScalarNode)pair.Value);
    }
}

// ---------------------------------------------------------------------------------------------
// Test support: the real programs, built once and started per test class
// ---------------------------------------------------------------------------------------------

public static class Programs
{
    public static readonly string Root = SourceDirectory();
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly SemaphoreSlim BuildGate = new(1, 1);
    private static readonly ConcurrentDictionary<string, Task<string>> Builds = new();

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;

    /// <summary>The dll of an entry file, built once per test run (one build at a time: they share a cache).</summary>
    public static Task<string> DllAsync(string entryFile) => Builds.GetOrAdd(entryFile, BuildAsync);

    private static async Task<string> BuildAsync(string entryFile)
    {
        await BuildGate.WaitAsync();
        try
        {
            using var build = Process.Start(StartInfo("build", entryFile, "-t:Build", "-getProperty:TargetPath", "-nologo"))!;
            var stdout = build.StandardOutput.ReadToEndAsync();
            var stderr = build.StandardError.ReadToEndAsync();
            await build.WaitForExitAsync();
            var dll = (await stdout).Trim().Split('\n').Last().Trim();
            if (build.ExitCode != 0 || !File.Exists(dll))
                throw new InvalidOperationException($"building {entryFile} failed:\n{await stdout}\n{await stderr}");
            return dll;
        }
        finally
        {
            BuildGate.Release();
        }
    }

    public static ProcessStartInfo StartInfo(params IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo("dotnet", arguments)
        {
            WorkingDirectory = Root,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return info;
    }

    public static CancellationToken Timeout() =>
        CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken, new CancellationTokenSource(Patience).Token).Token;

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    public static void Signal(Process process, int signal) => Assert.Equal(0, kill(process.Id, signal));

    public const int SIGTERM = 15, SIGINT = 2;
}

/// <summary>A KVServer process, with everything it printed, its port, thread count and memory.</summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly StringBuilder output = new();
    private readonly TaskCompletionSource<int> listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<(Regex Pattern, TaskCompletionSource Seen)> waiters = [];
    private bool disposed;

    public Process Process { get; }
    public int Port => listening.Task.Result;

    private ServerProcess(Process process)
    {
        Process = process;
        process.OutputDataReceived += (_, e) => Collect(e.Data);
        process.ErrorDataReceived += (_, e) => Collect(e.Data);
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException("the server exited"));
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    private void Collect(string? line)
    {
        if (line is null) return;
        lock (output)
        {
            output.AppendLine(line);
            foreach (var waiter in waiters.Where(w => w.Pattern.IsMatch(line)).ToList())
            {
                waiter.Seen.TrySetResult();
                waiters.Remove(waiter);
            }
        }
        if (Regex.Match(line, @"^KV server listening on \S+:(\d+) ") is { Success: true } match)
            listening.TrySetResult(int.Parse(match.Groups[1].Value));
    }

    /// <summary>Waits for a line of the server's output that matches (its output arrives on another thread).</summary>
    public async Task ExpectOutputAsync(string pattern)
    {
        var regex = new Regex(pattern);
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (output)
        {
            if (output.ToString().Split('\n').Any(regex.IsMatch)) return;
            waiters.Add((regex, seen));
        }
        try
        {
            await seen.Task.WaitAsync(Programs.Patience, TestContext.Current.CancellationToken);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"the server never printed a line matching '{pattern}'; it printed:\n{Output}");
        }
    }

    /// <summary>Starts `KVServer [args]` (port 0 when no argument is given) without waiting for it to listen.</summary>
    public static async Task<ServerProcess> LaunchAsync(params string[] args) =>
        new(Process.Start(Programs.StartInfo([await Programs.DllAsync("KVServer.cs"), .. args.Length == 0 ? ["0"] : args]))!);

    /// <summary>Starts a server and waits for its start line.</summary>
    public static async Task<ServerProcess> StartAsync(params string[] args)
    {
        var server = await LaunchAsync(args);
        try
        {
            await server.listening.Task.WaitAsync(Programs.Patience);
        }
        catch
        {
            await server.DisposeAsync();
            throw new InvalidOperationException($"the server did not start:\n{server.Output}");
        }
        return server;
    }

    public string Output { get { lock (output) return output.ToString(); } }

    public async Task<int> ExitCodeAsync(TimeSpan within)
    {
        await Process.WaitForExitAsync().WaitAsync(within);
        Process.WaitForExit(); // drains the output events
        return Process.ExitCode;
    }

    public int Threads => (int)ProcStatus("Threads");
    public long ResidentBytes => ProcStatus("VmRSS") * 1024;

    private long ProcStatus(string field) =>
        long.Parse(Regex.Match(File.ReadAllText($"/proc/{Process.Id}/status"), $@"{field}:\s+(\d+)").Groups[1].Value);

    public Task<Connection> ConnectAsync() => Connection.OpenAsync(Port);

    /// <summary>Opens `count` connections one after the other; disposing the group closes them all.</summary>
    public async Task<ConnectionGroup> ConnectManyAsync(int count)
    {
        var group = new ConnectionGroup(count);
        for (var i = 0; i < count; i++) group.Add(await ConnectAsync());
        return group;
    }

    /// <summary>Kills the server if it still runs. Safe to call twice (a test may stop its server early).</summary>
    public async ValueTask DisposeAsync()
    {
        if (disposed) return;
        disposed = true;
        if (!Process.HasExited) Process.Kill(entireProcessTree: true);
        await Process.WaitForExitAsync();
        Process.Dispose();
    }
}

/// <summary>One raw TCP connection to a server, reading replies with Protocol.cs's ReplyReader.</summary>
public sealed class Connection : IAsyncDisposable
{
    public Socket Socket { get; }
    private readonly NetworkStream stream;
    private readonly ReplyReader replies;

    private Connection(Socket socket)
    {
        Socket = socket;
        stream = new NetworkStream(socket, ownsSocket: true);
        replies = new ReplyReader(PipeReader.Create(stream));
    }

    public static async Task<Connection> OpenAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, port, Programs.Timeout());
        return new Connection(socket);
    }

    public async Task SendAsync(string text) => await stream.WriteAsync(Encoding.UTF8.GetBytes(text), Programs.Timeout());
    public async Task SendAsync(byte[] bytes) => await stream.WriteAsync(bytes, Programs.Timeout());
    public async Task<Reply> ReadAsync() => await replies.ReadAsync(Programs.Timeout());
    public async Task<string> ReadLineAsync() => await replies.ReadLineAsync(Programs.Timeout());

    public async Task<Reply> AskAsync(string line)
    {
        await SendAsync(line + "\n");
        return await ReadAsync();
    }

    /// <summary>True when the server has closed the connection (after any replies still unread).</summary>
    public async Task<bool> ClosedByServerAsync()
    {
        try
        {
            while (true) await replies.ReadLineAsync(Programs.Timeout());
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or SocketException)
        {
            return true;
        }
    }

    /// <summary>Closes with a TCP reset instead of a FIN, as a crashed peer or a middlebox would.</summary>
    public void Reset()
    {
        Socket.LingerState = new LingerOption(true, 0);
        Socket.Close();
    }

    public async ValueTask DisposeAsync() => await stream.DisposeAsync();
}

public sealed class ConnectionGroup(int capacity) : List<Connection>(capacity), IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        foreach (var connection in this) await connection.DisposeAsync();
    }
}

/// <summary>One server per test class that uses it.</summary>
public sealed class LiveServer : IAsyncLifetime
{
    public ServerProcess Server { get; private set; } = null!;
    public async ValueTask InitializeAsync() => Server = await ServerProcess.StartAsync();
    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>The real KVClient process with redirected standard input; its output is split on LF only, as written.</summary>
public sealed class ClientProcess : IAsyncDisposable
{
    public Process Process { get; }
    private readonly StringBuilder printed = new();
    private readonly SemaphoreSlim printedMore = new(0);
    private readonly Task pump, stderr;
    private int consumed;

    private ClientProcess(Process process)
    {
        Process = process;
        pump = Task.Run(async () =>
        {
            var chunk = new char[4096];
            int read;
            while ((read = await process.StandardOutput.ReadAsync(chunk)) > 0)
            {
                lock (printed) printed.Append(chunk, 0, read);
                printedMore.Release();
            }
            printedMore.Release();
        });
        stderr = Task.Run(async () =>
        {
            var text = await process.StandardError.ReadToEndAsync();
            await pump;
            lock (printed) printed.Append(text);
        });
    }

    public static async Task<ClientProcess> StartAsync(params string[] args) =>
        new(Process.Start(Programs.StartInfo([await Programs.DllAsync("KVClient.cs"), .. args]))!);

    /// <summary>Runs a whole script through the client: its exit code and everything it printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string script, params string[] args)
    {
        await using var client = await StartAsync(args);
        await client.SendAsync(script);
        client.Process.StandardInput.Close();
        return await client.FinishAsync();
    }

    public async Task SendAsync(string text)
    {
        await Process.StandardInput.BaseStream.WriteAsync(Encoding.UTF8.GetBytes(text), Programs.Timeout());
        await Process.StandardInput.BaseStream.FlushAsync(Programs.Timeout());
    }

    /// <summary>The next line the client printed.</summary>
    public async Task<string> ReadLineAsync()
    {
        while (true)
        {
            var ended = pump.IsCompleted;
            lock (printed)
            {
                var text = printed.ToString();
                var newline = text.IndexOf('\n', consumed);
                if (newline >= 0)
                {
                    var line = text[consumed..newline];
                    consumed = newline + 1;
                    return line;
                }
            }
            if (ended) throw new EndOfStreamException("the client ended");
            await printedMore.WaitAsync(Programs.Timeout());
        }
    }

    /// <summary>Waits for the exit: the exit code, and what the client printed that was not read yet.</summary>
    public async Task<(int ExitCode, string Output)> FinishAsync()
    {
        await Process.WaitForExitAsync(Programs.Timeout());
        await stderr.WaitAsync(Programs.Timeout());
        lock (printed) return (Process.ExitCode, printed.ToString()[consumed..]);
    }

    public async ValueTask DisposeAsync()
    {
        if (!Process.HasExited) Process.Kill(entireProcessTree: true);
        await Process.WaitForExitAsync();
        Process.Dispose();
    }
}

// ---------------------------------------------------------------------------------------------
// Integration tests: the server
// ---------------------------------------------------------------------------------------------

public class ServerTests(LiveServer live) : IClassFixture<LiveServer>
{
    private ServerProcess Server => live.Server;

    [Fact]
    public async Task The_readme_example_gets_the_spec_replies_byte_for_byte()
    {
        await using var server = await ServerProcess.StartAsync();
        await using var connection = await server.ConnectAsync();
        await connection.SendAsync("set a  x\tb \r\nget a\nlist\nfoo\n\nping\n");
        var expected = new[] { "OK", "VALUE  x\tb ", "KEYS 1", "a", "ERROR: unknown command 'foo' (type 'help')", "PONG" };
        foreach (var line in expected) Assert.Equal(line, await connection.ReadLineAsync());
        Assert.Matches(@"^KV server listening on \S+:\d+ \(thread pool max \d+", server.Output);
    }

    [Fact]
    public async Task Every_command_answers_with_its_wire_reply()
    {
        await using var c = await Server.ConnectAsync();
        Assert.IsType<Reply.Pong>(await c.AskAsync("PING"));
        Assert.IsType<Reply.Ok>(await c.AskAsync("set every-k v"));
        Assert.Equal("v", Assert.IsType<Reply.Value>(await c.AskAsync("GET every-k --json")).Text);
        Assert.Contains("every-k", Assert.IsType<Reply.Keys>(await c.AskAsync("list --yml")).Names);
        Assert.IsType<Reply.Ok>(await c.AskAsync("Del every-k"));
        Assert.Equal("key 'every-k' not found", Assert.IsType<Reply.Error>(await c.AskAsync("del every-k")).Message);
        Assert.Equal("key 'every-k' not found", Assert.IsType<Reply.Error>(await c.AskAsync("get every-k")).Message);
        Assert.Equal(Commands.All.Select(x => x.HelpLine), Assert.IsType<Reply.Help>(await c.AskAsync("help")).Lines);
        Assert.Equal([Commands.Get(CommandKind.Set).HelpLine], Assert.IsType<Reply.Help>(await c.AskAsync("help set")).Lines);
        Assert.StartsWith("wrong arguments", Assert.IsType<Reply.Error>(await c.AskAsync("get")).Message);
        Assert.IsType<Reply.Bye>(await c.AskAsync("exit"));
        Assert.True(await c.ClosedByServerAsync());
    }

    [Fact]
    public async Task Values_come_back_exactly_as_set()
    {
        await using var c = await Server.ConnectAsync();
        foreach (var value in FormatTests.TrickyValues.Select(row => row.Data))
        {
            Assert.IsType<Reply.Ok>(await c.AskAsync("set exact " + value));
            Assert.Equal(value, Assert.IsType<Reply.Value>(await c.AskAsync("get exact")).Text);
        }
    }

    [Fact]
    public async Task Fifty_concurrent_clients_get_every_reply_right()
    {
        const int clients = 50, requests = 240;
        var mismatches = new ConcurrentBag<string>();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async id =>
        {
            var random = new Random(id);
            var model = new Dictionary<string, string>();
            await using var c = await Server.ConnectAsync();
            for (var i = 0; i < requests; i++)
            {
                var key = $"load{id}-{random.Next(20)}";
                var (line, expected) = random.Next(5) switch
                {
                    0 or 1 => Set(key, $"v{i}\t {id} ñ😀 <&>"),
                    2 => ($"get {key}", model.TryGetValue(key, out var v) ? $"VALUE {v}" : $"ERROR: key '{key}' not found"),
                    3 => ($"del {key}", model.Remove(key) ? "OK" : $"ERROR: key '{key}' not found"),
                    _ => ("ping", "PONG"),
                };
                var actual = await c.AskAsync(line) switch
                {
                    Reply.Value(var text) => $"VALUE {text}",
                    Reply.Error(var message) => $"ERROR: {message}",
                    Reply.Ok => "OK",
                    Reply.Pong => "PONG",
                    var other => other.ToString(),
                };
                if (actual != expected) mismatches.Add($"client {id}, request {i} '{line}': expected '{expected}', got '{actual}'");
            }
            var listed = Assert.IsType<Reply.Keys>(await c.AskAsync("list")).Names.Where(k => k.StartsWith($"load{id}-"));
            if (!listed.SequenceEqual(model.Keys.Order(StringComparer.Ordinal))) mismatches.Add($"client {id}: list differs");

            (string, string) Set(string key, string value)
            {
                model[key] = value;
                return ($"set {key} {value}", "OK");
            }
        }));
        Assert.Empty(mismatches);
    }

    [Fact]
    public async Task Idle_and_half_line_clients_do_not_stop_a_new_one()
    {
        await using var idle = await Server.ConnectManyAsync(500);
        await using var halfLine = await Server.ConnectAsync();
        await halfLine.SendAsync("set half-line wai");

        await using var fresh = await Server.ConnectAsync();
        Assert.IsType<Reply.Pong>(await fresh.AskAsync("ping"));

        await halfLine.SendAsync("ted\n");
        Assert.IsType<Reply.Ok>(await halfLine.ReadAsync());
        Assert.Equal("waited", Assert.IsType<Reply.Value>(await fresh.AskAsync("get half-line")).Text);
        Assert.IsType<Reply.Pong>(await idle[^1].AskAsync("ping"));
    }

    [Fact]
    public async Task Two_thousand_pipelined_requests_are_answered_in_order()
    {
        await using var c = await Server.ConnectAsync();
        var batch = new StringBuilder();
        for (var i = 0; i < 1000; i++) batch.Append($"set pipe{i} value {i}\nget pipe{i}\n");
        await c.SendAsync(batch.ToString());
        for (var i = 0; i < 1000; i++)
        {
            Assert.IsType<Reply.Ok>(await c.ReadAsync());
            Assert.Equal($"value {i}", Assert.IsType<Reply.Value>(await c.ReadAsync()).Text);
        }
    }

    [Fact]
    public async Task Threads_stay_bounded_under_500_busy_connections()
    {
        await using var connections = await Server.ConnectManyAsync(500);
        for (var round = 0; round < 3; round++)
            await Task.WhenAll(connections.Select(async c => Assert.IsType<Reply.Pong>(await c.AskAsync("ping"))));
        var threads = Server.Threads;
        TestContext.Current.SendDiagnosticMessage($"server threads with 500 connections: {threads}");
        Assert.InRange(threads, 1, 48);
    }

    [Fact]
    public async Task Connects_and_disconnects_are_logged_with_the_peer_and_count()
    {
        await using (var c = await Server.ConnectAsync()) Assert.IsType<Reply.Pong>(await c.AskAsync("ping"));
        await Server.ExpectOutputAsync(@"^\+ 127\.0\.0\.1:\d+ connected \(\d+ clients?\)$");
        await Server.ExpectOutputAsync(@"^- 127\.0\.0\.1:\d+ disconnected: .+ \(\d+ clients?\)$");
    }
}

public class ServerStartTests
{
    [Theory]
    [InlineData("abc")]
    [InlineData("70000")]
    [InlineData("-1")]
    [InlineData("9000 9001")]
    [InlineData("--max-clients")]
    [InlineData("--max-clients x")]
    [InlineData("--nope")]
    public async Task Bad_arguments_print_an_error_and_exit_2(string arguments)
    {
        await using var server = await ServerProcess.LaunchAsync(arguments.Split(' '));
        Assert.Equal(2, await server.ExitCodeAsync(Programs.Patience));
        Assert.StartsWith("ERROR: ", server.Output);
    }

    [Fact]
    public async Task A_port_in_use_prints_an_error_and_exits_1()
    {
        await using var first = await ServerProcess.StartAsync();
        await using var second = await ServerProcess.LaunchAsync(first.Port.ToString());
        Assert.Equal(1, await second.ExitCodeAsync(Programs.Patience));
        Assert.StartsWith($"ERROR: port {first.Port} is already in use", second.Output);
    }

    [Fact]
    public async Task Help_prints_every_option()
    {
        await using var server = await ServerProcess.LaunchAsync("--help");
        Assert.Equal(0, await server.ExitCodeAsync(Programs.Patience));
        foreach (var option in new[] { "--bind", "--max-clients", "--max-line-bytes", "--idle-timeout", "--threads" })
            Assert.Contains(option, server.Output);
    }
}

// ---------------------------------------------------------------------------------------------
// Integration tests: the client, driven through redirected standard input
// ---------------------------------------------------------------------------------------------

public class ClientTests(LiveServer live) : IClassFixture<LiveServer>
{
    private string Port => live.Server.Port.ToString();

    private static readonly string[] ValuesToRoundTrip =
        [" x\tb ", "<&>\"'", "ñandú 日本語", "emoji 😀🎉", "yes", "null", "123", "- x", "key: value", "   ", "plain"];

    [Fact]
    public async Task A_scripted_session_prints_every_format_so_that_its_library_reads_back_the_value()
    {
        var script = new StringBuilder();
        for (var i = 0; i < ValuesToRoundTrip.Length; i++)
            script.Append($"set fmt{i} {ValuesToRoundTrip[i]}\nget fmt{i}\nget fmt{i} --xml\nget fmt{i} --JSON\nget fmt{i} --yml\n");
        script.Append("list\nlist --xml\nlist --json\nlist --yml\nexit\nping\n");

        var (exitCode, output) = await ClientProcess.RunAsync(script.ToString(), "localhost", Port);
        Assert.Equal(0, exitCode);
        var lines = new Queue<string>(output.Split('\n'));
        string Take(int count) => string.Join('\n', Enumerable.Range(0, count).Select(_ => lines.Dequeue()));

        foreach (var (value, i) in ValuesToRoundTrip.Select((v, i) => (v, i)))
        {
            Assert.Equal("OK", Take(1));
            Assert.Equal(value, Take(1));
            var xml = XElement.Parse(Take(4));
            Assert.Equal(value, FormatTests.XmlText(xml.Element("value")!));
            Assert.Equal($"fmt{i}", FormatTests.XmlText(xml.Element("key")!));
            using var json = JsonDocument.Parse(Take(4));
            Assert.Equal(value, json.RootElement.GetProperty("value").GetString());
            Assert.Equal(value, FormatTests.ReadYaml(Take(2))["value"].Value);
        }
        var keys = Enumerable.Range(0, ValuesToRoundTrip.Length).Select(i => $"fmt{i}").Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(keys, Take(keys.Length).Split('\n'));
        Assert.Equal(keys, XElement.Parse(Take(keys.Length + 2)).Elements("key").Select(FormatTests.XmlText));
        using var list = JsonDocument.Parse(Take(keys.Length + 4));
        Assert.Equal(keys, list.RootElement.GetProperty("keys").EnumerateArray().Select(e => e.GetString()!));
        Assert.Equal("keys:", Take(1));
        Assert.Equal(keys.Select(k => "- " + k), Take(keys.Length).Split('\n'));
        Assert.Equal("BYE", Take(1));
        Assert.Equal("", string.Join('\n', lines));
    }

    [Fact]
    public async Task Redirected_input_prints_one_reply_per_command_and_no_prompt()
    {
        var (exitCode, output) = await ClientProcess.RunAsync("ping\n\n   \nPING\r\nset r1 v\ndel r1\ndel r1\nlist --json\nget", "localhost", Port);
        Assert.Equal(0, exitCode);
        var lines = output.Split('\n');
        Assert.Equal(["PONG", "PONG", "OK", "OK", "ERROR: key 'r1' not found"], lines[..5]);
        Assert.DoesNotContain("KVClient>", output);
        Assert.Equal("ERROR: " + Errors.WrongArguments(Commands.Get(CommandKind.Get)), lines[^2]);
    }

    [Fact]
    public async Task Help_is_answered_from_the_command_table()
    {
        var (exitCode, output) = await ClientProcess.RunAsync("help\nhelp get\n", "localhost", Port);
        Assert.Equal(0, exitCode);
        Assert.Equal([.. Commands.All.Select(c => c.HelpLine), Commands.Get(CommandKind.Get).HelpLine, ""], output.Split('\n'));
    }

    [Fact]
    public async Task Invalid_commands_print_an_error_and_are_never_sent()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var received = Task.Run(async () =>
        {
            using var peer = await listener.AcceptTcpClientAsync(Programs.Timeout());
            var stream = peer.GetStream();
            var reader = new ReplyReader(PipeReader.Create(stream));
            var lines = new List<string>();
            while (true)
            {
                var line = await reader.ReadLineAsync(Programs.Timeout());
                lines.Add(line);
                await stream.WriteAsync(line == "exit" ? "BYE\n"u8.ToArray() : "PONG\n"u8.ToArray());
                if (line == "exit") return lines;
            }
        });

        string[] invalid =
        [
            "fo", "get", "get a b", "get a --csv", "get --json a", "get  a", "set", "set k", "del", "del k v", "list k",
            "list --csv", "ping x", "exit now", "help nope", " ping", "get a\tb", "get " + new string('k', 257),
        ];
        var script = string.Join('\n', invalid.Append("ping").Append("help").Append("exit")) + "\n";
        var (exitCode, output) = await ClientProcess.RunAsync(script, "127.0.0.1", port.ToString());

        Assert.Equal(0, exitCode);
        Assert.Equal(["ping", "exit"], await received.WaitAsync(Programs.Timeout()));
        var lines = output.Split('\n');
        Assert.All(lines[..invalid.Length], line => Assert.StartsWith("ERROR: ", line));
        foreach (var (line, i) in invalid.Select((line, i) => (line, i)))
            Assert.Equal("ERROR: " + Assert.IsType<LineParse.Invalid>(Request.Parse(line)).Error, lines[i]);
        Assert.Equal("PONG", lines[invalid.Length]);
    }

    [Theory]
    [InlineData("localhost", 2, "ERROR: give both HOST and PORT, or neither")]
    [InlineData("a b c", 2, "ERROR: give both HOST and PORT, or neither")]
    [InlineData("localhost http", 2, "ERROR: invalid port 'http'")]
    [InlineData("localhost 70000", 2, "ERROR: invalid port '70000'")]
    [InlineData("--help", 0, "usage: dotnet KVClient.cs [HOST PORT]")]
    [InlineData("nosuchhost.invalid 9000", 1, "ERROR: could not connect to nosuchhost.invalid:9000 (")]
    public async Task The_arguments_decide_the_exit_code_and_the_first_line(string arguments, int exitCode, string firstLine)
    {
        var (actualExitCode, output) = await ClientProcess.RunAsync("ping\n", arguments.Split(' '));
        Assert.Equal(exitCode, actualExitCode);
        Assert.StartsWith(firstLine, output);
    }

    [Fact]
    public async Task A_closed_port_exits_1_within_5_seconds()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        await using var client = await ClientProcess.StartAsync("127.0.0.1", port.ToString());
        await client.Process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        var (exitCode, output) = await client.FinishAsync();
        Assert.Equal(1, exitCode);
        Assert.StartsWith($"ERROR: could not connect to 127.0.0.1:{port} (", output);
    }

    [Fact]
    public async Task Names_and_ipv6_addresses_both_connect()
    {
        Assert.Equal((0, "PONG\n"), await ClientProcess.RunAsync("ping\n", "localhost", Port));
        Assert.Equal((0, "PONG\n"), await ClientProcess.RunAsync("ping\n", "::1", Port));
    }

    [Fact]
    public async Task On_a_terminal_the_client_prompts_and_reconnects_to_a_restarted_server()
    {
        var first = await ServerProcess.StartAsync();
        var port = first.Port.ToString();
        // `script` gives the client a pseudo-terminal, so it runs exactly as it does for a person.
        var client = await Programs.DllAsync("KVClient.cs");
        using var terminal = Process.Start(new ProcessStartInfo("script", ["-qfec", $"dotnet {client} 127.0.0.1 {port}", "/dev/null"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            StandardOutputEncoding = Encoding.UTF8,
        })!;
        var screen = new StringBuilder();
        using var screenChanged = new SemaphoreSlim(0);
        var reading = Task.Run(async () =>
        {
            var chunk = new char[1024];
            int read;
            while ((read = await terminal.StandardOutput.ReadAsync(chunk)) > 0)
            {
                lock (screen) screen.Append(chunk, 0, read);
                screenChanged.Release();
            }
        });
        async Task Type(string line)
        {
            await terminal.StandardInput.WriteAsync(line + "\n");
            await terminal.StandardInput.FlushAsync();
        }
        async Task Expect(string text, int occurrences = 1)
        {
            var timeout = Programs.Timeout();
            while (Regex.Matches(Shown(), Regex.Escape(text)).Count < occurrences)
                if (!await screenChanged.WaitAsync(Programs.Patience, timeout)) Assert.Fail($"expected '{text}' on the terminal:\n{Shown()}");
        }
        string Shown() { lock (screen) return screen.ToString(); }

        try
        {
            await Expect($"Connected to KV server 127.0.0.1:{port}. Type 'help' for the commands, 'exit' to quit.");
            await Expect("KVClient> ");
            await Type("ping");
            await Expect("PONG");

            await first.DisposeAsync();
            await using var second = await ServerProcess.StartAsync(port);
            await Type("ping");
            await Expect("(reconnected to 127.0.0.1:" + port + ")");
            await Expect("PONG", 2);
            Assert.Contains($"ERROR: lost the connection to 127.0.0.1:{port} (the server closed it)", Shown());
            Assert.True(Shown().IndexOf("ERROR: lost the connection") < Shown().IndexOf("(reconnected to"));

            await Type("exit");
            await terminal.WaitForExitAsync(Programs.Timeout());
            await reading;
            Assert.Equal(0, terminal.ExitCode);
            Assert.DoesNotContain("   at ", Shown());
        }
        finally
        {
            if (!terminal.HasExited) terminal.Kill(entireProcessTree: true);
            await first.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_server_lost_mid_session_gives_an_error_line_and_exit_1()
    {
        var server = await ServerProcess.StartAsync();
        await using var client = await ClientProcess.StartAsync("localhost", server.Port.ToString());
        await client.SendAsync("set lost v\n");
        Assert.Equal("OK", await client.ReadLineAsync());
        await server.DisposeAsync();

        await client.SendAsync("get lost\n");
        var (exitCode, output) = await client.FinishAsync();
        Assert.Equal(1, exitCode);
        Assert.Matches(@"^ERROR: lost the connection to localhost:\d+ \(.+\)\n$", output);
    }
}

// ---------------------------------------------------------------------------------------------
// Integration tests: limits, hostile input, faults and shutdown
// ---------------------------------------------------------------------------------------------

public class LimitTests
{
    [Fact]
    public async Task A_line_over_the_limit_gets_an_error_and_the_connection_closes()
    {
        await using var server = await ServerProcess.StartAsync("0", "--max-line-bytes", "1000");
        Assert.Contains("max line 1000 bytes", server.Output);
        await using var bystander = await server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await bystander.AskAsync("set safe kept"));

        await using var fits = await server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await fits.AskAsync("set k " + new string('v', 990)));

        await using var endless = await server.ConnectAsync();
        await endless.SendAsync(new string('x', 2000));
        Assert.Equal("request line longer than 1000 bytes", Assert.IsType<Reply.Error>(await endless.ReadAsync()).Message);
        Assert.True(await endless.ClosedByServerAsync());

        await using var tooLong = await server.ConnectAsync();
        await tooLong.SendAsync("set k " + new string('v', 1200) + "\nping\n");
        Assert.Equal("request line longer than 1000 bytes", Assert.IsType<Reply.Error>(await tooLong.ReadAsync()).Message);
        Assert.True(await tooLong.ClosedByServerAsync());

        Assert.Equal("kept", Assert.IsType<Reply.Value>(await bystander.AskAsync("get safe")).Text);
    }

    [Fact]
    public async Task One_client_over_the_maximum_is_refused_and_a_freed_place_is_reused()
    {
        await using var server = await ServerProcess.StartAsync("0", "--max-clients", "5");
        await using var admitted = await server.ConnectManyAsync(5);
        foreach (var connection in admitted) Assert.IsType<Reply.Pong>(await connection.AskAsync("ping"));
        await using (var refused = await server.ConnectAsync())
        {
            Assert.Equal("too many clients (max 5)", Assert.IsType<Reply.Error>(await refused.ReadAsync()).Message);
            Assert.True(await refused.ClosedByServerAsync());
            await server.ExpectOutputAsync(@"^! 127\.0\.0\.1:\d+ refused: too many clients \(max 5\)$");
        }

        Assert.IsType<Reply.Bye>(await admitted[0].AskAsync("exit"));
        Assert.True(await admitted[0].ClosedByServerAsync());
        // The freed place is released when the server has seen the close; retry until then.
        Reply reply;
        var attempts = 0;
        do
        {
            await using var attempt = await server.ConnectAsync();
            reply = await attempt.AskAsync("ping");
        }
        while (reply is Reply.Error && ++attempts < 100);
        Assert.IsType<Reply.Pong>(reply);
    }

    [Fact]
    public async Task An_idle_client_is_closed_after_the_idle_timeout_and_others_go_on()
    {
        await using var server = await ServerProcess.StartAsync("0", "--idle-timeout", "1");
        Assert.Contains("idle timeout 1 s", server.Output);
        await using var idle = await server.ConnectAsync();
        Assert.IsType<Reply.Pong>(await idle.AskAsync("ping"));
        Assert.True(await idle.ClosedByServerAsync());
        await using var fresh = await server.ConnectAsync();
        Assert.IsType<Reply.Pong>(await fresh.AskAsync("ping"));
    }

    [Fact]
    public async Task Bind_listens_on_the_given_address_only()
    {
        await using var server = await ServerProcess.StartAsync("0", "--bind", "127.0.0.1");
        Assert.Contains($"listening on 127.0.0.1:{server.Port}", server.Output);
        await using var v4 = await server.ConnectAsync();
        Assert.IsType<Reply.Pong>(await v4.AskAsync("ping"));
        using var v6 = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        await Assert.ThrowsAsync<SocketException>(async () => await v6.ConnectAsync(IPAddress.IPv6Loopback, server.Port, Programs.Timeout()));
    }

    [Fact]
    public async Task The_default_listener_takes_ipv4_and_ipv6()
    {
        await using var server = await ServerProcess.StartAsync();
        using var v6 = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        await v6.ConnectAsync(IPAddress.IPv6Loopback, server.Port, Programs.Timeout());
        await using var v4 = await server.ConnectAsync();
        Assert.IsType<Reply.Pong>(await v4.AskAsync("ping"));
    }

    [Fact]
    public async Task The_thread_pool_cap_is_an_option_and_a_cap_below_the_cores_is_refused()
    {
        await using var server = await ServerProcess.StartAsync("0", "--threads", "40");
        Assert.Contains("thread pool max 40", server.Output);
        if (Environment.ProcessorCount > 1)
        {
            await using var refused = await ServerProcess.LaunchAsync("0", "--threads", "1");
            Assert.Equal(2, await refused.ExitCodeAsync(Programs.Patience));
            Assert.StartsWith("ERROR: the thread pool refused a cap of 1", refused.Output);
        }
    }
}

public class HostileInputTests(LiveServer live) : IClassFixture<LiveServer>
{
    private ServerProcess Server => live.Server;

    [Fact]
    public async Task A_64_MB_line_without_newline_costs_that_connection_only()
    {
        await using var bystander = await Server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await bystander.AskAsync("set bystander safe"));

        await using var flood = await Server.ConnectAsync();
        var chunk = new byte[1024 * 1024];
        Array.Fill(chunk, (byte)'x');
        var sent = 0;
        try
        {
            for (; sent < 64; sent++) await flood.SendAsync(chunk);
        }
        catch (IOException) { }
        Assert.True(await flood.ClosedByServerAsync());
        var rss = Server.ResidentBytes;
        TestContext.Current.SendDiagnosticMessage($"sent {sent} MB before the close; server RSS {rss / 1024 / 1024} MB");
        Assert.InRange(rss, 1, 300L * 1024 * 1024);
        Assert.Equal("safe", Assert.IsType<Reply.Value>(await bystander.AskAsync("get bystander")).Text);
    }

    [Fact]
    public async Task A_megabyte_of_random_bytes_gets_errors_never_a_crash()
    {
        await using var bystander = await Server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await bystander.AskAsync("set random-bystander safe"));

        var garbage = new byte[1024 * 1024];
        new Random(20161).NextBytes(garbage);
        for (var i = 0; i < garbage.Length; i += 997) garbage[i] = 0;
        await using var noisy = await Server.ConnectAsync();
        var replies = Task.Run(async () =>
        {
            var lines = new List<string>();
            try
            {
                while (true) lines.Add(await noisy.ReadLineAsync());
            }
            catch (EndOfStreamException) { }
            return lines;
        });
        await noisy.SendAsync(garbage);
        await noisy.SendAsync("\nexit\n");

        var lines = await replies;
        Assert.Equal("BYE", lines[^1]);
        Assert.All(lines[..^1], line => Assert.StartsWith("ERROR: ", line));
        Assert.Contains("ERROR: " + Errors.InvalidUtf8, lines);
        Assert.Equal("safe", Assert.IsType<Reply.Value>(await bystander.AskAsync("get random-bystander")).Text);
    }

    [Fact]
    public async Task Two_hundred_clients_that_reset_mid_request_cost_nothing_else()
    {
        await using var bystander = await Server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await bystander.AskAsync("set reset-bystander safe"));
        for (var i = 0; i < 200; i++)
        {
            var half = await Server.ConnectAsync();
            await half.SendAsync($"set reset{i} half a val");
            half.Reset();
        }
        await using var fresh = await Server.ConnectAsync();
        Assert.Equal("safe", Assert.IsType<Reply.Value>(await fresh.AskAsync("get reset-bystander")).Text);
        Assert.DoesNotContain(Assert.IsType<Reply.Keys>(await fresh.AskAsync("list")).Names, key => key.StartsWith("reset1"));
        Assert.IsType<Reply.Pong>(await bystander.AskAsync("ping"));
    }

    [Fact]
    public async Task A_client_that_never_reads_its_replies_is_held_back_not_buffered()
    {
        await using var setter = await Server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await setter.AskAsync("set big " + new string('b', 100_000)));
        var before = Server.ResidentBytes;

        // 20,000 gets of a 100 kB value ask for 2 GB of replies; unbounded buffering would show in the RSS at once.
        var deaf = await Server.ConnectAsync();
        var requests = string.Concat(Enumerable.Repeat("get big\n", 20_000));
        await deaf.SendAsync(requests);
        Assert.IsType<Reply.Pong>(await setter.AskAsync("ping"));

        // A measurement, not a wait: sample the RSS for a second while the server holds the deaf client back.
        long peak = 0;
        for (var sample = 0; sample < 10; sample++)
        {
            peak = Math.Max(peak, Server.ResidentBytes);
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
        TestContext.Current.SendDiagnosticMessage($"RSS before {before / 1024 / 1024} MB, peak while held back {peak / 1024 / 1024} MB");
        Assert.InRange(peak - before, long.MinValue, 100L * 1024 * 1024);
        Assert.Equal(new string('b', 100_000), Assert.IsType<Reply.Value>(await deaf.ReadAsync()).Text);
        deaf.Reset();
        Assert.IsType<Reply.Pong>(await setter.AskAsync("ping"));
    }
}

public class FaultTests
{
    [Fact]
    public async Task A_client_killed_in_the_middle_of_a_request_changes_nothing()
    {
        await using var server = await ServerProcess.StartAsync();
        var script = $"exec 3<>/dev/tcp/127.0.0.1/{server.Port}; printf 'set killed half a valu' >&3; echo ready; sleep 60";
        using var killed = Process.Start(new ProcessStartInfo("bash", ["-c", script]) { RedirectStandardOutput = true })!;
        Assert.Equal("ready", await killed.StandardOutput.ReadLineAsync(Programs.Timeout()));
        killed.Kill(entireProcessTree: true);
        await killed.WaitForExitAsync(Programs.Timeout());

        await using var after = await server.ConnectAsync();
        Assert.Equal("key 'killed' not found", Assert.IsType<Reply.Error>(await after.AskAsync("get killed")).Message);
        await server.ExpectOutputAsync("disconnected: closed by the client in the middle of a line");
    }

    [Theory]
    [InlineData(Programs.SIGTERM)]
    [InlineData(Programs.SIGINT)]
    public async Task A_stop_signal_with_100_clients_closes_them_all_and_exits_0_within_3_seconds(int signal)
    {
        await using var server = await ServerProcess.StartAsync();
        await using var clients = await server.ConnectManyAsync(100);
        foreach (var client in clients) Assert.IsType<Reply.Pong>(await client.AskAsync("ping"));
        await clients[0].SendAsync("set half a li");
        // One client that asks for far more than it reads: the server is stuck writing to it when the signal comes.
        Assert.IsType<Reply.Ok>(await clients[1].AskAsync("set big " + new string('b', 100_000)));
        await clients[1].SendAsync(string.Concat(Enumerable.Repeat("get big\n", 5_000)));
        Assert.IsType<Reply.Pong>(await clients[2].AskAsync("ping"));

        Programs.Signal(server.Process, signal);
        Assert.Equal(0, await server.ExitCodeAsync(TimeSpan.FromSeconds(3)));
        foreach (var client in clients) Assert.True(await client.ClosedByServerAsync());
        Assert.Contains("KV server stopped", server.Output);
        Assert.DoesNotContain("Exception", server.Output);
        Assert.DoesNotMatch(@"\n\s+at ", server.Output);
    }
}

/// <summary>
/// A seeded stream of request lines, valid and invalid, built from the command table and sent by 8 concurrent
/// pipelining clients. Each client owns its keys, so a plain Dictionary models exactly what the server must answer.
/// Run one seed again with KV_FUZZ_SEED=n.
/// </summary>
public class ModelCheckedFuzzTests(LiveServer live) : IClassFixture<LiveServer>
{
    private const int Clients = 8, RequestsPerClient = 3_000, BatchSize = 64;

    [Fact]
    public async Task Every_reply_matches_the_model()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("KV_FUZZ_SEED"), out var fixedSeed) ? fixedSeed : Random.Shared.Next();
        TestContext.Current.SendDiagnosticMessage($"fuzz seed {seed}");
        var mismatches = await Task.WhenAll(Enumerable.Range(0, Clients).Select(id => RunClientAsync(seed, id)));
        var all = mismatches.SelectMany(m => m).ToList();
        Assert.True(all.Count == 0, $"seed {seed} (KV_FUZZ_SEED={seed}): {all.Count} mismatches, first: {string.Join("\n", all.Take(5))}");
    }

    private async Task<List<string>> RunClientAsync(int seed, int id)
    {
        var random = new Random(seed * 31 + id);
        var model = new Dictionary<string, string>();
        var mismatches = new List<string>();
        var prefix = $"f{id}-";
        await using var connection = await live.Server.ConnectAsync();
        for (var sent = 0; sent < RequestsPerClient; sent += BatchSize)
        {
            var batch = Enumerable.Range(0, BatchSize).Select(_ => NextLine(random, prefix)).ToList();
            await connection.SendAsync(batch.SelectMany(line => line.Concat("\n"u8.ToArray())).ToArray());
            foreach (var line in batch)
            {
                if (Expect(line, model, prefix) is not { } expected) continue;
                var actual = Describe(await connection.ReadAsync(), prefix);
                if (actual != expected) mismatches.Add($"client {id}: '{Errors.Echo(line)}' expected '{expected}', got '{actual}'");
            }
        }
        return mismatches;
    }

    /// <summary>What the server must answer, from the model; null for a blank line (no reply).</summary>
    private static string? Expect(byte[] line, Dictionary<string, string> model, string prefix) => Request.Parse(LineFraming.TrimCarriageReturn(line)) switch
    {
        LineParse.Blank => null,
        LineParse.Invalid(var error) => "ERROR: " + error,
        LineParse.Valid(var request) => request.Command.Kind switch
        {
            CommandKind.Set => Set(model, request.Key!, request.Value!),
            CommandKind.Get => model.TryGetValue(request.Key!, out var value) ? "VALUE " + value : $"ERROR: key '{request.Key}' not found",
            CommandKind.Del => model.Remove(request.Key!) ? "OK" : $"ERROR: key '{request.Key}' not found",
            CommandKind.List => "KEYS " + string.Join(',', model.Keys.Order(StringComparer.Ordinal)),
            CommandKind.Ping => "PONG",
            CommandKind.Help => "HELP " + (request.Topic is { } topic ? topic.HelpLine : string.Join(',', Commands.All.Select(c => c.HelpLine))),
            _ => throw new InvalidOperationException("the generator never sends exit"),
        },
        _ => throw new InvalidOperationException(),
    };

    private static string Set(Dictionary<string, string> model, string key, string value)
    {
        model[key] = value;
        return "OK";
    }

    /// <summary>A reply in the model's words; `list` keeps this client's keys only, the others belong to other clients.</summary>
    private static string Describe(Reply reply, string prefix) => reply switch
    {
        Reply.Ok => "OK",
        Reply.Pong => "PONG",
        Reply.Value(var text) => "VALUE " + text,
        Reply.Error(var message) => "ERROR: " + message,
        Reply.Keys(var names) => "KEYS " + string.Join(',', names.Where(n => n.StartsWith(prefix, StringComparison.Ordinal))),
        Reply.Help(var lines) => "HELP " + string.Join(',', lines),
        _ => reply.ToString(),
    };

    private static readonly string[] UnknownNames = ["gett", "sett", "fo", "quit", "delete"];
    private static readonly string[] ValuePieces = [" ", "  ", "\t", "x", "yes", "<&>", "\"'", "ñ", "日本", "😀", "\r", "--json", "set k v", "\u0001"];

    private static byte[] NextLine(Random random, string prefix)
    {
        string Key() => prefix + random.Next(12);
        string Name(CommandKind kind) => RandomCase(Commands.Get(kind).Name);
        string RandomCase(string word) => string.Concat(word.Select(c => random.Next(3) == 0 ? char.ToUpperInvariant(c) : c));
        string Flag() => random.Next(4) switch { 0 => "", 1 => " --xml", 2 => " --JSON", _ => " --yml" };
        string Value() => string.Concat(Enumerable.Range(0, random.Next(6)).Select(_ => ValuePieces[random.Next(ValuePieces.Length)]));

        var text = random.Next(24) switch
        {
            0 or 1 or 2 or 3 or 4 => $"{Name(CommandKind.Set)} {Key()} {Value()}",
            5 or 6 or 7 or 8 => $"{Name(CommandKind.Get)} {Key()}{Flag()}",
            9 or 10 => $"{Name(CommandKind.Del)} {Key()}",
            11 => $"{Name(CommandKind.List)}{Flag()}",
            12 => Name(CommandKind.Ping),
            13 => random.Next(2) == 0 ? Name(CommandKind.Help) : $"{Name(CommandKind.Help)} {Commands.All[random.Next(Commands.All.Length)].Name}",
            14 => random.Next(3) switch { 0 => "", 1 => "   ", _ => "\t" },
            15 => RandomCase(UnknownNames[random.Next(UnknownNames.Length)]) + " " + Key(),
            16 => $"{Name(CommandKind.Get)}  {Key()}",
            17 => $"{Name(CommandKind.Set)} {Key()}",
            18 => $"{Name(CommandKind.Get)} {Key()} --csv",
            19 => $"{Name(CommandKind.Del)} {Key()}{Flag()} extra",
            20 => $"{Name(CommandKind.Get)} {Key()}\u0002",
            21 => $"{Name(CommandKind.Set)} {prefix}{new string('k', 260)} v",
            22 => $"{Name(CommandKind.Ping)} now",
            _ => $" {Name(CommandKind.Ping)}",
        };
        var bytes = Encoding.UTF8.GetBytes(text);
        // Now and then a byte that is not UTF-8 at all, at the end of the line.
        return random.Next(40) == 0 ? [.. bytes, 0xC3] : bytes;
    }
}

/// <summary>10,000 clients at once: every one is answered, under a bounded number of threads and memory.</summary>
[Collection(nameof(TenThousandClients))]
public class TenThousandClients
{
    [Fact]
    public async Task Ten_thousand_concurrent_connections_all_answer_ping()
    {
        var openFiles = long.Parse(Regex.Match(File.ReadAllText("/proc/self/limits"), @"Max open files\s+(\d+)").Groups[1].Value);
        var target = (int)Math.Min(10_000, openFiles - 500);
        TestContext.Current.SendDiagnosticMessage($"open-file limit {openFiles}: {target} connections");

        await using var server = await ServerProcess.StartAsync();
        await using var connections = await server.ConnectManyAsync(target);
        await Parallel.ForEachAsync(connections, new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = Programs.Timeout() },
            async (c, _) => Assert.IsType<Reply.Pong>(await c.AskAsync("ping")));
        var threads = server.Threads;
        var rss = server.ResidentBytes;
        TestContext.Current.SendDiagnosticMessage($"{target} connections: server threads {threads}, RSS {rss / 1024 / 1024} MB");
        Assert.InRange(threads, 1, 63);
        Assert.InRange(rss, 1, 300L * 1024 * 1024);
        await using var fresh = await server.ConnectAsync();
        Assert.IsType<Reply.Pong>(await fresh.AskAsync("ping"));
    }
}

[CollectionDefinition(nameof(TenThousandClients), DisableParallelization = true)]
public class TenThousandClientsCollection;

// ---------------------------------------------------------------------------------------------
// The benchmark still runs (a smoke test: no test asserts a time)
// ---------------------------------------------------------------------------------------------

public class BenchSmokeTests
{
    [Theory]
    [InlineData("1")]
    [InlineData("8")]
    public async Task Bench_runs_for_a_second_with_operations_and_no_errors(string pipeline)
    {
        await using var server = await ServerProcess.StartAsync();
        using var bench = Process.Start(Programs.StartInfo(
            await Programs.DllAsync("bench.cs"), "--port", server.Port.ToString(), "--seconds", "1", "--clients", "4",
            "--keys", "500", "--pipeline", pipeline, "--server-pid", server.Process.Id.ToString()))!;
        var output = await bench.StandardOutput.ReadToEndAsync(Programs.Timeout());
        await bench.WaitForExitAsync(Programs.Timeout());

        Assert.Equal(0, bench.ExitCode);
        Assert.True(long.Parse(Regex.Match(output, @"ops/s: (\d+)").Groups[1].Value) > 0, output);
        Assert.Contains("errors: 0", output);
        Assert.Matches(@"latency ms: p50 [\d.]+  p90 [\d.]+  p99 [\d.]+  p99.9 [\d.]+  max [\d.]+", output);
        Assert.Contains($"server pid {server.Process.Id}: RSS", output);
        await using var check = await server.ConnectAsync();
        Assert.Equal(500, Assert.IsType<Reply.Keys>(await check.AskAsync("list")).Names.Length);
    }
}

// ---------------------------------------------------------------------------------------------
// README.md stays true to the code
// ---------------------------------------------------------------------------------------------

public class ReadmeTests
{
    private static readonly string Readme = File.ReadAllText(Path.Combine(Programs.Root, "README.md"));

    [Fact]
    public void The_reference_lists_every_command_of_the_table_with_its_usage()
    {
        foreach (var command in Commands.All)
            Assert.Contains($"| `{command.Usage.Replace("|", "\\|")}` |", Readme);
    }

    [Fact]
    public void The_demo_shows_every_help_line_as_the_table_writes_it()
    {
        foreach (var command in Commands.All) Assert.Contains(command.HelpLine, Readme);
    }

    [Fact]
    public void Every_test_the_readme_names_exists()
    {
        var named = Regex.Matches(Readme, @"`(\w+)\.(\w+_\w+)`").Select(m => (Class: m.Groups[1].Value, Method: m.Groups[2].Value)).ToList();
        Assert.NotEmpty(named);
        foreach (var (className, method) in named)
        {
            var type = typeof(ReadmeTests).Assembly.GetType(className);
            Assert.True(type?.GetMethod(method) is not null, $"README names {className}.{method}, which is not a test");
        }
    }
}
