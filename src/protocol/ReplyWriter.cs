// src/protocol/ReplyWriter.cs: the server's half of the reply codec: each reply of KV's protocol written straight
// into a connection's output buffer, a line at a time; src/client/ReplyReader.cs reads them back. Protocol.cs
// includes it, beside the command table whose Reply column it implements.

using System.Buffers;
using System.Text;

namespace KV;

/// <summary>One line of `stats`: a name (no spaces) and its value.</summary>
public sealed record Stat(string Name, string Value)
{
    public Stat(string name, long value)
        : this(name, value.ToString(System.Globalization.CultureInfo.InvariantCulture)) { }
}

/// <summary>
/// Writes each reply of the protocol into a buffer; the caller flushes once per batch. Every line ends in LF.
/// </summary>
public static class ReplyWriter
{
    public static void Ok(IBufferWriter<byte> output) => output.Write("OK\n"u8);
    public static void Pong(IBufferWriter<byte> output) => output.Write("PONG\n"u8);
    public static void Bye(IBufferWriter<byte> output) => output.Write("BYE\n"u8);

    /// <summary>`VALUE <value>`: the value as it is, or quoted where a line cannot hold it plainly.</summary>
    public static void Value(IBufferWriter<byte> output, ReadOnlySpan<byte> value)
    {
        if (!QuotedForm.IsPlainValue(value)) Quoted(output, "VALUE "u8, value);
        else LineFraming.WriteLine(output, "VALUE "u8, value);
    }
    public static void Error(IBufferWriter<byte> output, string message) => LineFraming.WriteLine(output, "ERROR: "u8,
        Encoding.UTF8.GetBytes(message));

    /// <summary>`KEYS n`: the head of a listing, whose n keys follow a line each (Key).</summary>
    public static void KeysHeader(IBufferWriter<byte> output, int count) => Count(output, "KEYS "u8, count);
    public static void Key(IBufferWriter<byte> output, ReadOnlySpan<byte> key)
    {
        if (!QuotedForm.IsPlainKey(key)) Quoted(output, default, key);
        else LineFraming.WriteLine(output, key);
    }

    private static void Quoted(IBufferWriter<byte> output, ReadOnlySpan<byte> head, ReadOnlySpan<byte> bytes)
    {
        output.Write(head);
        QuotedForm.Write(output, bytes);
        output.Write("\n"u8);
    }

    public static void Help(IBufferWriter<byte> output, IReadOnlyList<CommandSpec> commands)
    {
        Count(output, "HELP "u8, commands.Count);
        foreach (var command in commands) LineFraming.WriteLine(output, Encoding.UTF8.GetBytes(command.HelpLine));
    }

    /// <summary>`VALUES n`: the head of `lrange`'s reply, whose n values follow a line each, as ValueLine writes.
    /// </summary>
    public static void ValuesHeader(IBufferWriter<byte> output, int count) => Count(output, "VALUES "u8, count);

    /// <summary>One value of a VALUES reply: as it is, or quoted where a line cannot hold it plainly.</summary>
    public static void ValueLine(IBufferWriter<byte> output, ReadOnlySpan<byte> value)
    {
        if (!QuotedForm.IsPlainValue(value)) Quoted(output, default, value);
        else LineFraming.WriteLine(output, value);
    }

    /// <summary>`OK <n>`: an OK that counts (subscribers reached, channels subscribed).</summary>
    public static void Counted(IBufferWriter<byte> output, int count) => Count(output, "OK "u8, count);

    /// <summary>`TTL <seconds>`, or `TTL none` for a key without a deadline.</summary>
    public static void Ttl(IBufferWriter<byte> output, long? seconds) =>
        LineFraming.WriteLine(output, "TTL "u8,
            seconds is { } left
            ? Encoding.ASCII.GetBytes(left.ToString(System.Globalization.CultureInfo.InvariantCulture)) : "none"u8);

    /// <summary>`STATS n`, then n lines `name value`.</summary>
    public static void Stats(IBufferWriter<byte> output, IReadOnlyList<Stat> stats)
    {
        Count(output, "STATS "u8, stats.Count);
        foreach (var stat in stats) LineFraming.WriteLine(output, Encoding.UTF8.GetBytes(stat.Name), " "u8,
            Encoding.UTF8.GetBytes(stat.Value));
    }

    private static void Count(IBufferWriter<byte> output, ReadOnlySpan<byte> head, int count)
    {
        Span<byte> digits = stackalloc byte[11];
        count.TryFormat(digits, out var written);
        LineFraming.WriteLine(output, head, digits[..written]);
    }
}
