// src/store/KeyValueStore.Strings.cs: the store's read-modify-write steps on a string, each in one hold of the lock:
// Increment (`incr`, INCRBY) and Append (APPEND). A counter is read and written with no other client's request
// between, which a `get` then a `set` cannot promise; an append writes only what it adds, most of the time, into
// room the value was given when it last grew.

namespace KV;

public sealed partial class KeyValueStore
{
    /// <summary>
    /// Adds `delta` to the integer stored at the key (a missing key counts from 0), read and written in one
    /// critical section: two clients that increment at once both count, which a `get` then a `set` cannot promise.
    /// </summary>
    public IncrementResult Increment(ReadOnlySpan<byte> key, long delta, out long result)
    {
        result = 0;
        bool grew;
        using (Hold())
        {
            var located = LocateLive(key);
            var existing = pairs.At(located);
            var current = 0L;
            if (existing is { } held) RequireString(held);
            if (existing is { } pair && !RequestParser.TryParseInteger(pair.Value.Span, out current))
                return IncrementResult.NotAnInteger;
            if (delta > 0 ? current > long.MaxValue - delta : current < long.MinValue - delta)
                return IncrementResult.Overflow;
            result = current + delta;
            Span<byte> digits = stackalloc byte[20];
            result.TryFormat(digits, out var length, provider: System.Globalization.CultureInfo.InvariantCulture);
            // A counter keeps its deadline, as Redis's INCR does.
            if (!TryStore(located, existing, key, digits[..length], existing?.HasDeadline ?? false,
                out grew)) return IncrementResult.OutOfMemory;
            Announce(KeyEventClass.String, "incrby", key);
        }
        if (grew) ReleaseOldTable();
        return IncrementResult.Done;
    }

    /// <summary>
    /// Adds `suffix` at the end of the string at the key (a missing key is empty), keeping its deadline: its new
    /// length, or null when it would pass --max-memory. A value that grows this way is moved, when it must be, into
    /// a slab with half its size again to spare, so that the appends after it write only their own bytes: n appends
    /// copy O(n) bytes, not O(n^2) (the spare is not counted by --max-memory, as a slab's dead bytes are not).
    /// </summary>
    public long? Append(ReadOnlySpan<byte> key, ReadOnlySpan<byte> suffix)
    {
        bool grew;
        using (Hold())
        {
            var located = LocateLive(key);
            if (pairs.At(located) is not { } pair)
            {
                if (!TryStore(located, null, key, suffix, hasDeadline: false, out grew)) return null;
            }
            else
            {
                RequireString(pair);
                var length = (long)pair.ValueLength + suffix.Length;
                if (length > int.MaxValue || Refuses(suffix.Length)) return null;
                Changed(key);
                if (!pairs.TryExtend(located, suffix))
                {
                    var joined = System.Buffers.ArrayPool<byte>.Shared.Rent((int)length);
                    pair.Value.Span.CopyTo(joined);
                    suffix.CopyTo(joined.AsSpan(pair.ValueLength));
                    pairs.Store(located, key, joined.AsSpan(0, (int)length), pair.HasDeadline,
                        spare: (int)length / 2);
                    System.Buffers.ArrayPool<byte>.Shared.Return(joined);
                }
                accounted += suffix.Length;
                return length;
            }
        }
        if (grew) ReleaseOldTable();
        return suffix.Length;
    }

    /// <summary>
    /// Moves a large string to `target` (RENAME) without copying its value: the pair's own slab takes the new key in
    /// place (PairTable.Rekey), and its deadline goes with it. False, nothing changed, when that cannot be done (a
    /// value small enough to share a slab, an object, a slab without room for a longer key): the caller copies
    /// instead. What `target` held goes, as RENAME replaces it.
    /// </summary>
    public bool TryMoveString(ReadOnlySpan<byte> source, ReadOnlySpan<byte> target)
    {
        using (Hold())
        {
            if (pairs.At(LocateLive(source)) is not { HoldsObject: false } pair || pair.ValueLength < MovedInPlaceAbove
                || !pairs.CanRekey(source, target.Length)) return false;
            var deadline = pair.HasDeadline && deadlines.TryGet(source, out var at) ? at : (long?)null;
            var growth = target.Length - source.Length;
            var replaced = LocateLive(target) >= 0;
            if (Refuses(growth + (deadline is null ? 0 : growth) - (replaced ? MemoryUsage(target) ?? 0 : 0)))
                return false;
            Changed(source);
            if (replaced) RemovePair(target);
            else Changed(target);
            // Removing the target moved no byte of the source's slab, its own: CanRekey's answer holds.
            pairs.Rekey(source, target);
            accounted += growth;
            if (deadline is { } when)
            {
                if (deadlines.Remove(source)) accounted -= DeadlineCost(source.Length);
                if (deadlines.Set(target, when)) accounted += DeadlineCost(target.Length);
            }
            if (!replaced) Announce(KeyEventClass.New, "new", target);
            return true;
        }
    }

    /// <summary>Below this, a value is copied by RENAME: it costs less than the rest of the request.</summary>
    private const int MovedInPlaceAbove = 64 * 1024;
}
