// src/protocol/LineFraming.cs: where one line ends, in both directions, for every KV program: the server cuts
// requests off its input with it, the client and the benchmark cut replies off theirs, and every line written
// goes through WriteLine. Protocol.cs includes it: framing is part of the protocol every program shares.

using System.Buffers;

namespace KV;

/// <summary>
/// Where one line ends, in both directions: a line is any bytes up to LF; a request may end in CRLF, and its CR
/// is not part of it. Every program reads and writes lines through here.
/// </summary>
public static class LineFraming
{
    /// <summary>The longest line any KV program will hold: the ceiling of the server's --max-line-bytes.</summary>
    public const int LongestLineBytes = 256 * 1024 * 1024;

    /// <summary>
    /// Cuts the first LF-terminated line off the buffer, without its LF. False when no whole line is there yet.
    /// </summary>
    public static bool TryReadLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        long searched = 0;
        return TryReadLine(ref buffer, out line, ref searched);
    }

    /// <summary>
    /// The same, for a buffer read again from the same start with more bytes after it (a connection's input, until a
    /// line is cut off): its first `searched` bytes are known to hold no LF, and the search goes on after them. So a
    /// long line that arrives in many reads costs time linear in its length; searched from its start at each read, it
    /// cost time quadratic in them (a 32 MB line: seconds). The caller keeps `searched`; it is 0 again after a line.
    /// </summary>
    public static bool TryReadLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line,
        ref long searched)
    {
        if (searched > buffer.Length) searched = 0;
        var newline = buffer.Slice(searched).PositionOf((byte)'\n');
        if (newline is not { } end)
        {
            searched = buffer.Length;
            line = default;
            return false;
        }
        searched = 0;
        line = buffer.Slice(0, end);
        buffer = buffer.Slice(buffer.GetPosition(1, end));
        return true;
    }

    /// <summary>
    /// Cuts the first request off the buffer, without its LF or CRLF. False when no whole line is there yet;
    /// `searched` as TryReadLine keeps it.
    /// </summary>
    public static bool TryReadRequest(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> request,
        ref long searched)
    {
        if (!TryReadLine(ref buffer, out var line, ref searched))
        {
            request = default;
            return false;
        }
        request = WithoutCarriageReturn(line);
        return true;
    }

    /// <summary>Cuts the first request off a buffer read once (the client's typed lines, a test's).</summary>
    public static bool TryReadRequest(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> request)
    {
        long searched = 0;
        return TryReadRequest(ref buffer, out request, ref searched);
    }

    /// <summary>Requests may end in CRLF (`nc -C`, telnet, Windows); the CR is not part of the request.</summary>
    public static ReadOnlySequence<byte> WithoutCarriageReturn(ReadOnlySequence<byte> line)
    {
        if (line.IsEmpty) return line;
        var last = line.IsSingleSegment ? line.FirstSpan[^1] : line.Slice(line.Length - 1).FirstSpan[0];
        return last == (byte)'\r' ? line.Slice(0, line.Length - 1) : line;
    }

    /// <summary>Writes one line, given in up to three pieces, and its LF, with one copy into the buffer.</summary>
    public static void WriteLine(IBufferWriter<byte> output, ReadOnlySpan<byte> first,
        ReadOnlySpan<byte> second = default, ReadOnlySpan<byte> third = default)
    {
        var length = first.Length + second.Length + third.Length + 1;
        var span = output.GetSpan(length);
        first.CopyTo(span);
        second.CopyTo(span[first.Length..]);
        third.CopyTo(span[(first.Length + second.Length)..]);
        span[length - 1] = (byte)'\n';
        output.Advance(length);
    }
}
