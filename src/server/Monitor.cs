// src/server/Monitor.cs: `monitor` and RESP's MONITOR: every request any client sends, on either protocol, shown to
// the clients that asked, as it is served: when, by which client, on which thread, and what it said.
//
// The cost falls on those who watch. A request reads one field (MonitorHub.Anyone) and goes on when nobody
// monitors; when someone does, it is copied into a MonitorEvent (long words cut short, passwords redacted) and
// queued for each monitor. A monitor is a client like any other: it answers `OK`, then its connection writes
// the queued lines out as its client takes them, and the lines waiting count against --max-client-memory.
// When they would not fit, the monitor is closed with an ERROR: it fell behind, and nobody else waits for it.
// The next request from the monitoring client (or its leaving) ends monitoring; that request is then answered.

using System.Buffers;
using System.Text;

namespace KV;

/// <summary>The monitors now watching: an array replaced whole on each change, so that a request reads it without a lock.</summary>
public sealed class MonitorHub
{
    /// <summary>
    /// The most monitors at once: every request is copied once for each, so a client that opened hundreds could slow
    /// every other client down by as many times; a few are enough to watch.
    /// </summary>
    public const int Max = 8;

    private readonly Lock changing = new();
    private volatile MonitorFeed[] feeds = [];

    /// <summary>The one read a request makes when nobody monitors.</summary>
    public bool Anyone => feeds.Length > 0;

    public int Count => feeds.Length;

    public void Publish(MonitorEvent request)
    {
        foreach (var feed in feeds) feed.Post(request);
    }

    internal bool TryAdd(MonitorFeed feed)
    {
        lock (changing)
        {
            if (feeds.Length >= Max) return false;
            feeds = [.. feeds, feed];
            return true;
        }
    }

    internal void Remove(MonitorFeed feed)
    {
        lock (changing) feeds = [.. feeds.Where(f => f != feed)];
    }
}

/// <summary>One word of a request as a monitor shows it: at most MaxShownBytes of it, and its whole length.</summary>
public readonly record struct MonitorWord(byte[] Shown, int Length)
{
    public const int MaxShownBytes = 80;

    public bool Shortened => Shown.Length < Length;

    public static MonitorWord Of(ReadOnlySpan<byte> word)
    {
        if (word.Length <= MaxShownBytes) return new(word.ToArray(), word.Length);
        // Cut at a character's start, so that the shown part stays valid UTF-8.
        var cut = MaxShownBytes;
        while (cut > 0 && (word[cut] & 0xC0) == 0x80) cut--;
        return new(word[..cut].ToArray(), word.Length);
    }

    public static MonitorWord Redacted { get; } = new("(redacted)"u8.ToArray(), "(redacted)".Length);

    /// <summary>What a shortened word says after its shown part.</summary>
    public string Rest => Shortened ? $"... ({Length} bytes)" : "";
}

/// <summary>One request, as the monitors see it.</summary>
/// <param name="Typed">Whether Words are a KV request line's words, one space apart as typed, or RESP's arguments.</param>
public sealed record MonitorEvent(DateTimeOffset Time, long ClientId, string Address, string Thread, bool Typed, MonitorWord[] Words)
{
    /// <summary>What the event holds, roughly, for the clients' memory budget.</summary>
    public long Footprint { get; } = 128 + Address.Length + Words.Sum(w => w.Shown.Length + 32L);

    /// <summary>Seconds since 1970 with microseconds, as Redis's MONITOR shows time.</summary>
    public string Timestamp
    {
        get
        {
            var micros = (Time - DateTimeOffset.UnixEpoch).Ticks / 10;
            return $"{micros / 1_000_000}.{micros % 1_000_000:D6}";
        }
    }

    /// <summary>
    /// KV's line: `1764489600.123456 [7 127.0.0.1:51234 pool-12] set k v`. A word is shown as it was sent when it
    /// is plain text, else quoted with Redis's escapes, so that no request can drive the reader's terminal.
    /// </summary>
    public string KvLine()
    {
        var line = new StringBuilder().Append(Timestamp).Append(" [").Append(ClientId).Append(' ').Append(Address).Append(' ').Append(Thread).Append("] ");
        AppendWords(line, quoted: false);
        return line.ToString();
    }

    /// <summary>The request's words one space apart: each quoted with Redis's escapes, or only those that are not plain text.</summary>
    public void AppendWords(StringBuilder line, bool quoted)
    {
        for (var i = 0; i < Words.Length; i++)
        {
            if (i > 0) line.Append(' ');
            var word = Words[i].Shown;
            // A KV request's value is the rest of its line, spaces and all; a RESP argument with a space is quoted.
            if (!quoted && IsPlain(word, spacesAllowed: Typed)) line.Append(Encoding.UTF8.GetString(word));
            else Quote(line, word);
            line.Append(Words[i].Rest);
        }
    }

    /// <summary>Text a terminal shows as it is: valid UTF-8, not empty, no control or format character, no leading quote.</summary>
    private static bool IsPlain(ReadOnlySpan<byte> word, bool spacesAllowed)
    {
        if (word.IsEmpty || word[0] == '"' || !System.Text.Unicode.Utf8.IsValid(word)) return false;
        while (!word.IsEmpty)
        {
            Rune.DecodeFromUtf8(word, out var rune, out var used);
            if (Rune.IsControl(rune) || (!spacesAllowed && rune.Value == ' ')
                || Rune.GetUnicodeCategory(rune) is System.Globalization.UnicodeCategory.Format or System.Globalization.UnicodeCategory.LineSeparator
                    or System.Globalization.UnicodeCategory.ParagraphSeparator) return false;
            word = word[used..];
        }
        return true;
    }

    /// <summary>Redis's quoting (sdscatrepr): printable ASCII as it is, `\"` `\\` `\n` `\r` `\t` `\a` `\b`, any other byte `\xHH`.</summary>
    public static void Quote(StringBuilder text, ReadOnlySpan<byte> bytes)
    {
        text.Append('"');
        foreach (var b in bytes)
        {
            switch (b)
            {
                case (byte)'\\': text.Append("\\\\"); break;
                case (byte)'"': text.Append("\\\""); break;
                case (byte)'\n': text.Append("\\n"); break;
                case (byte)'\r': text.Append("\\r"); break;
                case (byte)'\t': text.Append("\\t"); break;
                case 7: text.Append("\\a"); break;
                case 8: text.Append("\\b"); break;
                case >= 0x20 and < 0x7F: text.Append((char)b); break;
                default: text.Append("\\x").Append(b.ToString("x2")); break;
            }
        }
        text.Append('"');
    }
}

/// <summary>
/// One monitoring connection: its queue of requests (a PushQueue, posted to from every thread that serves one) and
/// the deferred reply that writes them out until its client speaks or leaves.
/// </summary>
/// <param name="writeOk">The protocol's OK, written once the monitor is admitted.</param>
public sealed class MonitorFeed(ServerActivity activity, Action<IBufferWriter<byte>> writeOk, Action<IBufferWriter<byte>, MonitorEvent> writeLine)
{
    private readonly PushQueue<MonitorEvent> queue = new(request => request.Footprint, writeLine, FellBehind, activity.ClosedByLimit);

    /// <summary>From any thread: the request, queued for this monitor (or the monitor closed when it fell behind).</summary>
    internal void Post(MonitorEvent request) => queue.Post(request);

    /// <summary>The monitor's deferred reply: `OK`, then lines until its client speaks or leaves, or it falls behind.</summary>
    public async ValueTask<string?> RunAsync(IReplyContext context)
    {
        queue.Open(context);
        if (!activity.Monitors.TryAdd(this))
        {
            context.WriteError(Errors.TooManyMonitors(MonitorHub.Max));
            return null;
        }
        writeOk(context.Output);
        try
        {
            return await queue.PumpAsync(context);
        }
        finally
        {
            activity.Monitors.Remove(this);
            queue.Close();
        }
    }

    public static string FellBehind(long bytes) =>
        $"monitor fell behind: {bytes} bytes of requests unsent did not fit in the clients' memory budget (--max-client-memory)";
}
