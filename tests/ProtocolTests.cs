// tests/ProtocolTests.cs: unit tests of Protocol.cs: the command table, the request parser, framing and the reply
// codec.

using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using KV;
using Xunit;

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
            Assert.Same(command, Commands.Of(command.Kind));
        }
    }

    [Fact]
    public void Usage_shows_the_flags_only_where_a_command_takes_them()
    {
        Assert.Equal("get KEY [--xml|--json|--yml]", Commands.Of(CommandKind.Get).Usage);
        Assert.Equal("list [--xml|--json|--yml]", Commands.Of(CommandKind.List).Usage);
        Assert.Equal("set KEY VALUE", Commands.Of(CommandKind.Set).Usage);
        Assert.Equal("del KEY", Commands.Of(CommandKind.Del).Usage);
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
    [InlineData("incr k", CommandKind.Incr)]
    [InlineData("DECR k 2", CommandKind.Decr)]
    [InlineData("Stats", CommandKind.Stats)]
    [InlineData("stats --json", CommandKind.Stats)]
    [InlineData("MONITOR", CommandKind.Monitor)]
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

    [Theory]
    [InlineData("incr k", 1)]
    [InlineData("incr k 10", 10)]
    [InlineData("decr k -3", -3)]
    [InlineData("incr k 0", 0)]
    [InlineData("incr k 9223372036854775807", long.MaxValue)]
    [InlineData("incr k -9223372036854775808", long.MinValue)]
    public void An_amount_is_a_64_bit_integer_and_one_by_default(string line, long amount)
    {
        Assert.Equal("k", Valid(line).Key);
        Assert.Equal(amount, Valid(line).Amount);
    }

    [Theory]
    [InlineData("incr k 01")]
    [InlineData("incr k +1")]
    [InlineData("incr k -0")]
    [InlineData("incr k 1.5")]
    [InlineData("incr k 9223372036854775808")]
    [InlineData("incr k -9223372036854775809")]
    [InlineData("incr k --json")]
    [InlineData("incr k x")]
    public void An_amount_is_written_as_redis_writes_an_integer_or_refused(string line) =>
        Assert.StartsWith("the amount '", Invalid(line));

    [Theory]
    [InlineData("incr")]
    [InlineData("incr k 1 2")]
    [InlineData("stats k")]
    [InlineData("monitor now")]
    [InlineData("monitor --json")]
    public void Counters_stats_and_monitor_refuse_extra_or_missing_words(string line) =>
        Assert.StartsWith("wrong arguments for '", Invalid(line));

    [Fact]
    public void Keys_are_case_sensitive_and_may_hold_any_printable_unicode()
    {
        Assert.Equal("Key", Valid("get Key").Key);
        Assert.Equal("ключ-😀", Valid("del ключ-😀").Key);
        Assert.Equal(new string('k', 256), Valid("get " + new string('k', 256)).Key);
        var emoji = string.Concat(Enumerable.Repeat("😀", 256));
        Assert.Equal(emoji, Valid("get " + emoji).Key);
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
    [InlineData("set k v\r", "the value contains a CR or LF")]
    [InlineData("set k\tv", "a tab in the key: one space separates the key from the value (usage: set KEY VALUE)")]
    [InlineData("set k\tv w", "a tab in the key: one space separates")]
    [InlineData("set k a\rb", "the value contains a CR or LF")]
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
        Assert.Equal("the key is longer than 256 characters", Invalid("set " + string.Concat(Enumerable.Repeat("é",
            257)) + " v"));
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
        await Assert.ThrowsAsync<EndOfStreamException>(async ()
            => await reader.ReadAsync(TestContext.Current.CancellationToken));
        return replies;
    }

    [Fact]
    public async Task Every_reply_reads_back_as_written()
    {
        var keys = new[] { "a", "b", "ключ" }
            .Select(k => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(k)).ToArray();
        var replies = await RoundTrip(output =>
        {
            ReplyWriter.Ok(output);
            ReplyWriter.Pong(output);
            ReplyWriter.Value(output, Encoding.UTF8.GetBytes(" x\tb \r"));
            ReplyWriter.Value(output, []);
            ReplyWriter.KeysHeader(output, keys.Length);
            foreach (var key in keys) ReplyWriter.Key(output, key.Span);
            ReplyWriter.KeysHeader(output, 0);
            ReplyWriter.Help(output, Commands.All);
            ReplyWriter.Error(output, "key 'k' not found");
            ReplyWriter.Bye(output);
        }, 9);

        Assert.IsType<Reply.Ok>(replies[0]);
        Assert.IsType<Reply.Pong>(replies[1]);
        Assert.Equal("\" x\\tb \\r\"", Assert.IsType<Reply.Value>(replies[2]).Text);
        Assert.Equal(" x\tb \r"u8.ToArray(), QuotedForm.Decode(Assert.IsType<Reply.Value>(replies[2]).Text));
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
        ReplyWriter.KeysHeader(buffer, 1);
        ReplyWriter.Key(buffer, "a"u8);
        ReplyWriter.Error(buffer, "boom");
        Assert.Equal("VALUE v\nKEYS 1\na\nERROR: boom\n", Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    [Fact]
    public async Task An_unknown_reply_is_an_error()
    {
        var reader = new ReplyReader(PipeReader.Create(new MemoryStream("WHAT\n"u8.ToArray())));
        await Assert.ThrowsAsync<InvalidDataException>(async ()
            => await reader.ReadAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public void Framing_accepts_lf_and_crlf_and_keeps_a_partial_line()
    {
        var buffer = new ReadOnlySequence<byte>("ping\r\nget a\nset b"u8.ToArray());
        Assert.True(LineFraming.TryReadRequest(ref buffer, out var first));
        Assert.Equal("ping", Encoding.UTF8.GetString(first));
        Assert.True(LineFraming.TryReadRequest(ref buffer, out var second));
        Assert.Equal("get a", Encoding.UTF8.GetString(second));
        Assert.False(LineFraming.TryReadRequest(ref buffer, out _));
        Assert.Equal("set b", Encoding.UTF8.GetString(buffer));
    }
}
