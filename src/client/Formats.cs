// src/client/Formats.cs: the client's output as XML, JSON or YAML, written by the real library for each format.
//
// Only the client and the tests include it, so the server builds without YamlDotNet and without unsafe code
// (the JSON encoder's signatures take pointers).

#:package YamlDotNet@18.1.0
#:property AllowUnsafeBlocks=true

using System.Buffers;
using System.Collections.Frozen;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Xml;
using System.Xml.Linq;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace KV;

/// <summary>
/// The client's output: plain text as the spec's table says, or XML, JSON or YAML written by the real library,
/// so that any parser reads back the exact strings.
/// </summary>
public static class Formats
{
    public const string EmptyList = "(empty list)";

    public static string Value(OutputFormat format, string key, string value) =>
        Value(format, Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value));

    /// <summary>`get` in a format; a key or value that is not UTF-8 is carried as base64 (ReadBack says how).</summary>
    public static string Value(OutputFormat format, byte[] key, byte[] value) => format switch
    {
        OutputFormat.Xml => WriteXml(new XElement("entry", XmlText("key", key), XmlText("value", value,
            preserveSpace: true))),
        OutputFormat.Json => WriteJson(json =>
        {
            json.WriteStartObject();
            JsonBytes(json, "key", key);
            JsonBytes(json, "value", value);
            json.WriteEndObject();
        }),
        OutputFormat.Yaml => WriteYaml(yaml =>
        {
            yaml.Emit(new MappingStart());
            YamlPair(yaml, "key", key);
            YamlPair(yaml, "value", value);
            yaml.Emit(new MappingEnd());
        }),
        _ => Encoding.UTF8.GetString(value),
    };

    public static string Keys(OutputFormat format, IReadOnlyList<string> keys) =>
        Keys(format, [.. keys.Select(Encoding.UTF8.GetBytes)]);

    public static string Keys(OutputFormat format, IReadOnlyList<byte[]> keys) => format switch
    {
        OutputFormat.Xml => WriteXml(new XElement("keys", keys.Select(k => XmlText("key", k)))),
        OutputFormat.Json => WriteJson(json =>
        {
            json.WriteStartObject();
            json.WriteStartArray("keys");
            foreach (var key in keys) JsonBytes(json, null, key);
            json.WriteEndArray();
            json.WriteEndObject();
        }),
        OutputFormat.Yaml => WriteYaml(yaml =>
        {
            yaml.Emit(new MappingStart());
            yaml.Emit(new Scalar("keys"));
            yaml.Emit(new SequenceStart(null, null, isImplicit: true, SequenceStyle.Block));
            foreach (var key in keys) yaml.Emit(YamlBytes(key));
            yaml.Emit(new SequenceEnd());
            yaml.Emit(new MappingEnd());
        }),
        _ => keys.Count == 0 ? EmptyList : string.Join('\n', keys.Select(k => Encoding.UTF8.GetString(k))),
    };

    /// <summary>
    /// A monitor line for a person: its time (seconds since 1970, with microseconds, as the wire and Redis give it)
    /// shown as the time of day in `zone`, microseconds kept: `14:05:07.123456 [7 127.0.0.1:51234 pool-12] set k v`.
    /// A line that does not start with such a time is left as it is.
    /// </summary>
    public static string MonitorTime(string line, TimeZoneInfo zone)
    {
        var space = line.IndexOf(' ');
        if (space < 0 || line.IndexOf('.') is not (> 0 and var dot) || dot > space
            || !long.TryParse(line.AsSpan(0, dot), out var seconds) || space - dot != 7
            || !int.TryParse(line.AsSpan(dot + 1, 6), out var micros)) return line;
        var time = TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeSeconds(seconds), zone);
        return $"{time:HH:mm:ss}.{micros:D6}{line[space..]}";
    }

    /// <summary>
    /// One message a subscriber received, for a stream a script reads a line at a time: JSON on one line (JSON Lines),
    /// an XML element on one line, a YAML document (`---` first), each written by its library.
    /// </summary>
    public static string Message(OutputFormat format, string channel, string message) =>
        Message(format, Encoding.UTF8.GetBytes(channel), Encoding.UTF8.GetBytes(message));

    public static string Message(OutputFormat format, byte[] channel, byte[] message) => format switch
    {
        OutputFormat.Xml => XmlMessage(channel, message).ToString(SaveOptions.DisableFormatting),
        OutputFormat.Json => WriteJson(json =>
        {
            json.WriteStartObject();
            JsonBytes(json, "channel", channel);
            JsonBytes(json, "message", message);
            json.WriteEndObject();
        }, indented: false),
        OutputFormat.Yaml => "---\n" + WriteYaml(yaml =>
        {
            yaml.Emit(new MappingStart());
            YamlPair(yaml, "channel", channel);
            YamlPair(yaml, "message", message);
            yaml.Emit(new MappingEnd());
        }),
        _ => $"{Encoding.UTF8.GetString(channel)} {Encoding.UTF8.GetString(message)}",
    };

    /// <summary>
    /// `stats`: a name a line, the values in one column; in a format, numbers stay numbers (JSON, YAML).
    /// </summary>
    public static string Stats(OutputFormat format, IReadOnlyList<Stat> stats) => format switch
    {
        OutputFormat.Xml => WriteXml(new XElement("stats", stats.Select(s => XmlText(s.Name, s.Value)))),
        OutputFormat.Json => WriteJson(json =>
        {
            json.WriteStartObject();
            foreach (var stat in stats)
                if (long.TryParse(stat.Value, out var number)) json.WriteNumber(stat.Name, number);
                else json.WriteString(stat.Name, stat.Value);
            json.WriteEndObject();
        }),
        OutputFormat.Yaml => WriteYaml(yaml =>
        {
            yaml.Emit(new MappingStart());
            foreach (var stat in stats)
            {
                yaml.Emit(new Scalar(stat.Name));
                yaml.Emit(long.TryParse(stat.Value, out _) ? new Scalar(stat.Value) : YamlString(stat.Value));
            }
            yaml.Emit(new MappingEnd());
        }),
        _ => string.Join('\n', stats.Select(s => s.Name.PadRight(stats.Max(n => n.Name.Length) + 2) + s.Value)),
    };

    // XML: bytes that are not UTF-8, and text that XML 1.0 cannot hold (most control characters), are written as
    // base64, and say so. xml:space="preserve" tells every parser that leading, trailing or only whitespace is part of
    // a value (keys hold none).
    private static XElement XmlText(string name, string text, bool preserveSpace = false) =>
        XmlText(name, Encoding.UTF8.GetBytes(text), preserveSpace);

    private static XElement XmlText(string name, byte[] bytes, bool preserveSpace = false)
    {
        if (!IsXmlText(bytes))
            return new XElement(name, new XAttribute("encoding", "base64"), Convert.ToBase64String(bytes));
        var text = Encoding.UTF8.GetString(bytes);
        return preserveSpace ? new XElement(name, new XAttribute(XNamespace.Xml + "space", "preserve"), text)
            : new XElement(name, text);
    }

    private static bool IsXmlText(byte[] bytes)
    {
        if (!System.Text.Unicode.Utf8.IsValid(bytes)) return false;
        try
        {
            XmlConvert.VerifyXmlChars(Encoding.UTF8.GetString(bytes));
            return true;
        }
        catch (XmlException)
        {
            return false;
        }
    }

    /// <summary>`<message channel="c">text</message>`; a channel that is not XML text as `channel-base64`.</summary>
    private static XElement XmlMessage(byte[] channel, byte[] message)
    {
        var element = XmlText("message", message);
        element.Add(IsXmlText(channel) ? new XAttribute("channel", Encoding.UTF8.GetString(channel))
            : new XAttribute("channel-base64", Convert.ToBase64String(channel)));
        return element;
    }

    /// <summary>JSON: a string, or `{"base64": "..."}` where the bytes are not UTF-8.</summary>
    private static void JsonBytes(Utf8JsonWriter json, string? name, byte[] bytes)
    {
        if (name is not null) json.WritePropertyName(name);
        if (System.Text.Unicode.Utf8.IsValid(bytes))
        {
            json.WriteStringValue(Encoding.UTF8.GetString(bytes));
            return;
        }
        json.WriteStartObject();
        json.WriteString("base64", Convert.ToBase64String(bytes));
        json.WriteEndObject();
    }

    private static string WriteXml(XElement root)
    {
        var settings = new XmlWriterSettings { Indent = true, OmitXmlDeclaration = true,
            NewLineHandling = NewLineHandling.Entitize };
        var text = new StringBuilder();
        using (var writer = XmlWriter.Create(text, settings)) root.WriteTo(writer);
        return text.ToString();
    }

    private static readonly JsonWriterOptions JsonOptions = new() { Indented = true,
        Encoder = ReadableJsonEncoder.Instance };

    /// <summary>
    /// JSON that a person can read: only what JSON itself requires is escaped (quote, backslash, control
    /// characters) and the line separators JavaScript trips on. The library's relaxed encoder would also escape
    /// every emoji as a `\uD83D\uDE00` pair. The pointer signatures are the ones JavaScriptEncoder requires;
    /// the escaping itself is still the library's.
    /// </summary>
    private sealed class ReadableJsonEncoder : JavaScriptEncoder
    {
        public static readonly ReadableJsonEncoder Instance = new();
        private static readonly JavaScriptEncoder Escaper = UnsafeRelaxedJsonEscaping;

        public override int MaxOutputCharactersPerInputCharacter => Escaper.MaxOutputCharactersPerInputCharacter;

        public override bool WillEncode(int scalar) =>
            scalar < 0x20 || scalar is '"' or '\\' or 0x7F or 0x2028 or 0x2029 || (scalar >= 0xD800
                && scalar <= 0xDFFF);

        public override unsafe int FindFirstCharacterToEncode(char* text, int textLength)
        {
            var chars = new ReadOnlySpan<char>(text, textLength);
            for (var i = 0; i < chars.Length; i++)
            {
                if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1])) i++;
                else if (WillEncode(chars[i])) return i;
            }
            return -1;
        }

        public override unsafe bool TryEncodeUnicodeScalar(int scalar, char* buffer, int bufferLength,
            out int written) =>
            Escaper.TryEncodeUnicodeScalar(scalar, buffer, bufferLength, out written);
    }

    private static string WriteJson(Action<Utf8JsonWriter> write, bool indented = true)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, indented ? JsonOptions : JsonOptions with { Indented = false }))
            write(json);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string WriteYaml(Action<IEmitter> write)
    {
        var text = new StringWriter();
        var emitter = new Emitter(text);
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart(null, null, isImplicit: true));
        write(emitter);
        emitter.Emit(new DocumentEnd(isImplicit: true));
        emitter.Emit(new StreamEnd());
        return text.ToString().TrimEnd('\n');
    }

    private static void YamlPair(IEmitter yaml, string name, byte[] value)
    {
        yaml.Emit(new Scalar(name));
        yaml.Emit(YamlBytes(value));
    }

    /// <summary>YAML: a string, or YAML's own `!!binary` (base64) where the bytes are not UTF-8.</summary>
    private static Scalar YamlBytes(byte[] bytes) => System.Text.Unicode.Utf8.IsValid(bytes)
        ? YamlString(Encoding.UTF8.GetString(bytes))
        : new(null, "tag:yaml.org,2002:binary", Convert.ToBase64String(bytes), ScalarStyle.Plain,
            isPlainImplicit: false, isQuotedImplicit: false);

    /// <summary>
    /// Plain only for text no YAML reader could take for anything but a string (a letter first, then letters,
    /// digits, `_-./` and inner spaces, and not one of YAML 1.1's booleans or nulls); everything else is
    /// double-quoted, where YamlDotNet escapes what it must (an emoji becomes `\U0001F600`).
    /// </summary>
    private static Scalar YamlString(string value) =>
        new(null, null, value, IsPlainYamlWord(value) ? ScalarStyle.Plain : ScalarStyle.DoubleQuoted,
            isPlainImplicit: true, isQuotedImplicit: true);

    private static readonly FrozenSet<string> YamlReservedWords =
        new[] { "y", "n", "yes", "no", "on", "off", "true", "false",
            "null" }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    private static bool IsPlainYamlWord(string value) =>
        value.Length > 0 && char.IsLetter(value[0]) && !value.EndsWith(' ')
        && value.All(c => char.IsLetterOrDigit(c) || c is '_' or '-' or '.' or '/' or ' ')
        && !YamlReservedWords.Contains(value);
}
