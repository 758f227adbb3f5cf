// src/monitor/MonitorFeed.cs: `monitor` and RESP's MONITOR: every request any client sends, on either protocol, shown
// to the clients that asked, as it is served: when, by which client, on which thread, and what it said.
//
// A monitor is one of the core's request observers (src/server/Observers.cs): a request that nobody watches
// costs one field read; when someone does, the request is described once and queued for each monitor
// (PushQueue). A monitor is a client like any other: it answers `OK`, then its connection writes
// the queued lines out as its client takes them, and the lines waiting count against --max-client-memory.
// When they would not fit, the monitor is closed with an ERROR: it fell behind, and nobody else waits for it.
// The next request from the monitoring client (or its leaving) ends monitoring; that request is then answered.

using System.Buffers;
using System.Globalization;
using System.Text;

namespace KV;

/// <summary>
/// A request as a monitor's line shows it, written as bytes straight into the line: a loaded server describes every
/// request it serves this way, so no text is built on the way.
/// </summary>
public static class MonitorLines
{
    /// <summary>Seconds since 1970 with microseconds, as Redis's MONITOR shows time.</summary>
    public static void WriteTimestamp(this ObservedRequest request, IBufferWriter<byte> line)
    {
        var micros = (request.Time - DateTimeOffset.UnixEpoch).Ticks / 10;
        var span = line.GetSpan(32);
        System.Text.Unicode.Utf8.TryWrite(span, CultureInfo.InvariantCulture,
            $"{micros / 1_000_000}.{micros % 1_000_000:D6}", out var written);
        line.Advance(written);
    }

    /// <summary>
    /// KV's line: `1764489600.123456 [7 127.0.0.1:51234 pool-12] set k v`. A word is shown as it was sent when it
    /// is plain text, else quoted with Redis's escapes, so that no request can drive the reader's terminal.
    /// </summary>
    public static void WriteKvLine(this ObservedRequest request, IBufferWriter<byte> line)
    {
        request.WriteTimestamp(line);
        line.Write(" ["u8);
        var span = line.GetSpan(24);
        request.ClientId.TryFormat(span, out var written, provider: CultureInfo.InvariantCulture);
        line.Advance(written);
        line.Write(" "u8);
        Text(line, request.Address);
        line.Write(" "u8);
        Text(line, request.Thread);
        line.Write("] "u8);
        request.WriteWords(line, quoted: false);
    }

    /// <summary>KV's line as text, without its end (the tests read it so).</summary>
    public static string KvLine(this ObservedRequest request)
    {
        var line = new ArrayBufferWriter<byte>();
        request.WriteKvLine(line);
        return Encoding.UTF8.GetString(line.WrittenSpan);
    }

    /// <summary>
    /// The request's words one space apart: each quoted with Redis's escapes, or only those that are not plain text.
    /// </summary>
    public static void WriteWords(this ObservedRequest request, IBufferWriter<byte> line, bool quoted)
    {
        var words = request.Words;
        for (var i = 0; i < words.Length; i++)
        {
            if (i > 0) line.Write(" "u8);
            var word = words[i].Shown;
            // A KV request's value (a last word after two) is the rest of its line, spaces and all; any other word
            // with a space was typed quoted, and a RESP argument with a space is quoted.
            var spacesAllowed = request.Typed && i >= 2 && i == words.Length - 1;
            if (!quoted && IsPlain(word, spacesAllowed)) line.Write(word);
            else QuotedForm.Write(line, word, asciiOnly: true);
            if (words[i].Shortened) Text(line, words[i].Rest);
        }
    }

    /// <summary>Text KV made itself (an address, a thread's label), as UTF-8.</summary>
    public static void Text(IBufferWriter<byte> line, string text) =>
        line.Advance(Encoding.UTF8.GetBytes(text, line.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length))));

    /// <summary>
    /// Text a terminal shows as it is: valid UTF-8, not empty, no control or format character, no leading quote.
    /// </summary>
    private static bool IsPlain(ReadOnlySpan<byte> word, bool spacesAllowed)
    {
        if (word.IsEmpty || word[0] == '"' || !System.Text.Unicode.Utf8.IsValid(word)) return false;
        while (!word.IsEmpty)
        {
            Rune.DecodeFromUtf8(word, out var rune, out var used);
            if (Rune.IsControl(rune) || (!spacesAllowed && rune.Value == ' ')
                || Rune.GetUnicodeCategory(rune) is UnicodeCategory.Format or UnicodeCategory.LineSeparator
                    or UnicodeCategory.ParagraphSeparator) return false;
            word = word[used..];
        }
        return true;
    }

    [ThreadStatic] private static ArrayBufferWriter<byte>? scratch;

    /// <summary>
    /// A line written once into this thread's scratch buffer and copied out at its size: the one allocation a line
    /// costs, shared by every monitor that shows it (ObservedRequest.Encoded).
    /// </summary>
    public static byte[] Encode(ObservedRequest request, Action<ObservedRequest, IBufferWriter<byte>> write)
    {
        var line = scratch ??= new ArrayBufferWriter<byte>(256);
        line.ResetWrittenCount();
        write(request, line);
        var bytes = line.WrittenSpan.ToArray();
        // A huge request (many words) leaves no large buffer behind on a thread that serves many.
        if (line.Capacity > 64 * 1024) scratch = null;
        return bytes;
    }
}

/// <summary>
/// One monitoring connection: its queue of requests (a PushQueue, posted to from every thread that serves one) and
/// the deferred reply that writes them out until its client speaks or leaves.
/// </summary>
/// <param name="writeOk">The protocol's OK, written once the monitor is admitted.</param>
public sealed class MonitorFeed(ServerActivity activity, Action<IBufferWriter<byte>> writeOk,
    Action<IBufferWriter<byte>, ObservedRequest> writeLine) : IRequestObserver
{
    /// <summary>
    /// The most monitors at once: every request is copied once for each, so a client that opened hundreds could slow
    /// every other client down by as many times; a few are enough to watch.
    /// </summary>
    public const int Max = 8;

    private readonly PushQueue<ObservedRequest> queue =
        new(request => request.Footprint, writeLine, FellBehind, activity.ClosedByLimit);

    /// <summary>
    /// From any thread: the request, queued for this monitor (or the monitor closed when it fell behind).
    /// </summary>
    public void Observe(ObservedRequest request) => queue.Post(request);

    /// <summary>
    /// The monitor's deferred reply: `OK`, then lines until its client speaks or leaves, or it falls behind.
    /// </summary>
    public async ValueTask<string?> RunAsync(IReplyContext context)
    {
        queue.Open(context);
        if (!activity.Observers.TryAdd(this, Max))
        {
            context.WriteError(Errors.TooManyMonitors(Max));
            return null;
        }
        writeOk(context.Output);
        try
        {
            return await queue.PumpAsync(context);
        }
        finally
        {
            activity.Observers.Remove(this);
            queue.Close();
        }
    }

    public static string FellBehind(long bytes) => $"monitor fell behind: {bytes} bytes of requests unsent did not fit "
        + "in the clients' memory budget (--max-client-memory)";
}
