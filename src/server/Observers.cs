// src/server/Observers.cs: the core's plug point for watching requests. A feature (src/monitor) adds an observer,
// and every request served from then on, on either protocol, is described to it on the thread that serves it:
// when, by which client, on which thread, and its words.
//
// The cost falls on those who watch: a request reads one field (Anyone) and goes on when nobody observes; only
// when someone does is it copied into an ObservedRequest, long words cut short and passwords redacted by the
// protocol that read it.

namespace KV;

/// <summary>
/// Sees every request as it is served, from the thread serving it: it must not wait, or hold the request up.
/// </summary>
public interface IRequestObserver
{
    void Observe(ObservedRequest request);
}

/// <summary>
/// The observers now watching: an array replaced whole on each change, read by a request without a lock.
/// </summary>
public sealed class RequestObservers
{
    private readonly Lock changing = new();
    private volatile IRequestObserver[] observers = [];

    /// <summary>The one read a request makes when nobody observes.</summary>
    public bool Anyone => observers.Length > 0;

    public int Count => observers.Length;

    public void Publish(ObservedRequest request)
    {
        foreach (var observer in observers) observer.Observe(request);
    }

    /// <summary>Adds an observer unless `max` already watch: each one costs every request a copy.</summary>
    public bool TryAdd(IRequestObserver observer, int max)
    {
        lock (changing)
        {
            if (observers.Length >= max) return false;
            observers = [.. observers, observer];
            return true;
        }
    }

    public void Remove(IRequestObserver observer)
    {
        lock (changing) observers = [.. observers.Where(o => o != observer)];
    }
}

/// <summary>One word of a request as an observer sees it: at most MaxShownBytes of it, and its whole length.</summary>
public readonly record struct ObservedWord(byte[] Shown, int Length)
{
    public const int MaxShownBytes = 80;

    public bool Shortened => Shown.Length < Length;

    public static ObservedWord Of(ReadOnlySpan<byte> word)
    {
        if (word.Length <= MaxShownBytes) return new(word.ToArray(), word.Length);
        // Cut at a character's start, so that the shown part stays valid UTF-8.
        var cut = MaxShownBytes;
        while (cut > 0 && (word[cut] & 0xC0) == 0x80) cut--;
        return new(word[..cut].ToArray(), word.Length);
    }

    public static ObservedWord Redacted { get; } = new("(redacted)"u8.ToArray(), "(redacted)".Length);

    /// <summary>What a shortened word says after its shown part.</summary>
    public string Rest => Shortened ? $"... ({Length} bytes)" : "";
}

/// <summary>One request, as the observers see it.</summary>
/// <param name="Typed">Whether Words are a KV request line's words, one space apart as typed, or RESP's
/// arguments.</param>
public sealed record ObservedRequest(DateTimeOffset Time, long ClientId, string Address, string Thread, bool Typed,
    ObservedWord[] Words)
{
    /// <summary>What the request holds, roughly, for the clients' memory budget.</summary>
    public long Footprint { get; } = 128 + Address.Length + ShownBytes(Words);

    private static long ShownBytes(ObservedWord[] words)
    {
        var bytes = 0L;
        foreach (var word in words) bytes += word.Shown.Length + 32;
        return bytes;
    }

    private readonly byte[]?[] encoded = new byte[]?[2];

    /// <summary>
    /// The request in one of two encodings (a monitor's line in KV's protocol or in RESP's), made by the first
    /// observer to ask and shared by the others: eight monitors cost one encoding a request, not eight.
    /// </summary>
    public byte[] Encoded(int form, Func<ObservedRequest, byte[]> encode)
    {
        if (Volatile.Read(ref encoded[form]) is { } made) return made;
        var mine = encode(this);
        return Interlocked.CompareExchange(ref encoded[form], mine, null) ?? mine;
    }
}
