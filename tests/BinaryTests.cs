// tests/BinaryTests.cs: any bytes as keys and values. The quoted form parsed and written, every byte value
// round-tripping through both protocols and across them, listings and pub/sub carrying quoted names, the client's
// formats read back exactly, and real applications (django-redis, Flask-Caching) storing pickles over RESP.

using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using KV;
using Xunit;
using YamlDotNet.RepresentationModel;

public class QuotedFormTests
{
    private static (byte[] Key, byte[] Value) Stored(string line)
    {
        var parsed = RequestParser.Parse(Encoding.UTF8.GetBytes(line));
        Assert.Null(parsed.Error);
        return (parsed.Key.ToArray(), parsed.Value.ToArray());
    }

    [Fact]
    public void A_quoted_key_or_value_is_decoded_with_redis_cli_escapes()
    {
        var (key, value) = Stored("""set "my key" "a\nb\r\t\a\b\"\\\x00\xfF end" """.TrimEnd());
        Assert.Equal("my key"u8.ToArray(), key);
        Assert.Equal("a\nb\r\t\a\b\"\\\0"u8.ToArray().Concat(new byte[] { 0xFF }).Concat(" end"u8.ToArray()), value);
        Assert.Equal("Zürich 😀"u8.ToArray(), Stored("set \"k\" \"Zürich 😀\"").Value);
        Assert.Equal("--flag"u8.ToArray(), Stored("get \"--flag\"").Key);
        Assert.Equal("a b"u8.ToArray(), RequestParser.Parse("publish \"a b\" \"m\""u8).Key.ToArray());
        var channels = new List<byte[]>();
        foreach (var channel in RequestParser.Parse("subscribe \"a b\" c --json"u8).Channels)
            channels.Add(channel.ToArray());
        Assert.Equal(["a b"u8.ToArray(), "c"u8.ToArray()], channels);
        var setex = RequestParser.Parse("setex \"a b\" 10 \"v\\n\""u8);
        Assert.Equal(("a b", "v\n", 10L), (Encoding.UTF8.GetString(setex.Key), Encoding.UTF8.GetString(setex.Value),
            setex.Amount));
    }

    [Fact]
    public void Plain_text_is_unchanged_and_a_quote_inside_a_value_is_plain()
    {
        Assert.Equal(("k", "say \"hi\" \t ok"), Decoded(Stored("set k say \"hi\" \t ok")));
        Assert.Equal(("ключ", "Zürich 😀"), Decoded(Stored("set ключ Zürich 😀")));
        static (string, string) Decoded((byte[] Key, byte[] Value) pair) =>
            (Encoding.UTF8.GetString(pair.Key), Encoding.UTF8.GetString(pair.Value));
    }

    [Theory]
    [InlineData("set k \"abc", "the closing quote is missing")]
    [InlineData("set k \"a\\q\"", "unknown escape '\\q'")]
    [InlineData("set k \"a\\x4\"", "unknown escape '\\x4\"'")]
    [InlineData("set k \"a\" b", "a quoted value must end the line")]
    [InlineData("set k \"a\"b", "the closing quote must be followed by a space")]
    [InlineData("get \"k\"x", "the closing quote must be followed by a space")]
    [InlineData("set \"k v", "the closing quote is missing")]
    [InlineData("subscribe \"a b", "the closing quote is missing")]
    public void A_malformed_quoted_string_is_an_error_saying_how_to_write_one(string line, string problem)
    {
        var error = RequestParser.Parse(Encoding.UTF8.GetBytes(line)).Error;
        Assert.StartsWith("malformed quoted string: " + problem, error);
        Assert.EndsWith($"({QuotedForm.Grammar})", error);
    }

    [Fact]
    public void A_quoted_key_follows_the_rules_for_every_key()
    {
        Assert.Equal(Errors.KeyEmpty, RequestParser.Parse("get \"\""u8).Error);
        Assert.Equal(Errors.KeyTooLong, RequestParser.Parse(Encoding.UTF8.GetBytes(
            $"get \"{string.Concat(Enumerable.Repeat("\\xff", Commands.MaxKeyCharacters + 1))}\"")).Error);
        Assert.Null(RequestParser.Parse(Encoding.UTF8.GetBytes(
            $"get \"{string.Concat(Enumerable.Repeat("\\xff", Commands.MaxKeyCharacters))}\"")).Error);
    }

    [Fact]
    public void Every_byte_quoted_reads_back_as_itself()
    {
        for (var b = 0; b < 256; b++)
        {
            byte[] bytes = [(byte)b, (byte)'x', (byte)b];
            var quoted = QuotedForm.Quote(bytes);
            var (key, value) = Stored($"set {quoted} {quoted}");
            Assert.Equal(bytes, key);
            Assert.Equal(bytes, value);
            Assert.Equal(bytes, QuotedForm.Decode(quoted));
            Assert.Equal(bytes, QuotedForm.Decode(QuotedForm.Quote(bytes, asciiOnly: true)));
        }
    }

    [Theory]
    [InlineData("Zürich 😀", true, false)]
    [InlineData("plain", true, true)]
    [InlineData("a\tb", true, false)]
    [InlineData("\"quoted", false, false)]
    [InlineData("a\u0001", false, false)]
    [InlineData("a\u0085", false, false)]
    [InlineData("--x", true, false)]
    [InlineData("", true, false)]
    public void Only_what_a_line_cannot_hold_plainly_is_written_quoted(string text, bool plainValue, bool plainKey)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        Assert.Equal((plainValue, plainKey), (QuotedForm.IsPlainValue(bytes), QuotedForm.IsPlainKey(bytes)));
        Assert.False(QuotedForm.IsPlainValue([0xFF]));
        Assert.Equal("\"Z\\xc3\\xbcrich\"", QuotedForm.Quote("Zürich"u8, asciiOnly: true));
        Assert.Equal("\"Zürich\\n\"", QuotedForm.Quote("Zürich\n"u8));
    }
}

public class BinaryServerTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private InProcessServer Server => shared.Server;

    [Fact]
    public async Task Every_byte_value_round_trips_in_keys_and_values_over_kv_protocol()
    {
        await using var c = await Server.ConnectAsync();
        var script = new StringBuilder();
        for (var b = 0; b < 256; b++)
            script.Append($"set {Key(b)} {QuotedForm.Quote(Value(b))}\nget {Key(b)}\n");
        await c.SendAsync(script.ToString());
        for (var b = 0; b < 256; b++)
        {
            Assert.IsType<Reply.Ok>(await c.ReadAsync());
            var reply = Assert.IsType<Reply.Value>(await c.ReadAsync()).Text;
            Assert.Equal(Value(b), QuotedForm.Decode(reply));
        }
        await using var resp = await Server.ConnectRespAsync();
        for (var b = 0; b < 256; b++)
        {
            await resp.SendAsync(RespConnection.Request("GET"u8.ToArray(), [0xB1, (byte)b]));
            Assert.Equal(Value(b), await resp.ReadBulkAsync());
        }

        static string Key(int b) => QuotedForm.Quote([0xB1, (byte)b]);
        static byte[] Value(int b) => [(byte)b, .. "-v-"u8, (byte)(255 - b)];
    }

    [Fact]
    public async Task All_256_bytes_in_one_key_and_value_cross_between_the_protocols()
    {
        var all = Enumerable.Range(0, 256).Select(b => (byte)b).ToArray();
        byte[] key = [.. "bin-"u8, .. all[..200]];
        await using var resp = await Server.ConnectRespAsync();
        await using var line = await Server.ConnectAsync();
        await resp.SendAsync(RespConnection.Request("SET"u8.ToArray(), key, all));
        Assert.Equal("+OK", await resp.ReadAsync());
        var got = Assert.IsType<Reply.Value>(await line.AskAsync($"get {QuotedForm.Quote(key)}")).Text;
        Assert.Equal(all, QuotedForm.Decode(got));

        byte[] reversed = [.. all.Reverse()];
        Assert.IsType<Reply.Ok>(await line.AskAsync($"set {QuotedForm.Quote(key)} {QuotedForm.Quote(reversed)}"));
        await resp.SendAsync(RespConnection.Request("GET"u8.ToArray(), key));
        Assert.Equal(reversed, await resp.ReadBulkAsync());
    }

    [Fact]
    public async Task A_large_value_is_quoted_whole_and_keeps_its_characters_across_the_writer_s_pieces()
    {
        await using var resp = await Server.ConnectRespAsync();
        await using var line = await Server.ConnectAsync();
        // Three bytes a step, so that the writer's pieces end inside a character as often as not.
        var value = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("é\u0001", 150_000)));
        await resp.SendAsync(RespConnection.Request("SET"u8.ToArray(), "large-binary"u8.ToArray(), value));
        Assert.Equal("+OK", await resp.ReadAsync());
        var reply = Assert.IsType<Reply.Value>(await line.AskAsync("get large-binary")).Text;
        Assert.Equal(value, QuotedForm.Decode(reply));
        Assert.DoesNotContain("\\xc3", reply);
    }

    [Fact]
    public async Task A_listing_shows_keys_that_are_not_plain_quoted_one_a_line()
    {
        await using var server = InProcessServer.Start();
        await using var c = await server.ConnectAsync();
        foreach (var key in new[] { "plain", "\"two words\"", "\"line\\nbreak\"", "\"\\xff\"", "\"--dash\"" })
            Assert.IsType<Reply.Ok>(await c.AskAsync($"set {key} v"));
        await c.SendAsync("list\n");
        Assert.Equal("KEYS 5", await c.ReadLineAsync());
        var lines = new List<string>();
        for (var i = 0; i < 5; i++) lines.Add(await c.ReadLineAsync());
        Assert.Equal(["\"--dash\"", "\"line\\nbreak\"", "plain", "\"two words\"", "\"\\xff\""], lines);
    }

    [Fact]
    public async Task A_line_subscriber_reads_binary_channels_and_messages_quoted()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var subscriber = await server.ConnectAsync();
        Assert.Equal(new Reply.Counted(2), await subscriber.AskAsync("subscribe \"a b\" \"\\xff\""));
        await using var publisher = await server.ConnectRespAsync();
        await publisher.SendAsync(RespConnection.Request("PUBLISH"u8.ToArray(), "a b"u8.ToArray(), [0, .. "hi\n"u8]));
        Assert.Equal(":1", await publisher.ReadAsync());
        Assert.Equal("MESSAGE \"a b\" \"\\x00hi\\n\"", await subscriber.ReadLineAsync());
        await using var linePublisher = await server.ConnectAsync();
        Assert.Equal(new Reply.Counted(1), await linePublisher.AskAsync("publish \"\\xff\" plain text"));
        Assert.Equal("MESSAGE \"\\xff\" plain text", await subscriber.ReadLineAsync());
        Assert.Equal(("\"a b\"", "rest of it"), QuotedForm.SplitWord("\"a b\" rest of it"));
    }

    [Fact]
    public async Task The_client_prints_a_value_s_bytes_when_redirected_and_lists_keys_quoted()
    {
        var script = "set \"two words\" \"line one\\nline two\"\nget \"two words\"\nlist\nget \"two words\" --json\n";
        await using var server = InProcessServer.Start();
        var (exitCode, output) = await ClientProcess.RunAsync(script, "127.0.0.1", server.Port.ToString());
        Assert.Equal(0, exitCode);
        Assert.StartsWith("OK\nline one\nline two\n\"two words\"\n", output);
        using var json = JsonDocument.Parse(output[output.IndexOf('{')..]);
        Assert.Equal("line one\nline two", json.RootElement.GetProperty("value").GetString());
        Assert.Equal("two words", json.RootElement.GetProperty("key").GetString());

        // One command, its output a file: the value's exact bytes, whatever they are, then a newline.
        await using var c = await server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await c.AskAsync("set img \"\\x89PNG\\r\\n\\x1a\\n\\x00\\xff\""));
        using var process = System.Diagnostics.Process.Start(Programs.StartInfo(await Programs.DllAsync("KVClient.cs"),
            "127.0.0.1", server.Port.ToString(), "get img"))!;
        var bytes = new MemoryStream();
        await process.StandardOutput.BaseStream.CopyToAsync(bytes, Programs.Timeout());
        await process.WaitForExitAsync(Programs.Timeout());
        Assert.Equal([0x89, .. "PNG\r\n\x1a\n\0"u8, 0xFF, (byte)'\n'], bytes.ToArray());
    }
}

public class BinaryFormatTests
{
    private static readonly byte[] NotUtf8 = [0xC3, 0x28, 0xFF, 0x00, (byte)'a'];

    [Fact]
    public void Json_carries_bytes_that_are_not_utf8_as_base64_objects()
    {
        using var json = JsonDocument.Parse(Formats.Value(OutputFormat.Json, NotUtf8, NotUtf8));
        Assert.Equal(NotUtf8, json.RootElement.GetProperty("value").GetProperty("base64").GetBytesFromBase64());
        Assert.Equal(NotUtf8, json.RootElement.GetProperty("key").GetProperty("base64").GetBytesFromBase64());
        using var keys = JsonDocument.Parse(Formats.Keys(OutputFormat.Json, [NotUtf8, "k"u8.ToArray()]));
        var array = keys.RootElement.GetProperty("keys");
        Assert.Equal(NotUtf8, array[0].GetProperty("base64").GetBytesFromBase64());
        Assert.Equal("k", array[1].GetString());
        using var message = JsonDocument.Parse(Formats.Message(OutputFormat.Json, "c"u8.ToArray(), NotUtf8));
        Assert.Equal(NotUtf8, message.RootElement.GetProperty("message").GetProperty("base64").GetBytesFromBase64());
    }

    [Fact]
    public void Xml_carries_them_as_base64_elements()
    {
        var entry = XElement.Parse(Formats.Value(OutputFormat.Xml, "k"u8.ToArray(), NotUtf8));
        Assert.Equal("base64", (string?)entry.Element("value")!.Attribute("encoding"));
        Assert.Equal(NotUtf8, Convert.FromBase64String(entry.Element("value")!.Value));
        var message = XElement.Parse(Formats.Message(OutputFormat.Xml, NotUtf8, "m"u8.ToArray()));
        Assert.Equal(NotUtf8, Convert.FromBase64String((string)message.Attribute("channel-base64")!));
        Assert.Equal("m", message.Value);
    }

    [Fact]
    public void Yaml_carries_them_as_yaml_binary()
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(Formats.Value(OutputFormat.Yaml, "k"u8.ToArray(), NotUtf8)));
        var value = (YamlScalarNode)((YamlMappingNode)yaml.Documents[0].RootNode).Children[new YamlScalarNode("value")];
        Assert.Equal("tag:yaml.org,2002:binary", value.Tag.Value);
        Assert.Equal(NotUtf8, Convert.FromBase64String(value.Value!));
    }
}
