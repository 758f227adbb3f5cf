// Protocol.cs: everything the server, the client, the tests and the benchmark share.
//
// Every entry file starts with `#:include Protocol.cs`, so this file is the one place where
//   1. the command table lives (names, arguments, flags, usage, help, wire reply), and the error texts beside it;
//   2. a request line becomes a typed request or one precise `ERROR: ...` (RequestParser);
//   3. lines are framed (LineFraming) and replies are written and read (ReplyWriter, ReplyReader);
//   4. the data lives (KeyValueStore: one Dictionary, one lock);
//   5. values and key lists are rendered as XML, JSON or YAML by the real libraries (Formats).
// Nothing else lists the commands: the parser, `help`, the client and the tests all read the table.

#:property PublishAot=false
#:property Optimize=true
#:property Nullable=enable
#:property InvariantGlobalization=true
#:property AllowUnsafeBlocks=true
#:package YamlDotNet@18.1.0

using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Frozen;
using System.Collections.Immutable;
using System.IO.Pipelines;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using System.Xml;
using System.Xml.Linq;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace KV;

// ---------------------------------------------------------------------------------------------
// 1. The command table
// ---------------------------------------------------------------------------------------------

public enum CommandKind { Get, Set, Del, List, Ping, Help, Exit }

/// <summary>What may follow the command name on the line.</summary>
public enum ArgumentShape
{
    /// <summary>Nothing (a format flag aside, where the command takes one).</summary>
    None,
    /// <summary>One KEY.</summary>
    Key,
    /// <summary>One KEY, then everything after the next single space is the value, verbatim.</summary>
    KeyValue,
    /// <summary>Optionally the name of one command (for `help get`).</summary>
    OptionalCommand,
}

public enum OutputFormat { Plain, Xml, Json, Yaml }

/// <summary>One row of the command table.</summary>
/// <param name="Reply">The wire reply, documented here so the table is the protocol's reference.</param>
public sealed record CommandSpec(
    CommandKind Kind, string Name, ArgumentShape Arguments, bool TakesFormat, string Summary, string Reply)
{
    public ReadOnlyMemory<byte> NameUtf8 { get; } = Encoding.ASCII.GetBytes(Name);

    public string Usage => Name + Arguments switch
    {
        ArgumentShape.Key => " KEY",
        ArgumentShape.KeyValue => " KEY VALUE",
        ArgumentShape.OptionalCommand => " [COMMAND]",
        _ => "",
    } + (TakesFormat ? " [" + string.Join('|', FormatFlag.All.Select(f => f.Flag)) + "]" : "");

    public string HelpLine => $"{Usage,-30} {Summary}";
}

/// <summary>The flags that choose an output format, case-insensitive.</summary>
public sealed record FormatFlag(OutputFormat Format, string Flag)
{
    public static readonly ImmutableArray<FormatFlag> All =
    [
        new(OutputFormat.Xml, "--xml"),
        new(OutputFormat.Json, "--json"),
        new(OutputFormat.Yaml, "--yml"),
    ];

    public ReadOnlyMemory<byte> FlagUtf8 { get; } = Encoding.ASCII.GetBytes(Flag);
}

public static class Commands
{
    public static readonly ImmutableArray<CommandSpec> All =
    [
        new(CommandKind.Get, "get", ArgumentShape.Key, TakesFormat: true,
            "print the value stored at KEY (or as XML, JSON or YAML)",
            "VALUE <value>, or ERROR: key '<key>' not found"),
        new(CommandKind.Set, "set", ArgumentShape.KeyValue, TakesFormat: false,
            "store VALUE at KEY; VALUE is the rest of the line, verbatim",
            "OK"),
        new(CommandKind.Del, "del", ArgumentShape.Key, TakesFormat: false,
            "delete KEY and its value",
            "OK, or ERROR: key '<key>' not found"),
        new(CommandKind.List, "list", ArgumentShape.None, TakesFormat: true,
            "list every key, sorted (or as XML, JSON or YAML)",
            "KEYS <n>, then n lines with one key each"),
        new(CommandKind.Ping, "ping", ArgumentShape.None, TakesFormat: false,
            "check that the server answers",
            "PONG"),
        new(CommandKind.Help, "help", ArgumentShape.OptionalCommand, TakesFormat: false,
            "show every command, or one command",
            "HELP <n>, then n lines with one command each"),
        new(CommandKind.Exit, "exit", ArgumentShape.None, TakesFormat: false,
            "close the connection (the client then ends)",
            "BYE, then the server closes the connection"),
    ];

    public static CommandSpec? Find(ReadOnlySpan<byte> name)
    {
        foreach (var command in All)
            if (Ascii.EqualsIgnoreCase(name, command.NameUtf8.Span)) return command;
        return null;
    }

    public static CommandSpec Get(CommandKind kind) => All.First(c => c.Kind == kind);
}

/// <summary>Every error text of the protocol, beside the table that causes them. Without the "ERROR: " prefix.</summary>
public static class Errors
{
    public const int MaxKeyCharacters = 256;
    public const int MaxEchoedCharacters = 40;

    public static string UnknownCommand(ReadOnlySpan<byte> name) => $"unknown command '{Echo(name)}' (type 'help')";
    public static string WrongArguments(CommandSpec command) => $"wrong arguments for '{command.Name}' (usage: {command.Usage})";
    public const string LeadingSpace = "the line starts with a space (write the command first; type 'help')";
    public static string ExtraSpace(CommandSpec command) => $"unexpected extra space (one space separates each argument; usage: {command.Usage})";
    public static string UnknownFlag(CommandSpec command, ReadOnlySpan<byte> flag) =>
        $"unknown flag '{Echo(flag)}' for '{command.Name}' (usage: {command.Usage})";
    public static string FlagBeforeKey(CommandSpec command, ReadOnlySpan<byte> flag) =>
        $"a KEY must come before '{Echo(flag)}', and keys cannot start with '--' (usage: {command.Usage})";
    public static string KeyTooLong => $"the key is longer than {MaxKeyCharacters} characters";
    public const string KeyHasWhitespace = "the key contains whitespace or a control character";
    public const string InvalidUtf8 = "the request is not valid UTF-8";
    public static string NotFound(ReadOnlySpan<byte> key) => $"key '{Echo(key)}' not found";
    public static string LineTooLong(int maxBytes) => $"request line longer than {maxBytes} bytes";
    public static string TooManyClients(int max) => $"too many clients (max {max})";

    /// <summary>A piece of the user's input, made safe to print: shortened and with control characters shown as '?'.</summary>
    public static string Echo(ReadOnlySpan<byte> utf8)
    {
        var text = Encoding.UTF8.GetString(utf8);
        var shown = text.Length > MaxEchoedCharacters ? text[..MaxEchoedCharacters] + "..." : text;
        return string.Create(shown.Length, shown, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++) span[i] = char.IsControl(source[i]) ? '?' : source[i];
        });
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Parsing a request line
// ---------------------------------------------------------------------------------------------

/// <summary>
/// A request line, parsed without copying: Key and Value point into the line. Exactly one of three states:
/// blank (Command and Error both null), invalid (Error set), or valid (Command set).
/// </summary>
public readonly ref struct ParsedRequest
{
    public CommandSpec? Command { get; init; }
    public ReadOnlySpan<byte> Key { get; init; }
    public ReadOnlySpan<byte> Value { get; init; }
    public OutputFormat Format { get; init; }
    /// <summary>For `help COMMAND`: the command asked about.</summary>
    public CommandSpec? Topic { get; init; }
    public string? Error { get; init; }
}

public static class RequestParser
{
    /// <summary>Parses one line, without its LF or CRLF.</summary>
    public static ParsedRequest Parse(ReadOnlySpan<byte> line)
    {
        if (line.IndexOfAnyExcept((byte)' ', (byte)'\t') < 0) return default;
        if (!Utf8.IsValid(line)) return Invalid(Errors.InvalidUtf8);

        var nameEnd = line.IndexOf((byte)' ');
        var name = nameEnd < 0 ? line : line[..nameEnd];
        if (name.IsEmpty) return Invalid(Errors.LeadingSpace);
        var command = Commands.Find(name);
        if (command is null) return Invalid(Errors.UnknownCommand(name));
        if (nameEnd < 0) return command.Arguments is ArgumentShape.Key or ArgumentShape.KeyValue
            ? Invalid(Errors.WrongArguments(command))
            : new ParsedRequest { Command = command };

        var rest = line[(nameEnd + 1)..];
        return command.Arguments == ArgumentShape.KeyValue ? ParseKeyValue(command, rest) : ParseWords(command, rest);
    }

    /// <summary>`set KEY VALUE`: the value is everything after the space that ends the key.</summary>
    private static ParsedRequest ParseKeyValue(CommandSpec command, ReadOnlySpan<byte> rest)
    {
        var keyEnd = rest.IndexOf((byte)' ');
        if (keyEnd == 0) return Invalid(Errors.ExtraSpace(command));
        if (keyEnd < 0) return Invalid(Errors.WrongArguments(command));
        var key = rest[..keyEnd];
        if (KeyError(command, key) is { } error) return Invalid(error);
        return new ParsedRequest { Command = command, Key = key, Value = rest[(keyEnd + 1)..] };
    }

    /// <summary>Every other command: at most a KEY (or a COMMAND for help) and a format flag, one space apart.</summary>
    private static ParsedRequest ParseWords(CommandSpec command, ReadOnlySpan<byte> rest)
    {
        // Up to three words, so that a third one is seen as one too many.
        Span<Range> words = stackalloc Range[3];
        var count = 0;
        for (var start = 0; count < words.Length; count++)
        {
            var space = rest[start..].IndexOf((byte)' ');
            var end = space < 0 ? rest.Length : start + space;
            if (end == start) return Invalid(Errors.ExtraSpace(command));
            words[count] = start..end;
            if (space < 0) { count++; break; }
            start = end + 1;
        }
        if (count > 2) return Invalid(Errors.WrongArguments(command));

        var next = 0;
        ReadOnlySpan<byte> key = default;
        CommandSpec? topic = null;
        if (command.Arguments == ArgumentShape.Key)
        {
            key = rest[words[next++]];
            if (KeyError(command, key) is { } error) return Invalid(error);
        }
        else if (command.Arguments == ArgumentShape.OptionalCommand)
        {
            var wanted = rest[words[next++]];
            topic = Commands.Find(wanted);
            if (topic is null) return Invalid(Errors.UnknownCommand(wanted));
        }

        var format = OutputFormat.Plain;
        if (next < count)
        {
            var word = rest[words[next++]];
            if (!command.TakesFormat || !word.StartsWith("--"u8)) return Invalid(Errors.WrongArguments(command));
            if (ParseFlag(word) is not { } flag) return Invalid(Errors.UnknownFlag(command, word));
            format = flag;
        }
        if (next < count) return Invalid(Errors.WrongArguments(command));
        return new ParsedRequest { Command = command, Key = key, Format = format, Topic = topic };
    }

    private static OutputFormat? ParseFlag(ReadOnlySpan<byte> word)
    {
        foreach (var flag in FormatFlag.All)
            if (Ascii.EqualsIgnoreCase(word, flag.FlagUtf8.Span)) return flag.Format;
        return null;
    }

    /// <summary>A key is 1 to 256 characters, with no whitespace and no control character, and not a flag.</summary>
    private static string? KeyError(CommandSpec command, ReadOnlySpan<byte> key)
    {
        if (key.StartsWith("--"u8)) return Errors.FlagBeforeKey(command, key);
        var characters = 0;
        while (!key.IsEmpty)
        {
            Rune.DecodeFromUtf8(key, out var rune, out var consumed);
            if (Rune.IsWhiteSpace(rune) || Rune.IsControl(rune)) return Errors.KeyHasWhitespace;
            if (++characters > Errors.MaxKeyCharacters) return Errors.KeyTooLong;
            key = key[consumed..];
        }
        return null;
    }

    private static ParsedRequest Invalid(string error) => new() { Error = error };
}

/// <summary>A parsed request that owns its text: what the client and the tests hold on to.</summary>
public sealed record Request(CommandSpec Command, string? Key, string? Value, OutputFormat Format, CommandSpec? Topic)
{
    public static LineParse Parse(string line) => Parse(Encoding.UTF8.GetBytes(line));

    public static LineParse Parse(ReadOnlySpan<byte> line)
    {
        var parsed = RequestParser.Parse(line);
        if (parsed.Error is { } error) return new LineParse.Invalid(error);
        if (parsed.Command is not { } command) return new LineParse.Blank();
        return new LineParse.Valid(new Request(
            command,
            command.Arguments is ArgumentShape.Key or ArgumentShape.KeyValue ? Encoding.UTF8.GetString(parsed.Key) : null,
            command.Arguments == ArgumentShape.KeyValue ? Encoding.UTF8.GetString(parsed.Value) : null,
            parsed.Format,
            parsed.Topic));
    }
}

/// <summary>What one line of input is: nothing, a mistake, or a request.</summary>
public abstract record LineParse
{
    public sealed record Blank : LineParse;
    public sealed record Invalid(string Error) : LineParse;
    public sealed record Valid(Request Request) : LineParse;
}

// ---------------------------------------------------------------------------------------------
// 3. Framing and the wire codec
// ---------------------------------------------------------------------------------------------

public static class LineFraming
{
    /// <summary>Cuts the first LF-terminated line off the buffer, without its LF. False when no whole line is there yet.</summary>
    public static bool TryReadLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        var newline = buffer.PositionOf((byte)'\n');
        if (newline is not { } end)
        {
            line = default;
            return false;
        }
        line = buffer.Slice(0, end);
        buffer = buffer.Slice(buffer.GetPosition(1, end));
        return true;
    }

    /// <summary>Requests may end in CRLF; the CR is not part of the request.</summary>
    public static ReadOnlySpan<byte> TrimCarriageReturn(ReadOnlySpan<byte> line) =>
        line.EndsWith("\r"u8) ? line[..^1] : line;

    /// <summary>A request line copied out of the buffer, without its CR, for a reader that keeps it (the client).</summary>
    public static byte[] CopyRequest(ReadOnlySequence<byte> line) => TrimCarriageReturn(line.ToArray()).ToArray();
}

/// <summary>A reply as the client sees it. The server writes replies with ReplyWriter, straight into its output buffer.</summary>
public abstract record Reply
{
    public sealed record Ok : Reply;
    public sealed record Pong : Reply;
    public sealed record Bye : Reply;
    public sealed record Value(string Text) : Reply;
    public sealed record Keys(ImmutableArray<string> Names) : Reply;
    public sealed record Help(ImmutableArray<string> Lines) : Reply;
    public sealed record Error(string Message) : Reply;
}

/// <summary>Writes each reply of the protocol into a buffer; the caller flushes once per batch. Every line ends in LF.</summary>
public static class ReplyWriter
{
    public static void Ok(IBufferWriter<byte> output) => output.Write("OK\n"u8);
    public static void Pong(IBufferWriter<byte> output) => output.Write("PONG\n"u8);
    public static void Bye(IBufferWriter<byte> output) => output.Write("BYE\n"u8);
    public static void Value(IBufferWriter<byte> output, ReadOnlySpan<byte> value) => Line(output, "VALUE "u8, value);
    public static void Error(IBufferWriter<byte> output, string message) => Line(output, "ERROR: "u8, Encoding.UTF8.GetBytes(message));

    public static void Keys(IBufferWriter<byte> output, IReadOnlyList<ReadOnlyMemory<byte>> sortedKeys)
    {
        Count(output, "KEYS "u8, sortedKeys.Count);
        foreach (var key in sortedKeys) Line(output, default, key.Span);
    }

    public static void Help(IBufferWriter<byte> output, IReadOnlyList<CommandSpec> commands)
    {
        Count(output, "HELP "u8, commands.Count);
        foreach (var command in commands) Line(output, default, Encoding.UTF8.GetBytes(command.HelpLine));
    }

    private static void Count(IBufferWriter<byte> output, ReadOnlySpan<byte> head, int count)
    {
        Span<byte> digits = stackalloc byte[11];
        count.TryFormat(digits, out var written);
        Line(output, head, digits[..written]);
    }

    private static void Line(IBufferWriter<byte> output, ReadOnlySpan<byte> head, ReadOnlySpan<byte> body)
    {
        var length = head.Length + body.Length + 1;
        var span = output.GetSpan(length);
        head.CopyTo(span);
        body.CopyTo(span[head.Length..]);
        span[length - 1] = (byte)'\n';
        output.Advance(length);
    }
}

/// <summary>Reads replies, one whole reply at a time (KEYS and HELP bring their n lines with them).</summary>
public sealed class ReplyReader(PipeReader input, int maxLineBytes = ReplyReader.DefaultMaxLineBytes)
{
    public const int DefaultMaxLineBytes = 8 * 1024 * 1024;

    public async ValueTask<Reply> ReadAsync(CancellationToken cancellationToken = default)
    {
        var head = await ReadLineAsync(cancellationToken);
        return head switch
        {
            "OK" => new Reply.Ok(),
            "PONG" => new Reply.Pong(),
            "BYE" => new Reply.Bye(),
            _ when head.StartsWith("VALUE ", StringComparison.Ordinal) => new Reply.Value(head["VALUE ".Length..]),
            _ when head.StartsWith("ERROR: ", StringComparison.Ordinal) => new Reply.Error(head["ERROR: ".Length..]),
            _ when TryCount(head, "KEYS ", out var n) => new Reply.Keys(await ReadLinesAsync(n, cancellationToken)),
            _ when TryCount(head, "HELP ", out var n) => new Reply.Help(await ReadLinesAsync(n, cancellationToken)),
            _ => throw new InvalidDataException($"unexpected reply from the server: '{Errors.Echo(Encoding.UTF8.GetBytes(head))}'"),
        };
    }

    private static bool TryCount(string head, string prefix, out int count)
    {
        count = 0;
        return head.StartsWith(prefix, StringComparison.Ordinal) && int.TryParse(head.AsSpan(prefix.Length), out count) && count >= 0;
    }

    private async ValueTask<ImmutableArray<string>> ReadLinesAsync(int count, CancellationToken cancellationToken)
    {
        var lines = ImmutableArray.CreateBuilder<string>(count);
        for (var i = 0; i < count; i++) lines.Add(await ReadLineAsync(cancellationToken));
        return lines.MoveToImmutable();
    }

    /// <summary>One line, without its LF. Throws EndOfStreamException when the server has closed the connection.</summary>
    public async ValueTask<string> ReadLineAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (LineFraming.TryReadLine(ref buffer, out var line))
            {
                var text = Encoding.UTF8.GetString(line);
                input.AdvanceTo(buffer.Start);
                return text;
            }
            var tooLong = buffer.Length > maxLineBytes;
            input.AdvanceTo(buffer.Start, buffer.End);
            if (tooLong) throw new InvalidDataException($"a reply line is longer than {maxLineBytes} bytes");
            if (result.IsCompleted) throw new EndOfStreamException("the server closed the connection");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 4. The store
// ---------------------------------------------------------------------------------------------

/// <summary>
/// The data: one Dictionary guarded by one lock, with short critical sections: every allocation, copy and
/// sort happens outside it. Keys and values are UTF-8 bytes, what the wire carries (half the size of a .NET
/// string), so a `get` copies bytes straight into the reply; lookups take a span of the request line, so a
/// `get` allocates nothing.
///
/// Memory: each pair is ONE array, [key length: 2 bytes][key][value], stored as both the Dictionary's key and
/// its value. One object per pair instead of two saves an object header (24 bytes) per pair: a million 16-byte
/// keys with 100-byte values went from 261 MB to 238 MB of server RSS. The comparer looks at the key part only.
/// A pair is never changed once stored, so a reader may use it after the lock is released.
/// </summary>
public sealed class KeyValueStore
{
    private readonly Lock gate = new();
    private readonly Dictionary<byte[], byte[]> pairs;
    private readonly Dictionary<byte[], byte[]>.AlternateLookup<ReadOnlySpan<byte>> byKey;

    public KeyValueStore()
    {
        pairs = new Dictionary<byte[], byte[]>(KeyComparer.Instance);
        byKey = pairs.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    public int Count { get { lock (gate) return pairs.Count; } }

    public bool TryGet(ReadOnlySpan<byte> key, out ReadOnlyMemory<byte> value)
    {
        byte[]? pair;
        lock (gate) byKey.TryGetValue(key, out pair);
        value = pair is null ? default : Pair.Value(pair);
        return pair is not null;
    }

    public void Set(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var pair = Pair.Create(key, value);
        lock (gate)
        {
            // Remove first: the indexer would keep the old array as the key, and with it the old value.
            pairs.Remove(pair);
            pairs.Add(pair, pair);
        }
    }

    public bool Remove(ReadOnlySpan<byte> key)
    {
        lock (gate) return byKey.Remove(key);
    }

    /// <summary>Every key in byte (code point) order. Copies the references under the lock; sorts outside it.</summary>
    public ReadOnlyMemory<byte>[] SortedKeys()
    {
        byte[][] snapshot;
        lock (gate)
        {
            snapshot = new byte[pairs.Count][];
            pairs.Keys.CopyTo(snapshot, 0);
        }
        var keys = Array.ConvertAll(snapshot, Pair.Key);
        Array.Sort(keys, static (a, b) => a.Span.SequenceCompareTo(b.Span));
        return keys;
    }

    /// <summary>One stored pair: [key length, 2 bytes little-endian][key][value]. Keys are at most 1,024 bytes.</summary>
    private static class Pair
    {
        public static byte[] Create(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
        {
            var pair = GC.AllocateUninitializedArray<byte>(2 + key.Length + value.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(pair, checked((ushort)key.Length));
            key.CopyTo(pair.AsSpan(2));
            value.CopyTo(pair.AsSpan(2 + key.Length));
            return pair;
        }

        private static int KeyLength(byte[] pair) => BinaryPrimitives.ReadUInt16LittleEndian(pair);
        public static ReadOnlyMemory<byte> Key(byte[] pair) => pair.AsMemory(2, KeyLength(pair));
        public static ReadOnlySpan<byte> KeySpan(byte[] pair) => pair.AsSpan(2, KeyLength(pair));
        public static ReadOnlyMemory<byte> Value(byte[] pair) => pair.AsMemory(2 + KeyLength(pair));
    }

    /// <summary>Compares and hashes the key part of a pair, or a key alone (the span of a request line).</summary>
    private sealed class KeyComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly KeyComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => Pair.KeySpan(x!).SequenceEqual(Pair.KeySpan(y!));
        public int GetHashCode(byte[] pair) => GetHashCode(Pair.KeySpan(pair));
        public bool Equals(ReadOnlySpan<byte> key, byte[] pair) => key.SequenceEqual(Pair.KeySpan(pair));

        /// <summary>Only an add through the span lookup would call this, and the store never adds that way.</summary>
        public byte[] Create(ReadOnlySpan<byte> key) => Pair.Create(key, []);

        /// <summary>HashCode is seeded per process, so nobody can choose keys that all collide.</summary>
        public int GetHashCode(ReadOnlySpan<byte> key)
        {
            var hash = new HashCode();
            hash.AddBytes(key);
            return hash.ToHashCode();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Output formats
// ---------------------------------------------------------------------------------------------

/// <summary>
/// The client's output: plain text as the spec's table says, or XML, JSON or YAML written by the real library,
/// so that any parser reads back the exact strings.
/// </summary>
public static class Formats
{
    public const string EmptyList = "(empty list)";

    public static string Value(OutputFormat format, string key, string value) => format switch
    {
        OutputFormat.Xml => WriteXml(new XElement("entry", XmlText("key", key), XmlText("value", value, preserveSpace: true))),
        OutputFormat.Json => WriteJson(json =>
        {
            json.WriteStartObject();
            json.WriteString("key", key);
            json.WriteString("value", value);
            json.WriteEndObject();
        }),
        OutputFormat.Yaml => WriteYaml(yaml =>
        {
            yaml.Emit(new MappingStart());
            YamlPair(yaml, "key", key);
            YamlPair(yaml, "value", value);
            yaml.Emit(new MappingEnd());
        }),
        _ => value,
    };

    public static string Keys(OutputFormat format, IReadOnlyList<string> keys) => format switch
    {
        OutputFormat.Xml => WriteXml(new XElement("keys", keys.Select(k => XmlText("key", k)))),
        OutputFormat.Json => WriteJson(json =>
        {
            json.WriteStartObject();
            json.WriteStartArray("keys");
            foreach (var key in keys) json.WriteStringValue(key);
            json.WriteEndArray();
            json.WriteEndObject();
        }),
        OutputFormat.Yaml => WriteYaml(yaml =>
        {
            yaml.Emit(new MappingStart());
            yaml.Emit(new Scalar("keys"));
            yaml.Emit(new SequenceStart(null, null, isImplicit: true, SequenceStyle.Block));
            foreach (var key in keys) yaml.Emit(YamlString(key));
            yaml.Emit(new SequenceEnd());
            yaml.Emit(new MappingEnd());
        }),
        _ => keys.Count == 0 ? EmptyList : string.Join('\n', keys),
    };

    // XML: text that XML 1.0 cannot hold (most control characters) is written as base64, and says so.
    // xml:space="preserve" tells every parser that leading, trailing or only whitespace is part of a value (keys hold none).
    private static XElement XmlText(string name, string text, bool preserveSpace = false)
    {
        try
        {
            XmlConvert.VerifyXmlChars(text);
            return preserveSpace ? new XElement(name, new XAttribute(XNamespace.Xml + "space", "preserve"), text) : new XElement(name, text);
        }
        catch (XmlException)
        {
            return new XElement(name, new XAttribute("encoding", "base64"), Convert.ToBase64String(Encoding.UTF8.GetBytes(text)));
        }
    }

    private static string WriteXml(XElement root)
    {
        var settings = new XmlWriterSettings { Indent = true, OmitXmlDeclaration = true, NewLineHandling = NewLineHandling.Entitize };
        var text = new StringBuilder();
        using (var writer = XmlWriter.Create(text, settings)) root.WriteTo(writer);
        return text.ToString();
    }

    private static readonly JsonWriterOptions JsonOptions = new() { Indented = true, Encoder = ReadableJsonEncoder.Instance };

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
            scalar < 0x20 || scalar is '"' or '\\' or 0x7F or 0x2028 or 0x2029 || (scalar >= 0xD800 && scalar <= 0xDFFF);

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

        public override unsafe bool TryEncodeUnicodeScalar(int scalar, char* buffer, int bufferLength, out int written) =>
            Escaper.TryEncodeUnicodeScalar(scalar, buffer, bufferLength, out written);
    }

    private static string WriteJson(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, JsonOptions)) write(json);
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

    private static void YamlPair(IEmitter yaml, string name, string value)
    {
        yaml.Emit(new Scalar(name));
        yaml.Emit(YamlString(value));
    }

    /// <summary>
    /// Plain only for text no YAML reader could take for anything but a string (a letter first, then letters,
    /// digits, `_-./` and inner spaces, and not one of YAML 1.1's booleans or nulls); everything else is
    /// double-quoted, where YamlDotNet escapes what it must (an emoji becomes `\U0001F600`).
    /// </summary>
    private static Scalar YamlString(string value) =>
        new(null, null, value, IsPlainYamlWord(value) ? ScalarStyle.Plain : ScalarStyle.DoubleQuoted, isPlainImplicit: true, isQuotedImplicit: true);

    private static readonly FrozenSet<string> YamlReservedWords =
        new[] { "y", "n", "yes", "no", "on", "off", "true", "false", "null" }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    private static bool IsPlainYamlWord(string value) =>
        value.Length > 0 && char.IsLetter(value[0]) && !value.EndsWith(' ')
        && value.All(c => char.IsLetterOrDigit(c) || c is '_' or '-' or '.' or '/' or ' ')
        && !YamlReservedWords.Contains(value);
}
