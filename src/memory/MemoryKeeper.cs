// src/memory/MemoryKeeper.cs: gives memory back to the machine after a burst, so that the server's resident size
// follows what it holds now, not the most it ever held.
//
// What clients make the server hold (their buffers, a listing's keys) and what the store drops (slabs emptied
// by deletes and compaction) becomes garbage in the GC's oldest generation, which it collects only now and
// then, and whose memory it keeps committed for reuse; the buffer pool keeps returned blocks for the next
// reads. Left alone, the resident size stays near its peak for minutes. So, once a second, the keeper looks
// at the resident size beyond what the server knows it holds (clients' buffers and listings, the store's
// slabs): the runtime's own, and garbage. The store growing grows both alike; garbage, or clients leaving,
// grows only the difference. When it has grown well past its least since the last collection, and still has a
// second later, the pool gives back what it keeps beyond a small reserve, and one full, compacting collection
// returns the rest to the machine. The collection pauses the server for as long as it takes (tens of
// milliseconds for hundreds of megabytes: it is logged), so it happens only after such a change, and never
// more often than every few seconds.

using System.Diagnostics;

namespace KV;

/// <param name="held">What the server knows it holds: the clients' memory and the store's slabs.</param>
/// <param name="trim">Gives back what the server keeps for reuse beyond `bytes` (its buffer pool).</param>
/// <param name="resident">The process's resident size (Environment.WorkingSet; a test gives its own, with its own
/// clock).</param>
public sealed class MemoryKeeper(Func<long> held, Action<long> trim, Action<string> log, Func<long>? resident = null,
    TimeProvider? time = null)
{
    private readonly Func<long> residentSize = resident ?? (() => Environment.WorkingSet);
    private readonly TimeProvider clock = time ?? TimeProvider.System;

    /// <summary>The growth of the resident size beyond what is held that calls for a collection.</summary>
    public const long ChangeBytes = 64L << 20;

    /// <summary>What the pool keeps after a collection, for the reads of the next moment.</summary>
    public const long PoolReserveBytes = 4L << 20;

    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1), Spacing = TimeSpan.FromSeconds(5);

    private long baseline = long.MaxValue;
    private long lastCollection = long.MinValue;
    private bool seenLastTime;

    public async Task RunAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(Interval, clock);
        // The first measure at once, as the server starts: a burst in its first second (clients that connect at
        // the start line) would otherwise be taken for the server's own size, and never given back.
        Look();
        try
        {
            while (await timer.WaitForNextTickAsync(stopping)) Look();
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>
    /// One look: collect when the resident size beyond what is held has grown by ChangeBytes, two looks running.
    /// </summary>
    public void Look()
    {
        var resident = residentSize();
        var beyondHeld = resident - held();
        baseline = Math.Min(baseline, beyondHeld);
        var changed = beyondHeld - baseline >= ChangeBytes;
        // Twice running: what was let go a moment ago (a closing connection's buffers) has gone back by then.
        var settled = changed && seenLastTime;
        seenLastTime = changed;
        if (!settled || (lastCollection != long.MinValue && clock.GetElapsedTime(lastCollection) < Spacing)) return;
        baseline = Collect(resident) - held();
        seenLastTime = false;
    }

    /// <summary>Trims the pool and collects everything, compacting; returns the resident size after.</summary>
    public long Collect(long before)
    {
        var started = Stopwatch.GetTimestamp();
        trim(PoolReserveBytes);
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        lastCollection = clock.GetTimestamp();
        var after = residentSize();
        log($"memory returned: resident {before >> 20} MB to {after >> 20} MB (a full collection, " +
            $"{Stopwatch.GetElapsedTime(started).TotalMilliseconds:0} ms)");
        return after;
    }
}
