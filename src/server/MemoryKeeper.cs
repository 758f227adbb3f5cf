// src/server/MemoryKeeper.cs: gives memory back to the machine after a burst, so that the server's resident size
// follows what it holds now, not the most it ever held.
//
// What clients make the server hold (their buffers, a listing's keys) and what the store drops (slabs emptied
// by deletes and compaction) becomes garbage in the GC's oldest generation, which it collects only now and
// then, and whose memory it keeps committed for reuse; the buffer pool keeps returned blocks for the next
// reads. Left alone, the resident size stays near its peak for minutes. So, once a second, the keeper looks
// at two things: the resident size, and what the server knows it holds (clients' buffers and listings, the
// store's slabs). When the first has grown well past where the last collection left it, or the second has
// fallen well below its peak since then (the clients have left, keys were deleted), and it still is a second
// later, the pool gives back what it keeps beyond a small reserve, and one full, compacting collection
// returns the rest to the machine. The collection pauses the server for as long as it takes (tens of
// milliseconds for hundreds of megabytes: it is logged), so it happens only after such a change, and never
// more often than every few seconds.

using System.Diagnostics;

namespace KV;

/// <param name="held">What the server knows it holds: the clients' memory and the store's slabs.</param>
/// <param name="trim">Gives back what the server keeps for reuse beyond `bytes` (its buffer pool).</param>
/// <param name="resident">The process's resident size (Environment.WorkingSet; a test gives its own, with its own clock).</param>
public sealed class MemoryKeeper(Func<long> held, Action<long> trim, Action<string> log, Func<long>? resident = null, TimeProvider? time = null)
{
    private readonly Func<long> residentSize = resident ?? (() => Environment.WorkingSet);
    private readonly TimeProvider clock = time ?? TimeProvider.System;

    /// <summary>The change, up in the resident size or down in what is held, that calls for a collection.</summary>
    public const long ChangeBytes = 64L << 20;

    /// <summary>What the pool keeps after a collection, for the reads of the next moment.</summary>
    public const long PoolReserveBytes = 4L << 20;

    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1), Spacing = TimeSpan.FromSeconds(5);

    private long baseline = long.MaxValue, heldPeak;
    private long lastCollection = long.MinValue;
    private bool seenLastTime;

    public async Task RunAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(Interval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping)) Look();
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>One look: collect when the resident size has grown, or what is held has fallen, by ChangeBytes, two looks running.</summary>
    public void Look()
    {
        var resident = residentSize();
        var holding = held();
        baseline = Math.Min(baseline, resident);
        heldPeak = Math.Max(heldPeak, holding);
        var changed = resident - baseline >= ChangeBytes || heldPeak - holding >= ChangeBytes;
        // Twice running: what was let go a moment ago (a closing connection's buffers) has gone back by then.
        var settled = changed && seenLastTime;
        seenLastTime = changed;
        if (!settled || (lastCollection != long.MinValue && clock.GetElapsedTime(lastCollection) < Spacing)) return;
        baseline = Collect(resident);
        heldPeak = held();
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
        log($"memory returned: resident {before >> 20} MB to {after >> 20} MB (a full collection, {Stopwatch.GetElapsedTime(started).TotalMilliseconds:0} ms)");
        return after;
    }
}
