// src/client/ReplyReader.cs: the other half of the reply codec. Reads the server's replies back into typed records,
// one whole reply at a time; the client and the tests include it, the server (which only writes) does not.

using System.Buffers;
using System.Collections.Immutable;
using System.IO.Pipelines;
using System.Text;

namespace KV;

/// <summary>
/// A reply as the client sees it. The server writes replies with ReplyWriter, straight into its output buffer.
/// </summary>
public abstract record Reply
{
    public sealed record Ok : Reply;
    public sealed record Pong : Reply;
    public sealed record Bye : Reply;
    public sealed record Value(string Text) : Reply;
    public sealed record Keys(ImmutableArray<string> Names) : Reply;
    public sealed record Help(ImmutableArray<string> Lines) : Reply;
    public sealed record Stats(ImmutableArray<Stat> Figures) : Reply;
    /// <summary>`ttl`'s answer: the seconds left, or null for a key without a deadline.</summary>
    public sealed record Ttl(long? Seconds) : Reply;
    /// <summary>`VALUES n` and its n values (`lrange`), each as the server wrote it (quoted where needed).</summary>
    public sealed record Values(ImmutableArray<string> Items) : Reply;
    /// <summary>`OK <n>`: subscribers a message reached, or channels subscribed.</summary>
    public sealed record Counted(int Count) : Reply;
    public sealed record Error(string Message) : Reply;
}

/// <summary>Reads replies, one whole reply at a time (KEYS, HELP and STATS bring their n lines with them).</summary>
public sealed class ReplyReader(PipeReader input)
{
    /// <summary>
    /// The longest reply line read: any value a server stored comes back whole (it came in a request line),
    /// while a stream that is not KV, or never sends a newline, cannot grow the client's memory forever.
    /// </summary>
    private const int MaxLineBytes = LineFraming.LongestLineBytes;

    /// <summary>The bytes of the line being read known to hold no LF (LineFraming.TryReadLine).</summary>
    private long searched;

    public async ValueTask<Reply> ReadAsync(CancellationToken cancellationToken = default)
    {
        var head = await ReadLineAsync(cancellationToken);
        return head switch
        {
            "OK" => new Reply.Ok(),
            _ when TryCount(head, "OK ", out var n) => new Reply.Counted(n),
            "PONG" => new Reply.Pong(),
            "BYE" => new Reply.Bye(),
            _ when head.StartsWith("VALUE ", StringComparison.Ordinal) => new Reply.Value(head["VALUE ".Length..]),
            "TTL none" => new Reply.Ttl(null),
            _ when head.StartsWith("TTL ", StringComparison.Ordinal) && long.TryParse(head.AsSpan("TTL ".Length),
                out var seconds) => new Reply.Ttl(seconds),
            _ when head.StartsWith("ERROR: ", StringComparison.Ordinal) => new Reply.Error(head["ERROR: ".Length..]),
            _ when TryCount(head, "KEYS ", out var n) => new Reply.Keys(await ReadLinesAsync(n, cancellationToken)),
            _ when TryCount(head, "VALUES ", out var n) =>
                new Reply.Values(await ReadLinesAsync(n, cancellationToken)),
            _ when TryCount(head, "HELP ", out var n) => new Reply.Help(await ReadLinesAsync(n, cancellationToken)),
            _ when TryCount(head, "STATS ", out var n) =>
                new Reply.Stats([.. (await ReadLinesAsync(n, cancellationToken)).Select(Figure)]),
            _ => throw new InvalidDataException($"unexpected reply from the server: " +
                $"'{Errors.Echo(Encoding.UTF8.GetBytes(head))}'"),
        };
    }

    /// <summary>A `stats` line: the name, one space, the value.</summary>
    private static Stat Figure(string line) =>
        line.Split(' ', 2) is [var name, var value] ? new(name, value) : new(line, "");

    private static bool TryCount(string head, string prefix, out int count)
    {
        count = 0;
        return head.StartsWith(prefix, StringComparison.Ordinal) && int.TryParse(head.AsSpan(prefix.Length),
            out count) && count >= 0;
    }

    private async ValueTask<ImmutableArray<string>> ReadLinesAsync(int count, CancellationToken cancellationToken)
    {
        var lines = ImmutableArray.CreateBuilder<string>(count);
        for (var i = 0; i < count; i++) lines.Add(await ReadLineAsync(cancellationToken));
        return lines.MoveToImmutable();
    }

    /// <summary>
    /// One line, without its LF. Throws EndOfStreamException when the server has closed the connection.
    /// </summary>
    public async ValueTask<string> ReadLineAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (LineFraming.TryReadLine(ref buffer, out var line, ref searched))
            {
                var text = Encoding.UTF8.GetString(line);
                input.AdvanceTo(buffer.Start);
                return text;
            }
            var tooLong = buffer.Length > MaxLineBytes;
            input.AdvanceTo(buffer.Start, buffer.End);
            if (tooLong) throw new InvalidDataException($"a reply line is longer than {MaxLineBytes} bytes");
            if (result.IsCompleted) throw new EndOfStreamException("the server closed the connection");
        }
    }
}
