// src/RespFraming.cs: the Redis protocol's framing (RESP2), both ways: requests read as Redis's
// networking.c reads them, replies written as Redis writes them.
//
// A request that starts with `*` is an array of bulk strings, each prefixed with its length:
//     *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n
// so a value may hold any byte, and the parser never searches inside it. Anything else is an inline
// command, one line of words (`PING\r\n`, as redis-benchmark sends it). Malformed framing is a
// `-ERR Protocol error: ...` and the end of the connection, as in Redis.

using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace KV;

public enum RespRead { Incomplete, Complete, Malformed }

public static class RespFraming
{
    /// <summary>The most elements a request array may have (Redis allows far more; KV's commands need few).</summary>
    public const int MaxArguments = 1024;

    /// <summary>The length line of an array or a bulk string (`*3`, `$5`) is short: a longer one is malformed.</summary>
    private const int MaxLengthLine = 32;

    /// <summary>
    /// Cuts the first request off the buffer into `arguments` (slices of the buffer, valid until it is advanced).
    /// An empty request (`*0`, a blank inline line) is Complete with no arguments. Malformed sets `error`
    /// to Redis's text, without the `ERR ` prefix.
    /// </summary>
    public static RespRead TryReadRequest(ref ReadOnlySequence<byte> buffer, List<ReadOnlySequence<byte>> arguments, int maxBulkBytes, out string? error)
    {
        arguments.Clear();
        error = null;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryPeek(out var first)) return RespRead.Incomplete;
        var read = first == (byte)'*'
            ? ReadArray(ref reader, arguments, maxBulkBytes, out error)
            : ReadInline(ref reader, arguments, maxBulkBytes, out error);
        if (read == RespRead.Complete) buffer = buffer.Slice(reader.Position);
        return read;
    }

    private static RespRead ReadArray(ref SequenceReader<byte> reader, List<ReadOnlySequence<byte>> arguments, int maxBulkBytes, out string? error)
    {
        error = null;
        reader.Advance(1);
        var header = ReadLength(ref reader, out var count);
        if (header == RespRead.Incomplete) return RespRead.Incomplete;
        if (header == RespRead.Malformed || count > MaxArguments)
        {
            error = "Protocol error: invalid multibulk length";
            return RespRead.Malformed;
        }
        for (var i = 0; i < count; i++)
        {
            if (!reader.TryPeek(out var marker)) return RespRead.Incomplete;
            if (marker != (byte)'$')
            {
                error = $"Protocol error: expected '$', got '{Errors.Echo([marker])}'";
                return RespRead.Malformed;
            }
            reader.Advance(1);
            var bulk = ReadLength(ref reader, out var length);
            if (bulk == RespRead.Incomplete) return RespRead.Incomplete;
            if (bulk == RespRead.Malformed || length < 0 || length > maxBulkBytes)
            {
                error = "Protocol error: invalid bulk length";
                return RespRead.Malformed;
            }
            if (reader.Remaining < length + 2) return RespRead.Incomplete;
            arguments.Add(reader.UnreadSequence.Slice(0, length));
            reader.Advance(length);
            if (!reader.IsNext("\r\n"u8, advancePast: true))
            {
                error = "Protocol error: expected CRLF after a bulk string";
                return RespRead.Malformed;
            }
        }
        return RespRead.Complete;
    }

    /// <summary>A length line, `123\r\n` (the marker already read). Malformed when not a number or not ended by CRLF.</summary>
    private static RespRead ReadLength(ref SequenceReader<byte> reader, out long value)
    {
        value = 0;
        if (!reader.TryReadTo(out ReadOnlySequence<byte> line, (byte)'\n'))
            return reader.Remaining > MaxLengthLine ? RespRead.Malformed : RespRead.Incomplete;
        if (line.Length > MaxLengthLine || line.Length < 2) return RespRead.Malformed;
        Span<byte> digits = stackalloc byte[MaxLengthLine];
        line.CopyTo(digits);
        var text = digits[..(int)line.Length];
        if (text[^1] != (byte)'\r') return RespRead.Malformed;
        return Utf8Parser.TryParse(text[..^1], out value, out var used) && used == text.Length - 1 ? RespRead.Complete : RespRead.Malformed;
    }

    /// <summary>An inline command: words separated by spaces or tabs, ended by LF or CRLF.</summary>
    private static RespRead ReadInline(ref SequenceReader<byte> reader, List<ReadOnlySequence<byte>> arguments, int maxLineBytes, out string? error)
    {
        error = null;
        if (!reader.TryReadTo(out ReadOnlySequence<byte> line, (byte)'\n'))
        {
            if (reader.Remaining <= maxLineBytes) return RespRead.Incomplete;
            error = "Protocol error: too big inline request";
            return RespRead.Malformed;
        }
        if (line.Length > maxLineBytes)
        {
            error = "Protocol error: too big inline request";
            return RespRead.Malformed;
        }
        line = LineFraming.WithoutCarriageReturn(line);
        var words = new SequenceReader<byte>(line);
        while (!words.End)
        {
            words.AdvancePastAny((byte)' ', (byte)'\t');
            if (words.End) break;
            var start = words.Position;
            if (!words.TryAdvanceToAny(" \t"u8, advancePastDelimiter: false)) words.AdvanceToEnd();
            arguments.Add(line.Slice(start, words.Position));
            if (arguments.Count > MaxArguments)
            {
                error = "Protocol error: invalid multibulk length";
                return RespRead.Malformed;
            }
        }
        return RespRead.Complete;
    }
}

/// <summary>Writes RESP2 replies into the output buffer; constant replies are `u8` literals.</summary>
public static class RespReply
{
    public static void Ok(IBufferWriter<byte> output) => output.Write("+OK\r\n"u8);
    public static void Pong(IBufferWriter<byte> output) => output.Write("+PONG\r\n"u8);
    public static void Null(IBufferWriter<byte> output) => output.Write("$-1\r\n"u8);
    public static void EmptyArray(IBufferWriter<byte> output) => output.Write("*0\r\n"u8);

    /// <summary>`-ERR message` (or another prefix, as `-NOPROTO`); a CR or LF in it would end the reply early, so none is written.</summary>
    public static void Error(IBufferWriter<byte> output, string message, string prefix = "ERR")
    {
        var text = Encoding.UTF8.GetBytes($"-{prefix} {message.ReplaceLineEndings(" ")}\r\n");
        output.Write(text);
    }

    public static void Integer(IBufferWriter<byte> output, long value) => Header(output, (byte)':', value);
    public static void ArrayHeader(IBufferWriter<byte> output, int count) => Header(output, (byte)'*', count);

    public static void Bulk(IBufferWriter<byte> output, ReadOnlySpan<byte> value)
    {
        Header(output, (byte)'$', value.Length);
        output.Write(value);
        output.Write("\r\n"u8);
    }

    public static void Bulk(IBufferWriter<byte> output, ReadOnlySequence<byte> value)
    {
        Header(output, (byte)'$', value.Length);
        foreach (var segment in value) output.Write(segment.Span);
        output.Write("\r\n"u8);
    }

    public static void Bulk(IBufferWriter<byte> output, string value) => Bulk(output, Encoding.UTF8.GetBytes(value));

    private static void Header(IBufferWriter<byte> output, byte marker, long value)
    {
        var span = output.GetSpan(24);
        span[0] = marker;
        Utf8Formatter.TryFormat(value, span[1..], out var written);
        span[1 + written] = (byte)'\r';
        span[2 + written] = (byte)'\n';
        output.Advance(3 + written);
    }
}
