// src/resp/RespFraming.cs: the Redis protocol's framing (RESP2, and RESP3's replies after HELLO 3), both ways:
// requests read as Redis's networking.c reads them, replies written as Redis writes them.
//
// A request that starts with `*` is an array of bulk strings, each prefixed with its length:
//     *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n
// so a value may hold any byte, and the parser never searches inside it. Anything else is an inline
// command, one line of words (`PING\r\n`, as redis-benchmark sends it), of at most 64 KiB as in Redis.
// Malformed framing is a `-ERR Protocol error: ...` and the end of the connection, as in Redis.

using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace KV;

public enum RespRead { Incomplete, Complete, Malformed }

public static class RespFraming
{
    /// <summary>
    /// The most elements a request array may have: enough for an HSET or ZADD of thousands of pairs, few enough that
    /// an unfinished request, read again from its start as each block arrives, costs little (Redis allows more).
    /// </summary>
    public const int MaxArguments = 65_536;

    /// <summary>
    /// The longest inline line, as Redis's PROTO_INLINE_MAX_SIZE: inline is for typing, and a line of quotes costs
    /// a copy to unquote; a client with a larger value sends it as a bulk string (up to --max-line-bytes).
    /// </summary>
    public const int MaxInlineBytes = 64 * 1024;

    /// <summary>
    /// The length line of an array or a bulk string (`*3`, `$5`) is short: a longer one is malformed.
    /// </summary>
    private const int MaxLengthLine = 32;

    /// <summary>
    /// Cuts the first request off the buffer into `arguments` (slices of the buffer, valid until it is advanced).
    /// An empty request (`*0`, a blank inline line) is Complete with no arguments. Malformed sets `error`
    /// to Redis's text, without the `ERR ` prefix.
    /// </summary>
    /// <param name="partial">Where an array that has not arrived whole was left, so that the next call goes on from
    /// there instead of cutting its first arguments again (a large request arrives in many reads; parsed from its
    /// start at each, it cost time quadratic in them). Null: every call starts over.</param>
    public static RespRead TryReadRequest(ref ReadOnlySequence<byte> buffer, List<ReadOnlySequence<byte>> arguments,
        int maxBulkBytes, out string? error, PartialArray? partial = null)
    {
        error = null;
        var reader = new SequenceReader<byte>(buffer);
        RespRead read;
        if (partial is not null && partial.ContinuesIn(buffer))
        {
            // The same unconsumed bytes, more of them: the arguments cut so far are slices of blocks still in place.
            reader.Advance(partial.Consumed);
            read = ReadElements(ref reader, arguments, partial.Count, maxBulkBytes, out error, out var consumed);
            partial.Left(read, buffer, partial.Count, consumed);
        }
        else
        {
            partial?.Forget();
            arguments.Clear();
            if (!reader.TryPeek(out var first)) return RespRead.Incomplete;
            read = first == (byte)'*'
                ? ReadArray(ref reader, arguments, maxBulkBytes, out error, partial)
                : ReadInline(ref reader, arguments, Math.Min(maxBulkBytes, MaxInlineBytes), out error);
        }
        if (read == RespRead.Complete) buffer = buffer.Slice(reader.Position);
        return read;
    }

    private static RespRead ReadArray(ref SequenceReader<byte> reader, List<ReadOnlySequence<byte>> arguments,
        int maxBulkBytes, out string? error, PartialArray? partial)
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
        var read = ReadElements(ref reader, arguments, (int)count, maxBulkBytes, out error, out var consumed);
        partial?.Left(read, reader.Sequence, (int)count, consumed);
        return read;
    }

    /// <summary>
    /// An array's bulk strings, from the one after those already in `arguments` to the `count`th; `consumed` is where
    /// the last whole one ends (from the buffer's start), where a next call goes on when this one is Incomplete.
    /// </summary>
    private static RespRead ReadElements(ref SequenceReader<byte> reader, List<ReadOnlySequence<byte>> arguments,
        int count, int maxBulkBytes, out string? error, out long consumed)
    {
        error = null;
        for (var i = arguments.Count; i < count; i++)
        {
            consumed = reader.Consumed;
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
        consumed = reader.Consumed;
        return RespRead.Complete;
    }

    /// <summary>
    /// A length line, `123\r\n` (the marker already read). Malformed when not a number or not ended by CRLF.
    /// </summary>
    private static RespRead ReadLength(ref SequenceReader<byte> reader, out long value)
    {
        value = 0;
        if (!reader.TryReadTo(out ReadOnlySequence<byte> line, (byte)'\n'))
            return reader.Remaining > MaxLengthLine ? RespRead.Malformed : RespRead.Incomplete;
        if (line.Length > MaxLengthLine || line.Length < 2) return RespRead.Malformed;
        Span<byte> digits = stackalloc byte[MaxLengthLine];
        line.CopyTo(digits);
        var text = digits[..(int)line.Length];
        // Redis reads lengths with string2ll: a sign may only be a minus.
        if (text[^1] != (byte)'\r' || text[0] == (byte)'+') return RespRead.Malformed;
        return Utf8Parser.TryParse(text[..^1], out value,
            out var used) && used == text.Length - 1 ? RespRead.Complete : RespRead.Malformed;
    }

    /// <summary>
    /// An inline command, ended by LF or CRLF: words separated by spaces or tabs, split as Redis's sdssplitargs
    /// splits them: "double quotes" with \n \r \t \b \a \\ \" and \xHH escapes, 'single quotes' with \' only;
    /// a closing quote must be followed by a space or the end of the line.
    /// </summary>
    private static RespRead ReadInline(ref SequenceReader<byte> reader, List<ReadOnlySequence<byte>> arguments,
        int maxLineBytes, out string? error)
    {
        error = null;
        if (!reader.TryReadTo(out ReadOnlySequence<byte> line, (byte)'\n'))
        {
            // The line's CR is not part of it: a line of exactly the limit may have it, and still wait for its LF.
            if (reader.Remaining <= maxLineBytes) return RespRead.Incomplete;
            if (reader.Remaining == maxLineBytes + 1L
                && reader.UnreadSequence.Slice(maxLineBytes).FirstSpan[0] == (byte)'\r') return RespRead.Incomplete;
            error = "Protocol error: too big inline request";
            return RespRead.Malformed;
        }
        line = LineFraming.WithoutCarriageReturn(line);
        if (line.Length > maxLineBytes)
        {
            error = "Protocol error: too big inline request";
            return RespRead.Malformed;
        }
        if (line.PositionOf((byte)'"') is null && line.PositionOf((byte)'\'') is null)
            return SplitPlain(line, arguments, out error);
        var text = line.ToArray();
        error = InlineWords.TrySplit(text, arguments, MaxArguments) switch
        {
            InlineSplit.Unbalanced => "Protocol error: unbalanced quotes in request",
            InlineSplit.TooMany => "Protocol error: invalid multibulk length",
            _ => null,
        };
        return error is null ? RespRead.Complete : RespRead.Malformed;
    }

    /// <summary>
    /// A line without quotes (what redis-benchmark and most typing send): its words are slices of the input, not
    /// copies.
    /// </summary>
    private static RespRead SplitPlain(ReadOnlySequence<byte> line, List<ReadOnlySequence<byte>> arguments,
        out string? error)
    {
        error = null;
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

/// <summary>
/// Redis's sdssplitargs, for an inline line with quotes: each word is unquoted into a buffer of its own.
/// </summary>
internal enum InlineSplit { Done, Unbalanced, TooMany }

internal static class InlineWords
{
    /// <summary>
    /// Splits the line into at most `maxWords`; past that it stops at once (a line may be all quotes).
    /// </summary>
    public static InlineSplit TrySplit(ReadOnlySpan<byte> line, List<ReadOnlySequence<byte>> arguments, int maxWords)
    {
        // Unquoting never makes a word longer: one scratch buffer of the line's length holds any word.
        var word = new byte[line.Length];
        var length = 0;
        var i = 0;
        while (true)
        {
            while (i < line.Length && IsSpace(line[i])) i++;
            if (i == line.Length) return InlineSplit.Done;
            if (arguments.Count == maxWords) return InlineSplit.TooMany;
            length = 0;
            byte quote = 0;
            while (true)
            {
                if (quote == 0)
                {
                    if (i == line.Length || IsSpace(line[i])) break;
                    if (line[i] is (byte)'"' or (byte)'\'') quote = line[i];
                    else word[length++] = line[i];
                    i++;
                    continue;
                }
                if (i == line.Length) return InlineSplit.Unbalanced;
                if (line[i] == quote)
                {
                    // A closing quote must be followed by a space or the end.
                    if (i + 1 < line.Length && !IsSpace(line[i + 1])) return InlineSplit.Unbalanced;
                    i++;
                    break;
                }
                if (line[i] == (byte)'\\' && i + 1 < line.Length)
                {
                    var next = line[i + 1];
                    if (quote == (byte)'\'')
                    {
                        if (next == (byte)'\'') { word[length++] = next; i += 2; continue; }
                    }
                    else if (next == (byte)'x' && i + 3 < line.Length && QuotedForm.IsHex(line[i + 2])
                        && QuotedForm.IsHex(line[i + 3]))
                    {
                        word[length++] = (byte)(QuotedForm.HexValue(line[i + 2]) * 16
                            + QuotedForm.HexValue(line[i + 3]));
                        i += 4;
                        continue;
                    }
                    else
                    {
                        word[length++] = next switch { (byte)'n' => (byte)'\n', (byte)'r' => (byte)'\r',
                            (byte)'t' => (byte)'\t', (byte)'b' => 8, (byte)'a' => 7, _ => next };
                        i += 2;
                        continue;
                    }
                }
                word[length++] = line[i++];
            }
            arguments.Add(new ReadOnlySequence<byte>(word.AsSpan(0, length).ToArray()));
        }
    }

    private static bool IsSpace(byte c) => c is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or 0x0b or 0x0c;
}

/// <summary>Writes RESP2 or RESP3 replies into the output buffer; constant replies are `u8` literals.</summary>
public static class RespReply
{
    public static void Ok(IBufferWriter<byte> output) => output.Write("+OK\r\n"u8);
    public static void Pong(IBufferWriter<byte> output) => output.Write("+PONG\r\n"u8);
    public static void Null(IBufferWriter<byte> output) => output.Write("$-1\r\n"u8);

    /// <summary>A missing value in the connection's protocol: RESP2's null bulk string, RESP3's null.</summary>
    public static void Null(IBufferWriter<byte> output,
        int protocol) => output.Write(protocol == 3 ? "_\r\n"u8 : "$-1\r\n"u8);

    /// <summary>No array at all (EXEC after a WATCHed key changed): RESP2's null array, RESP3's null.</summary>
    public static void NullArray(IBufferWriter<byte> output,
        int protocol) => output.Write(protocol == 3 ? "_\r\n"u8 : "*-1\r\n"u8);

    /// <summary>A map of `pairs` names and values: RESP3's `%`, or RESP2's flat array of twice as many.</summary>
    public static void MapHeader(IBufferWriter<byte> output, int pairs, int protocol)
    {
        if (protocol == 3) Header(output, (byte)'%', pairs);
        else ArrayHeader(output, pairs * 2);
    }
    /// <summary>A set of `count` members: RESP3's `~`, or RESP2's array.</summary>
    public static void SetHeader(IBufferWriter<byte> output, int count, int protocol)
    {
        if (protocol >= 3) Header(output, (byte)'~', count);
        else ArrayHeader(output, count);
    }

    public static void EmptyArray(IBufferWriter<byte> output) => output.Write("*0\r\n"u8);

    /// <summary>
    /// `-ERR message` (or another prefix, as `-NOPROTO`); a CR or LF in it would end the reply early, so none is
    /// written.
    /// </summary>
    public static void Error(IBufferWriter<byte> output, string message, string prefix = "ERR")
    {
        var text = Encoding.UTF8.GetBytes($"-{prefix} {message.ReplaceLineEndings(" ")}\r\n");
        output.Write(text);
    }

    /// <summary>
    /// A simple reply of a text that carries its own code: `+status`, or `-CODE message` (a script's error); a CR or
    /// LF in it would end the reply early, so none is written.
    /// </summary>
    public static void Line(IBufferWriter<byte> output, char marker, string text) =>
        output.Write(Encoding.UTF8.GetBytes($"{marker}{text.ReplaceLineEndings(" ")}\r\n"));

    /// <summary>Redis's error for a subcommand of `command` it does not know, or given the wrong arguments.</summary>
    public static void UnknownSubcommand(IBufferWriter<byte> output, string subcommand, string command) =>
        Error(output, $"unknown subcommand or wrong number of arguments for '{subcommand}'. Try {command} HELP.");

    /// <summary>A HELP subcommand's answer, as Redis gives it: an array of status lines.</summary>
    public static void Help(IBufferWriter<byte> output, params string[] lines)
    {
        ArrayHeader(output, lines.Length);
        foreach (var line in lines) Line(output, '+', line);
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

    /// <summary>A type marker and a number, as every length and integer is written (`*3`, `%2`, `:7`).</summary>
    public static void Header(IBufferWriter<byte> output, byte marker, long value)
    {
        var span = output.GetSpan(24);
        span[0] = marker;
        Utf8Formatter.TryFormat(value, span[1..], out var written);
        span[1 + written] = (byte)'\r';
        span[2 + written] = (byte)'\n';
        output.Advance(3 + written);
    }
}

/// <summary>
/// An array request cut short by the end of what has arrived: how many elements it declared, and how far its whole
/// ones reach. Valid while the buffer starts where it did and has not shrunk (nothing of it consumed).
/// </summary>
public sealed class PartialArray
{
    private SequencePosition start;
    private long length;
    private bool active;

    public int Count { get; private set; }
    public long Consumed { get; private set; }

    public bool ContinuesIn(ReadOnlySequence<byte> buffer) =>
        active && buffer.Start.Equals(start) && buffer.Length >= length;

    public void Forget() => active = false;

    /// <summary>After a read: kept when it was Incomplete, forgotten otherwise.</summary>
    public void Left(RespRead read, ReadOnlySequence<byte> buffer, int count, long consumed)
    {
        active = read == RespRead.Incomplete;
        (start, length, Count, Consumed) = (buffer.Start, buffer.Length, count, consumed);
    }
}
