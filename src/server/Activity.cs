// src/server/Activity.cs: what the server counts while it serves, for `stats`, RESP's INFO and `redis-cli --stat`:
// requests (in all, and in the last second), connections accepted, refused and closed by a limit; the
// observers, who see every request as it is served (src/monitor's monitors); and the gate a request passes first
// (src/scripting's, while a script runs).
//
// Counting must not become the contention it would show: every request adds one, from every thread at once, so
// the count is striped, a cache line a core (one shared counter would bounce its line between the cores on
// every request). Reading it sums the stripes, which only `stats` and INFO do.

namespace KV;

public sealed class ServerActivity(TimeProvider time)
{
    private readonly StripedCounter requests = new();
    private long accepted, refused, closedByLimit, lastSecond;

    /// <summary>The clock of the monitor's lines and of the requests-a-second sample (tests may move it).</summary>
    public TimeProvider Time => time;

    /// <summary>
    /// Who sees every request as it is served (a feature's: monitor); one field read when nobody does.
    /// </summary>
    public RequestObservers Observers { get; } = new();

    /// <summary>
    /// What may hold every request back while it works (a feature's: a script), asked before each request runs; one
    /// field read when nothing is set.
    /// </summary>
    public IRequestGate? Gate { get; set; }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<Type, object> features = new();

    /// <summary>
    /// A feature's state for this server (src/pubsub's channels), made by `make` the first time it is asked.
    /// </summary>
    public T Feature<T>(Func<ServerActivity, T> make) where T : class =>
        (T)features.GetOrAdd(typeof(T), static (_, state) => state.make(state.activity), (make, activity: this));

    /// <summary>A feature's state if it has been made, else null (`stats` before the first script).</summary>
    public T? Existing<T>() where T : class => features.TryGetValue(typeof(T), out var state) ? (T)state : null;

    public void RequestServed() => requests.Increment();
    public void ConnectionAccepted() => Interlocked.Increment(ref accepted);
    public void ConnectionRefused() => Interlocked.Increment(ref refused);

    /// <summary>
    /// A connection ended by one of the server's bounds: a timeout, a line too long, a push queue that fell behind.
    /// </summary>
    public void ClosedByLimit() => Interlocked.Increment(ref closedByLimit);

    public long Requests => requests.Sum();
    public long Accepted => Volatile.Read(ref accepted);
    public long Refused => Volatile.Read(ref refused);
    public long ClosedByLimits => Volatile.Read(ref closedByLimit);

    /// <summary>The requests served in the last whole second (Sample's last tick).</summary>
    public long RequestsLastSecond => Volatile.Read(ref lastSecond);

    /// <summary>Once a second until stopped: the requests served since the tick before.</summary>
    public async Task SampleAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        var before = Requests;
        try
        {
            while (await timer.WaitForNextTickAsync(stopping))
            {
                var now = Requests;
                Volatile.Write(ref lastSecond, now - before);
                before = now;
            }
        }
        catch (OperationCanceledException) { }
    }
}

/// <summary>A count that many threads add to at once without sharing a cache line: a stripe for each core.</summary>
public sealed class StripedCounter
{
    // Eight longs are one 64-byte cache line: a stripe is the first long of its line.
    private const int LongsALine = 8;
    private readonly int mask;
    private readonly long[] cells;

    public StripedCounter()
    {
        var stripes = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Environment.ProcessorCount);
        mask = stripes - 1;
        // One line more, so that the first stripe does not share the array's header line.
        cells = new long[(stripes + 1) * LongsALine];
    }

    public void Increment()
    {
        var stripe = (Thread.GetCurrentProcessorId() & mask) + 1;
        Interlocked.Increment(ref cells[stripe * LongsALine]);
    }

    public long Sum()
    {
        var sum = 0L;
        for (var stripe = 0; stripe <= mask; stripe++) sum += Volatile.Read(ref cells[(stripe + 1) * LongsALine]);
        return sum;
    }
}

/// <summary>
/// A feature that runs long steps every other request must wait for (a script holding the store): asked before a
/// request runs, outside the store's lock.
/// </summary>
public interface IRequestGate
{
    /// <summary>
    /// Waits while such a step runs within its time limit; false when it has run past it (the request is refused,
    /// with Redis's BUSY, so that the client learns why and can stop it).
    /// </summary>
    bool Admit();
}
