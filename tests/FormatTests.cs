// tests/FormatTests.cs: unit tests of src/client/Formats.cs: every format is parsed back by its own library.

using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using KV;
using Xunit;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

public class FormatTests
{
    [Theory]
    [InlineData("1764489600.000123 [7 127.0.0.1:5000 pool-1] set k v",
        "16:00:00.000123 [7 127.0.0.1:5000 pool-1] set k v")]
    [InlineData("not a time [7] set k v", "not a time [7] set k v")]
    [InlineData("1764489600.12 [7] short fraction", "1764489600.12 [7] short fraction")]
    public void A_monitor_line_at_a_terminal_shows_its_time_of_day(string line, string shown) =>
        Assert.Equal(shown, Formats.MonitorTime(line, TimeZoneInfo.CreateCustomTimeZone("UTC+8", TimeSpan.FromHours(8),
            "UTC+8", "UTC+8")));

    public static readonly TheoryData<string> TrickyValues =
    [
        " x\tb ", "<&>\"'", "ñandú 日本語", "emoji 😀🎉", "yes", "no", "null", "~", "123", "1.5e3", "0x1F",
        "- x",
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
        Assert.Equal(Formats.EmptyList, Formats.Keys(OutputFormat.Plain, Array.Empty<string>()));
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
        (string?)element.Attribute("encoding") == "base64"
            ? Encoding.UTF8.GetString(Convert.FromBase64String(element.Value)) : element.Value;

    public static Dictionary<string, YamlScalarNode> ReadYaml(string text)
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(text));
        return ((YamlMappingNode)yaml.Documents[0].RootNode).Children
            .ToDictionary(pair => ((YamlScalarNode)pair.Key).Value!, pair => (YamlScalarNode)pair.Value);
    }
}
