// tests/RespTests.cs: the Redis protocol: its framing (unit), KEYS's glob (unit), every command against an
// in-process server over raw RESP, and the one data model shared with KV's own protocol.

using System.Buffers;
using System.Text;
using KV;
using Xunit;

public class RespFramingTests
{
    private static (RespRead Read, List<string> Arguments, string? Error, long Left) Parse(string text,
        int maxBulk = 1024 * 1024) =>
        Parse(Encoding.UTF8.GetBytes(text), maxBulk);

    private static (RespRead Read, List<string> Arguments, string? Error, long Left) Parse(byte[] bytes,
        int maxBulk = 1024 * 1024)
    {
        var buffer = new ReadOnlySequence<byte>(bytes);
        var arguments = new List<ReadOnlySequence<byte>>();
        var read = RespFraming.TryReadRequest(ref buffer, arguments, maxBulk, out var error);
        return (read, arguments.Select(a => Encoding.UTF8.GetString(a)).ToList(), error, buffer.Length);
    }

    [Fact]
    public void A_request_that_arrives_byte_by_byte_is_incomplete_until_its_last_byte()
    {
        var request = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$7\r\nhe\r\nllo\r\n";
        for (var length = 0; length < request.Length; length++)
            Assert.Equal(RespRead.Incomplete, Parse(request[..length]).Read);
        var (read, arguments, _, left) = Parse(request + "*1\r\n$4\r\nPING\r\n");
        Assert.Equal(RespRead.Complete, read);
        Assert.Equal(["SET", "k", "he\r\nllo"], arguments);
        Assert.Equal("*1\r\n$4\r\nPING\r\n".Length, left);
    }

    [Fact]
    public void A_large_array_arriving_in_pieces_is_read_on_from_where_it_stopped_not_from_its_start()
    {
        var words = Enumerable.Range(0, 1000).Select(i => $"key-{i}-".PadRight(256, 'k')).ToList();
        var request = $"*{words.Count + 1}\r\n$5\r\nWATCH\r\n"
            + string.Concat(words.Select(w => $"${w.Length}\r\n{w}\r\n"));
        var bytes = Encoding.ASCII.GetBytes(request + "*1\r\n$4\r\nPING\r\n");
        var partial = new PartialArray();
        var arguments = new List<ReadOnlySequence<byte>>();
        var (arrived, calls) = (0, 0);
        RespRead read;
        ReadOnlySequence<byte> buffer;
        do
        {
            arrived = Math.Min(arrived + 100, bytes.Length);
            buffer = new ReadOnlySequence<byte>(bytes, 0, arrived);
            read = RespFraming.TryReadRequest(ref buffer, arguments, 1024, out var error, partial);
            Assert.Null(error);
            // WATCH is cut already: its marker spoilt now is found only by a read that starts over.
            if (calls++ == 0) bytes["*1001\r\n".Length] = (byte)'X';
        }
        while (read == RespRead.Incomplete);
        Assert.True(calls > 100);
        Assert.Equal(["WATCH", .. words], arguments.Select(a => Encoding.ASCII.GetString(a)));
        Assert.Equal(arrived - request.Length, buffer.Length);
    }

    [Fact]
    public void A_request_cut_short_is_forgotten_when_the_buffer_starts_elsewhere()
    {
        var partial = new PartialArray();
        var arguments = new List<ReadOnlySequence<byte>>();
        var cut = new ReadOnlySequence<byte>("*2\r\n$3\r\nGET\r\n"u8.ToArray());
        Assert.Equal(RespRead.Incomplete, RespFraming.TryReadRequest(ref cut, arguments, 1024, out _, partial));
        var other = new ReadOnlySequence<byte>("*1\r\n$4\r\nPING\r\n"u8.ToArray());
        Assert.Equal(RespRead.Complete, RespFraming.TryReadRequest(ref other, arguments, 1024, out _, partial));
        Assert.Equal(["PING"], arguments.Select(a => Encoding.ASCII.GetString(a)));
    }

    [Theory]
    [InlineData("PING\r\n", new[] { "PING" })]
    [InlineData("PING\n", new[] { "PING" })]
    [InlineData("set  k\tv \r\n", new[] { "set", "k", "v" })]
    [InlineData("\r\n", new string[0])]
    [InlineData("*0\r\n", new string[0])]
    [InlineData("*-1\r\n", new string[0])]
    [InlineData("*1\r\n$0\r\n\r\n", new[] { "" })]
    [InlineData("SET \"a b\" 'c d'\r\n", new[] { "SET", "a b", "c d" })]
    [InlineData("set k \"tab\\there\\x41\\\"\" 'it\\'s'\r\n", new[] { "set", "k", "tab\there\x41\"", "it's" })]
    [InlineData("set k \"\"\r\n", new[] { "set", "k", "" })]
    public void Inline_commands_and_arrays_both_read(string request, string[] expected)
    {
        var (read, arguments, _, left) = Parse(request);
        Assert.Equal(RespRead.Complete, read);
        Assert.Equal(expected, arguments);
        Assert.Equal(0, left);
    }

    [Theory]
    [InlineData("*x\r\n", "Protocol error: invalid multibulk length")]
    [InlineData("*65537\r\n", "Protocol error: invalid multibulk length")]
    [InlineData("*1\n", "Protocol error: invalid multibulk length")]
    [InlineData("*123456789012345678901234567890123456789\r\n", "Protocol error: invalid multibulk length")]
    [InlineData("*2\r\n+x\r\n", "Protocol error: expected '$', got '+'")]
    [InlineData("*1\r\n$-5\r\n", "Protocol error: invalid bulk length")]
    [InlineData("*1\r\n$abc\r\n", "Protocol error: invalid bulk length")]
    [InlineData("*1\r\n$+1\r\nx\r\n", "Protocol error: invalid bulk length")]
    [InlineData("*+1\r\n$1\r\nx\r\n", "Protocol error: invalid multibulk length")]
    [InlineData("SET k \"unbalanced\r\n", "Protocol error: unbalanced quotes in request")]
    [InlineData("SET k \"closed\"too-soon\r\n", "Protocol error: unbalanced quotes in request")]
    [InlineData("*1\r\n$67108864\r\n", "Protocol error: invalid bulk length")]
    [InlineData("*1\r\n$3\r\nabcXY", "Protocol error: expected CRLF after a bulk string")]
    public void Malformed_framing_is_a_protocol_error(string request, string error)
    {
        var (read, _, actual, _) = Parse(request);
        Assert.Equal(RespRead.Malformed, read);
        Assert.Equal(error, actual);
    }

    [Fact]
    public void An_inline_line_over_the_limit_is_refused_before_its_end()
    {
        Assert.Equal(RespRead.Incomplete, Parse(new string('x', 100), maxBulk: 100).Read);
        Assert.Equal("Protocol error: too big inline request", Parse(new string('x', 101), maxBulk: 100).Error);
        // The CR of a CRLF is not part of the line: one of exactly the limit passes, waiting for its LF or not.
        Assert.Equal(RespRead.Incomplete, Parse(new string('x', 100) + "\r", maxBulk: 100).Read);
        Assert.Equal(RespRead.Complete, Parse(new string('x', 100) + "\r\n", maxBulk: 100).Read);
        // Past Redis's 64 KiB an inline line is refused whatever --max-line-bytes allows; a bulk string is not.
        var inline = "SET k " + new string('"', RespFraming.MaxInlineBytes);
        Assert.Equal("Protocol error: too big inline request", Parse(inline, maxBulk: 1 << 20).Error);
        var bulk = $"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${RespFraming.MaxInlineBytes * 2}\r\n"
            + new string('v', RespFraming.MaxInlineBytes * 2) + "\r\n";
        Assert.Equal(RespRead.Complete, Parse(bulk, maxBulk: 1 << 20).Read);
    }

    [Fact]
    public void An_inline_line_cannot_hold_more_words_than_the_argument_bound()
    {
        // Two bytes a word at the least: Redis's 64 KiB inline bound comes first.
        Assert.True(RespFraming.MaxInlineBytes / 2 < RespFraming.MaxArguments);
        var words = "SET k" + string.Concat(Enumerable.Repeat(" a", RespFraming.MaxInlineBytes / 2)) + "\r\n";
        Assert.Equal("Protocol error: too big inline request", Parse(words, maxBulk: 1 << 20).Error);
        var fits = "SET k" + string.Concat(Enumerable.Repeat(" \"a\"", 10_000)) + "\r\n";
        Assert.Equal(RespRead.Complete, Parse(fits, maxBulk: 1 << 20).Read);
    }

    [Fact]
    public void Replies_are_written_as_redis_writes_them()
    {
        var output = new ArrayBufferWriter<byte>();
        RespReply.Ok(output);
        RespReply.Error(output, "bad\r\nthing");
        RespReply.Integer(output, -42);
        RespReply.Bulk(output, "héllo");
        RespReply.Null(output);
        RespReply.ArrayHeader(output, 2);
        RespReply.Error(output, "unsupported protocol version", prefix: "NOPROTO");
        Assert.Equal("+OK\r\n-ERR bad thing\r\n:-42\r\n$6\r\nhéllo\r\n$-1\r\n*2\r\n-NOPROTO unsupported protocol " +
            "version\r\n",
            Encoding.UTF8.GetString(output.WrittenSpan));
    }
}

public class RedisGlobTests
{
    [Theory]
    [InlineData("*", "anything", true)]
    [InlineData("*", "", true)]
    [InlineData("user:*", "user:42", true)]
    [InlineData("user:*", "users:42", false)]
    [InlineData("h?llo", "hello", true)]
    [InlineData("h?llo", "hllo", false)]
    [InlineData("h[ae]llo", "hallo", true)]
    [InlineData("h[ae]llo", "hillo", false)]
    [InlineData("h[^e]llo", "hallo", true)]
    [InlineData("h[^e]llo", "hello", false)]
    [InlineData("h[a-c]llo", "hbllo", true)]
    [InlineData("h[c-a]llo", "hbllo", true)]
    [InlineData("h[a-c]llo", "hdllo", false)]
    [InlineData("h\\*llo", "h*llo", true)]
    [InlineData("h\\*llo", "hello", false)]
    [InlineData("*a*b*c*", "xxaxxbxxcxx", true)]
    [InlineData("*a*b*c*", "xxaxxcxxbxx", false)]
    [InlineData("a*", "ba", false)]
    [InlineData("[abc", "b", true)]
    public void Patterns_match_as_in_redis(string pattern, string key, bool matches) =>
        Assert.Equal(matches, RedisGlob.Matches(Encoding.UTF8.GetBytes(pattern), Encoding.UTF8.GetBytes(key)));

    /// <summary>
    /// Random patterns of every kind of element match what a regular expression of the same pieces matches: an
    /// independent model of the glob.
    /// </summary>
    [Fact]
    public void Random_patterns_match_as_a_regular_expression_of_the_same_pieces()
    {
        var random = new Random(5);
        (string Glob, string Regex)[] pieces = [("a", "a"), ("b", "b"), ("*", ".*"), ("?", "."), ("[ab]", "[ab]"),
            ("[^a]", "[^a]"), ("[b-c]", "[b-c]"), ("[c-b]", "[b-c]"), ("[a]", "a"), ("\\*", "\\*"), ("\\a", "a")];
        for (var i = 0; i < 20_000; i++)
        {
            var chosen = Enumerable.Range(0, random.Next(0, 7)).Select(_ => pieces[random.Next(pieces.Length)])
                .ToList();
            var text = string.Concat(Enumerable.Range(0, random.Next(0, 9)).Select(_ => "abc*"[random.Next(4)]));
            var pattern = string.Concat(chosen.Select(piece => piece.Glob));
            var expected = System.Text.RegularExpressions.Regex.IsMatch(text,
                "^" + string.Concat(chosen.Select(piece => piece.Regex)) + "$",
                System.Text.RegularExpressions.RegexOptions.Singleline);
            Assert.True(expected == RedisGlob.Matches(Encoding.UTF8.GetBytes(pattern), Encoding.UTF8.GetBytes(text)),
                $"{pattern} against {text}");
        }
    }

    /// <summary>
    /// The checks before the walk (the fewest bytes, the first and last elements, the literals' bytes) only ever
    /// say no where the walk says no: random patterns and texts, matched both ways.
    /// </summary>
    [Fact]
    public void The_quick_checks_before_a_match_never_change_its_answer()
    {
        var random = new Random(11);
        string[] pieces = ["a", "b", "c", "*", "?", "[ab]", "[^a]", "[b-c]", "\\*", "\\a"];
        var matched = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var pattern = string.Concat(Enumerable.Range(0, random.Next(0, 7)).Select(_ => pieces[random.Next(
                pieces.Length)]));
            var text = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, random.Next(0, 9)).Select(_ =>
                "abc*"[random.Next(4)])));
            var glob = RedisGlob.Compile(Encoding.UTF8.GetBytes(pattern));
            Span<ulong> present = stackalloc ulong[4];
            RedisGlob.Present(text, present);
            var walked = glob.Walk(text);
            Assert.True(walked == glob.Matches(text) && walked == glob.Matches(text, present),
                $"{pattern} against {Encoding.UTF8.GetString(text)}");
            if (walked) matched++;
        }
        Assert.InRange(matched, 500, 19_500);
    }
}

public class RespServerTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private InProcessServer Server => shared.Server;

    [Fact]
    public async Task Every_command_answers_with_redis_reply_types()
    {
        await using var c = await Server.ConnectRespAsync();
        Assert.Equal("+PONG", await c.AskAsync("PING"));
        Assert.Equal("$hi there", await c.AskAsync("ping", "hi there"));
        Assert.Equal("$echo", await c.AskAsync("ECHO", "echo"));
        Assert.Equal("+OK", await c.AskAsync("set", "r-a", "1"));
        Assert.Equal("$1", await c.AskAsync("GET", "r-a"));
        Assert.Equal("$nil", await c.AskAsync("get", "r-missing"));
        Assert.Equal("$nil", await c.AskAsync("set", "r-a", "2", "NX"));
        Assert.Equal("+OK", await c.AskAsync("set", "r-a", "2", "xx"));
        Assert.Equal("$nil", await c.AskAsync("set", "r-b", "2", "XX"));
        Assert.Equal("$2", await c.AskAsync("set", "r-a", "3", "GET"));
        Assert.Equal("$nil", await c.AskAsync("set", "r-b", "new", "NX", "GET"));
        Assert.Equal(":1", await c.AskAsync("SETNX", "r-c", "x"));
        Assert.Equal(":0", await c.AskAsync("setnx", "r-c", "y"));
        Assert.Equal(":3", await c.AskAsync("exists", "r-a", "r-b", "r-a", "r-missing"));
        Assert.Equal("*3[$r-a,$r-b,$r-c]", await c.AskAsync("keys", "r-[a-c]"));
        Assert.Equal(":2", await c.AskAsync("DEL", "r-a", "r-b", "r-missing"));
        Assert.Equal(":1", await c.AskAsync("unlink", "r-c"));
        Assert.StartsWith(":", await c.AskAsync("dbsize"));
        Assert.Equal("+OK", await c.AskAsync("select", "0"));
        Assert.Equal("-ERR DB index is out of range", await c.AskAsync("select", "1"));
        Assert.Equal("-ERR value is not an integer or out of range", await c.AskAsync("select", "x"));
        Assert.Equal("*2[$save,$]", await c.AskAsync("config", "get", "save"));
        Assert.Equal("*2[$appendonly,$no]", await c.AskAsync("CONFIG", "GET", "appendonly"));
        Assert.StartsWith("*2[$maxmemory,$", await c.AskAsync("config", "get", "maxmemory"));
        Assert.Equal("*0[]", await c.AskAsync("config", "get", "no-such-parameter"));
        var every = await c.AskAsync("config", "get", "*");
        Assert.StartsWith("*", every);
        Assert.Contains("$save,$,$appendonly,$no,", every);
        Assert.Contains("$zset-max-ziplist-entries,$128", every);
        Assert.Equal("-NOPROTO unsupported protocol version", await c.AskAsync("HELLO", "4"));
        Assert.StartsWith("*14[$server,$kv,$version,$7.0.0,$proto,:2,$id,:", await c.AskAsync("hello", "2"));
        Assert.Equal("-ERR Protocol version is not an integer or out of range", await c.AskAsync("hello", "x"));
        Assert.Equal("+OK", await c.AskAsync("client", "setname", "tester"));
        Assert.Equal("$tester", await c.AskAsync("CLIENT", "GETNAME"));
        Assert.Equal("+OK", await c.AskAsync("client", "setinfo", "lib-name", "tests"));
        Assert.Matches("^:[0-9]+$", await c.AskAsync("client", "id"));
        Assert.StartsWith("-ERR unknown subcommand", await c.AskAsync("client", "kill"));
        Assert.Equal("-ERR unknown command 'foo', with args beginning with: 'bar' ", await c.AskAsync("foo", "bar"));
        Assert.Equal("-ERR wrong number of arguments for 'get' command", await c.AskAsync("get"));
        Assert.Equal("-ERR syntax error", await c.AskAsync("set", "k", "v", "sometimes"));
        Assert.Equal("-ERR value is not an integer or out of range", await c.AskAsync("set", "k", "v", "ex", "ten"));
        Assert.Equal("-ERR invalid expire time in 'set' command", await c.AskAsync("set", "k", "v", "ex", "0"));
        Assert.Equal("-ERR syntax error", await c.AskAsync("set", "k", "v", "ex", "10", "px", "10"));
        Assert.Equal("+OK", await c.AskAsync("quit"));
        Assert.True(await c.ClosedByServerAsync());
    }

    [Fact]
    public async Task Client_names_follow_redis_rules_and_are_bounded()
    {
        await using var c = await Server.ConnectRespAsync();
        Assert.Equal("-ERR Client names cannot contain spaces, newlines or special characters.",
            await c.AskAsync("client", "setname", "a b"));
        Assert.Equal($"-ERR Client names are limited to {RespConnectionCommands.MaxNameBytes} bytes",
            await c.AskAsync("client", "setname", new string('n', RespConnectionCommands.MaxNameBytes + 1)));
        Assert.Equal("-ERR Client names cannot contain spaces, newlines or special characters.",
            await c.AskAsync("hello", "2", "setname", "a\nb"));
        Assert.Equal("+OK", await c.AskAsync("client", "setname", new string('n',
            RespConnectionCommands.MaxNameBytes)));
        Assert.Equal("$" + new string('n', RespConnectionCommands.MaxNameBytes), await c.AskAsync("client", "getname"));
        Assert.Equal("+OK", await c.AskAsync("client", "setname", ""));
        Assert.Equal("$nil", await c.AskAsync("client", "getname"));
    }

    [Fact]
    public async Task Info_reports_kv_own_facts_and_the_redis_version_whose_commands_it_speaks()
    {
        await using var c = await Server.ConnectRespAsync();
        var info = await c.AskAsync("info");
        Assert.Matches(@"\r\ndotnet_heap_size:[1-9]\d*\r\n", info);
        Assert.Contains("# Server\r\nredis_version:7.0.0\r\nserver_name:kv\r\nkv_version:", info);
        Assert.Contains("# Clients\r\nconnected_clients:", info);
        Assert.Contains("# Keyspace", info);
        var clients = await c.AskAsync("INFO", "clients");
        Assert.StartsWith("$# Clients", clients);
        Assert.DoesNotContain("# Server", clients);
    }

    [Fact]
    public async Task Any_bytes_are_stored_only_an_empty_or_too_long_key_is_refused_with_kv_message()
    {
        await using var c = await Server.ConnectRespAsync();
        Assert.Equal("-ERR " + Errors.KeyEmpty, await c.AskAsync("set", "", "v"));
        Assert.Equal("-ERR " + Errors.KeyEmpty, await c.AskAsync("setnx", "", "v"));
        Assert.Equal("-ERR " + Errors.KeyTooLong, await c.AskAsync("set", new string('k',
            Commands.MaxKeyCharacters + 1), "v"));
        Assert.Equal("+OK", await c.AskAsync("set", "has space", "line\nbreak\r"));
        Assert.Equal("+OK", await c.AskAsync("set", "--json", "v"));
        Assert.Equal("$line\nbreak\r", await c.AskAsync("get", "has space"));
        byte[] notUtf8 = [0xC3, 0x28, 0xFF, 0x00, 0x80, 0x0D, 0x0A];
        await c.SendAsync(RespConnection.Request("set"u8.ToArray(), notUtf8, notUtf8));
        Assert.Equal("+OK", await c.ReadAsync());
        await c.SendAsync(RespConnection.Request("get"u8.ToArray(), notUtf8));
        Assert.Equal(notUtf8, await c.ReadBulkAsync());
        await c.SendAsync(RespConnection.Request("echo"u8.ToArray(), notUtf8));
        await c.SendAsync(RespConnection.Request("ping"u8.ToArray(), notUtf8));
        Assert.Equal(notUtf8, await c.ReadBulkAsync());
        Assert.Equal(notUtf8, await c.ReadBulkAsync());
    }

    [Fact]
    public async Task A_pair_set_over_either_protocol_reads_back_exactly_over_the_other()
    {
        await using var resp = await Server.ConnectRespAsync();
        await using var line = await Server.ConnectAsync();
        foreach (var value in FormatTests.TrickyValues.Select(row => row.Data))
        {
            Assert.Equal("+OK", await resp.AskAsync("set", "r-both", value));
            Assert.Equal(value, Encoding.UTF8.GetString(QuotedForm.Decode(Assert.IsType<Reply.Value>(
                await line.AskAsync("get r-both")).Text)));
            var quoted = QuotedForm.Quote(Encoding.UTF8.GetBytes(value));
            Assert.IsType<Reply.Ok>(await line.AskAsync("set r-back " + quoted));
            Assert.Equal("$" + value, await resp.AskAsync("get", "r-back"));
        }
    }

    [Fact]
    public async Task Ten_thousand_pipelined_requests_in_one_write_are_answered_in_order()
    {
        await using var c = await Server.ConnectRespAsync();
        var batch = new List<byte>();
        for (var i = 0; i < 5_000; i++)
        {
            batch.AddRange(RespConnection.Request("set", $"r-pipe{i}", $"v{i}"));
            batch.AddRange(i % 2 == 0 ? RespConnection.Request("get",
                $"r-pipe{i}") : Encoding.ASCII.GetBytes($"GET r-pipe{i}\r\n"));
        }
        await c.SendAsync(batch.ToArray());
        for (var i = 0; i < 5_000; i++)
        {
            Assert.Equal("+OK", await c.ReadAsync());
            Assert.Equal($"$v{i}", await c.ReadAsync());
        }
    }

    [Theory]
    [InlineData("*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length")]
    [InlineData("*2\r\n:1\r\n", "-ERR Protocol error: expected '$', got ':'")]
    [InlineData("*1\r\n$4\r\nPINGxx", "-ERR Protocol error: expected CRLF after a bulk string")]
    [InlineData("*1\r\n$67108864\r\n", "-ERR Protocol error: invalid bulk length")]
    [InlineData("*70000\r\n", "-ERR Protocol error: invalid multibulk length")]
    public async Task Malformed_framing_gets_a_protocol_error_and_the_connection_closes(string request, string reply)
    {
        await using var bystander = await Server.ConnectRespAsync();
        Assert.Equal("+OK", await bystander.AskAsync("set", "r-bystander", "safe"));
        await using var c = await Server.ConnectRespAsync();
        await c.SendAsync("PING\r\n" + request);
        Assert.Equal("+PONG", await c.ReadAsync());
        Assert.Equal(reply, await c.ReadAsync());
        Assert.True(await c.ClosedByServerAsync());
        Assert.Equal("$safe", await bystander.AskAsync("get", "r-bystander"));
    }

    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task Max_clients_counts_both_listeners_and_idle_timeout_applies_to_resp(string threading)
    {
        await using var server = InProcessServer.Start("--resp-port", "0", "--max-clients", "2", "--idle-timeout", "1",
            "--threading", threading);
        await using var line = await server.ConnectAsync();
        Assert.IsType<Reply.Pong>(await line.AskAsync("ping"));
        await using var resp = await server.ConnectRespAsync();
        Assert.Equal("+PONG", await resp.AskAsync("ping"));
        await using (var third = await server.ConnectRespAsync())
        {
            Assert.Equal("-ERR too many clients (max 2)", await third.ReadAsync());
            Assert.True(await third.ClosedByServerAsync());
        }
        Assert.True(await resp.ClosedByServerAsync());
        await server.ExpectOutputAsync(@"over RESP disconnected: idle for 1 s");
    }

    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task An_unfinished_request_may_hold_at_most_twice_the_line_limit(string threading)
    {
        await using var server = InProcessServer.Start("--resp-port", "0", "--max-line-bytes", "1000", "--threading",
            threading);
        await using var c = await server.ConnectRespAsync();
        await c.SendAsync($"*3\r\n$3\r\nSET\r\n$1000\r\n{new string('k', 1000)}\r\n$1000\r\n{new string('v', 999)}");
        Assert.Equal("-ERR Protocol error: unfinished request longer than 2000 bytes", await c.ReadAsync());
        Assert.True(await c.ClosedByServerAsync());
        await using var fits = await server.ConnectRespAsync();
        Assert.Equal("-ERR " + Errors.KeyTooLong, await fits.AskAsync("set", new string('k', 1000), new string('v',
            900)));
        Assert.Equal("+OK", await fits.AskAsync("set", "k", new string('v', 1000)));
    }
}
