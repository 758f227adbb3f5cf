// src/store/KeyValueStore.Compound.cs: the store's operations that read and write in one hold of its lock, beyond
// get, set and delete: take a value away (GETDEL), add to one (APPEND), move one (RENAME), set many at once (MSET,
// MSETNX), read one and change its deadline (GETEX), empty everything (FLUSHDB). Each is atomic for the same reason
// `incr` is: no other client's request can land between its read and its write.

namespace KV;

public enum RenameResult { Renamed, NoSuchKey, TargetExists, OutOfMemory }

public sealed partial class KeyValueStore
{
    /// <summary>The value, removed in the same step (GETDEL); null when there was none.</summary>
    public byte[]? Take(ReadOnlySpan<byte> key)
    {
        using (Hold())
        {
            if (pairs.At(LocateLive(key)) is not { } pair) return null;
            var value = pair.Value.ToArray();
            RemovePair(key);
            return value;
        }
    }

    /// <summary>The value with `suffix` after it (APPEND; a missing key counts as empty), keeping its deadline; its new length, or null when out of memory.</summary>
    public long? Append(ReadOnlySpan<byte> key, ReadOnlySpan<byte> suffix)
    {
        bool grew;
        long length;
        using (Hold())
        {
            var located = LocateLive(key);
            var existing = pairs.At(located);
            ReadOnlySpan<byte> old = existing is { } had ? had.Value.Span : default;
            var joined = new byte[old.Length + suffix.Length];
            old.CopyTo(joined);
            suffix.CopyTo(joined.AsSpan(old.Length));
            if (!TryStore(located, existing, key, joined, existing?.HasDeadline ?? false, out grew)) return null;
            length = joined.Length;
        }
        if (grew) ReleaseOldTable();
        return length;
    }

    /// <summary>Moves the value and its deadline to `target` (RENAME, RENAMENX when `onlyIfAbsent`), replacing what was there.</summary>
    public RenameResult Rename(ReadOnlySpan<byte> source, ReadOnlySpan<byte> target, bool onlyIfAbsent)
    {
        using (Hold())
        {
            if (pairs.At(LocateLive(source)) is not { } pair) return RenameResult.NoSuchKey;
            var targetAt = LocateLive(target);
            if (onlyIfAbsent && targetAt >= 0) return RenameResult.TargetExists;
            if (source.SequenceEqual(target)) return RenameResult.Renamed;
            var value = pair.Value.ToArray();
            long? deadline = deadlines.TryGet(source, out var at) ? at : null;
            // A longer name costs more: checked before anything moves, so that a refusal loses nothing.
            var needed = Cost(target.Length, value.Length) - Cost(pair) - (pairs.At(targetAt) is { } replaced ? Cost(replaced) : 0);
            if (maxBytes > 0 && needed > 0 && accounted + needed > maxBytes) return RenameResult.OutOfMemory;
            RemovePair(source);
            RemovePair(target);
            TryStore(pairs.Locate(target), null, target, value, deadline is not null, out _);
            if (deadline is { } moved) ChargeDeadline(target, moved);
            return RenameResult.Renamed;
        }
    }

    /// <summary>
    /// Sets every pair in one step (MSET), or none: when `onlyIfNoneExist` (MSETNX) and one of the keys exists, or when
    /// they would not all fit the budget. Each pair's deadline is cleared, as a plain set clears it.
    /// </summary>
    public SetResult SetMany(IReadOnlyList<(byte[] Key, byte[] Value)> pairsToSet, bool onlyIfNoneExist)
    {
        using (Hold())
        {
            if (onlyIfNoneExist && pairsToSet.Any(p => LocateLive(p.Key) >= 0)) return SetResult.ConditionFailed;
            var needed = pairsToSet.Sum(p => Cost(p.Key.Length, p.Value.Length) - (pairs.At(LocateLive(p.Key)) is { } old ? Cost(old) : 0));
            if (maxBytes > 0 && needed > 0 && accounted + needed > maxBytes) return SetResult.OutOfMemory;
            foreach (var (key, value) in pairsToSet)
            {
                var located = LocateLive(key);
                var existing = pairs.At(located);
                if (existing?.HasDeadline == true) ForgetDeadline(key);
                TryStore(located, existing, key, value, false, out _);
            }
            return SetResult.Stored;
        }
    }

    /// <summary>The value, and its deadline changed in the same step (GETEX): `change` null leaves it, Clear removes it (PERSIST), At sets it.</summary>
    public byte[]? GetAndExpire(ReadOnlySpan<byte> key, Expiry? change)
    {
        using (Hold())
        {
            var located = LocateLive(key);
            if (pairs.At(located) is not { } pair) return null;
            var value = pair.Value.ToArray();
            if (change is not { } expiry) return value;
            if (expiry.Deadline is { } deadline)
            {
                if (deadline <= Now) RemovePair(key);
                else
                {
                    pairs.MarkDeadline(located, true);
                    ChargeDeadline(key, deadline);
                }
            }
            else if (pair.HasDeadline)
            {
                pairs.MarkDeadline(located, false);
                ForgetDeadline(key);
            }
            return value;
        }
    }

    /// <summary>Copies the value and its deadline to `target` (COPY), replacing what is there only when `replace`; false when nothing was copied.</summary>
    public RenameResult Copy(ReadOnlySpan<byte> source, ReadOnlySpan<byte> target, bool replace)
    {
        bool grew;
        using (Hold())
        {
            if (pairs.At(LocateLive(source)) is not { } pair) return RenameResult.NoSuchKey;
            var targetAt = LocateLive(target);
            if (targetAt >= 0 && (!replace || source.SequenceEqual(target))) return RenameResult.TargetExists;
            var value = pair.Value.ToArray();
            long? deadline = deadlines.TryGet(source, out var at) ? at : null;
            var existing = pairs.At(targetAt);
            if (existing?.HasDeadline == true && deadline is null) ForgetDeadline(target);
            if (!TryStore(targetAt, existing, target, value, deadline is not null, out grew)) return RenameResult.OutOfMemory;
            if (deadline is { } copied) ChargeDeadline(target, copied);
        }
        if (grew) ReleaseOldTable();
        return RenameResult.Renamed;
    }

    /// <summary>What the key costs by --max-memory's measure (MEMORY USAGE): its pair, and its deadline if it has one; null without the key.</summary>
    public long? MemoryUsage(ReadOnlySpan<byte> key)
    {
        using (Hold())
        {
            if (pairs.At(LocateLive(key)) is not { } pair) return null;
            return Cost(pair) + (pair.HasDeadline ? DeadlineCost(key.Length) : 0);
        }
    }

    /// <summary>Every key gone (FLUSHDB, FLUSHALL): a new table and no deadlines; the old ones go to the GC.</summary>
    public void Clear()
    {
        using (Hold())
        {
            // A watched key that did not exist is not changed by emptying everything, as in Redis.
            TouchExisting();
            pairs = new PairTable();
            deadlines = new Deadlines();
            accounted = 0;
        }
        ReleaseOldTable();
    }
}
