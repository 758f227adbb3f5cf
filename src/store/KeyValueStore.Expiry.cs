// src/store/KeyValueStore.Expiry.cs: the store's deadlines: give a key one (EXPIRE, `expire`), take it away
// (PERSIST), read it (TTL), and remove the keys whose time has come: at once when one is read (LocateLive), and in
// the background (ExpireActivelyAsync) for the keys nobody reads, a bounded batch per hold of the lock. A deadline
// counts against --max-memory as its pair does.

using System.Diagnostics;

namespace KV;

public sealed partial class KeyValueStore
{
    private static long DeadlineCost(int keyBytes) => keyBytes + Deadlines.OverheadBytes;

    /// <summary>Under the lock: removes up to `max` keys due at or before `now`; how many it removed.</summary>
    private int RemoveDue(long now, int max)
    {
        var removed = 0;
        while (removed < max && deadlines.TryPeekDue(now, out var key))
        {
            // A deadline always has its pair; were it ever alone, it goes too, so that this loop cannot spin on it.
            if (RemovePair(key) is null) deadlines.Remove(key);
            else Announce(KeyEventClass.Expired, "expired", key);
            removed++;
        }
        return removed;
    }

    /// <summary>
    /// Removes up to `max` keys whose time has come, in one hold of the lock, if the lock is free; how many it removed
    /// (0 when it is taken). The active cycle runs on a pool thread, which would otherwise wait out a long hold (an
    /// EXEC) beside the one serving it, and the pool readies only a few threads at once.
    /// </summary>
    public int RemoveExpired(int max)
    {
        if (unguarded) return RemoveDue(Now, max);
        if (!gate.TryEnter()) return 0;
        using (Entered()) return RemoveDue(Now, max);
    }

    /// <summary>
    /// Expiry's active half, for as long as the server runs: ten times a second, the keys whose time has come are
    /// removed, a batch per hold of the lock and at most a quarter of the tick's time, so that memory comes back
    /// though nobody reads them. (A read of an expired key removes it at once anyway: this is for the keys nobody
    /// asks for.)
    /// </summary>
    public async Task ExpireActivelyAsync(CancellationToken stopping)
    {
        const int Batch = 256;
        var tick = TimeSpan.FromMilliseconds(100);
        using var timer = new PeriodicTimer(tick);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping))
            {
                var started = Stopwatch.GetTimestamp();
                while (RemoveExpired(Batch) == Batch && Stopwatch.GetElapsedTime(started) < tick / 4) { }
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>
    /// Under the lock: the key's deadline is `deadline` (the pair is marked already), counted against the budget when
    /// new.
    /// </summary>
    private void ChargeDeadline(ReadOnlySpan<byte> key, long deadline)
    {
        Changed(key);
        if (deadlines.Set(key, deadline)) accounted += DeadlineCost(key.Length);
    }

    private void ForgetDeadline(ReadOnlySpan<byte> key)
    {
        Changed(key);
        if (deadlines.Remove(key)) accounted -= DeadlineCost(key.Length);
    }

    /// <summary>
    /// Gives the key a deadline (ms since 1970) if `condition` allows: null when there is no such key, false when the
    /// condition stopped it, true when set. A deadline already past removes the key, as Redis's EXPIRE does.
    /// </summary>
    public bool? Expire(ReadOnlySpan<byte> key, long deadline, ExpireCondition condition = ExpireCondition.Always)
    {
        using (Hold())
        {
            var located = LocateLive(key);
            if (located < 0) return null;
            long? current = deadlines.TryGet(key, out var had) ? had : null;
            var allowed = condition switch
            {
                ExpireCondition.IfNone => current is null,
                ExpireCondition.IfSome => current is not null,
                ExpireCondition.IfLater => current is { } c && deadline > c,
                ExpireCondition.IfSooner => current is not { } c2 || deadline < c2,
                ExpireCondition.IfSomeAndSooner => current is { } c3 && deadline < c3,
                _ => true,
            };
            if (!allowed) return false;
            if (deadline <= Now)
            {
                RemovePair(key);
                Announce(KeyEventClass.Generic, "del", key);
                return true;
            }
            pairs.MarkDeadline(located, true);
            ChargeDeadline(key, deadline);
            Announce(KeyEventClass.Generic, "expire", key);
            return true;
        }
    }

    /// <summary>Removes the key's deadline: null when there is no such key, false when it had none.</summary>
    public bool? Persist(ReadOnlySpan<byte> key)
    {
        using (Hold())
        {
            var located = LocateLive(key);
            if (located < 0) return null;
            if (!pairs.At(located)!.Value.HasDeadline) return false;
            pairs.MarkDeadline(located, false);
            ForgetDeadline(key);
            Announce(KeyEventClass.Generic, "persist", key);
            return true;
        }
    }

    /// <summary>Whether the key exists, and its deadline (ms since 1970) when it has one.</summary>
    public (bool Found, long? Deadline) DeadlineOf(ReadOnlySpan<byte> key)
    {
        using (Hold())
        {
            if (LocateLive(key) < 0) return (false, null);
            return (true, deadlines.TryGet(key, out var deadline) ? deadline : null);
        }
    }
}
