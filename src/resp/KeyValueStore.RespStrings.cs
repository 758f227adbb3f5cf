// src/resp/KeyValueStore.RespStrings.cs: the store's steps that only Redis's commands take, each in one hold of the
// lock: APPEND (written in place into room the value was given when it last grew), RENAME of a large value (its slab
// takes the new key in place), MGET's read that skips other kinds, OBJECT ENCODING, MEMORY USAGE, and whether any key
// has a deadline (WATCH).

using System.Buffers;

namespace KV;

public sealed partial class KeyValueStore
{

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

    /// <summary>As TryRead, but a key that holds an object reads as absent (MGET's nil for another kind).</summary>
    public bool TryReadString<TState>(ReadOnlySpan<byte> key, TState state, ReadOnlySpanAction<byte, TState> read)
    {
        using (Hold())
        {
            if (pairs.At(LocateLive(key)) is not { HoldsObject: false } pair) return false;
            read(pair.Value.Span, state);
            return true;
        }
    }

    /// <summary>
    /// How the key's value is held (OBJECT ENCODING): an object's own name; for a string Redis's names, by what it
    /// holds (int for an integer, embstr up to 44 bytes, raw beyond), though KV packs every string alike.
    /// </summary>
    public string? EncodingOf(ReadOnlySpan<byte> key)
    {
        using (Hold())
        {
            if (pairs.At(LocateLive(key)) is not { } pair) return null;
            if (pair.HoldsObject) return ObjectOf(pair).Encoding;
            var value = pair.Value.Span;
            return value.Length <= 20 && RequestParser.TryParseInteger(value, out _) ? "int"
                : value.Length <= 44 ? "embstr" : "raw";
        }
    }

    /// <summary>
    /// What the key costs now (MEMORY USAGE): its pair, and its deadline if it has one; null without it.
    /// </summary>
    public long? MemoryUsage(ReadOnlySpan<byte> key)
    {
        using (Hold())
        {
            if (pairs.At(LocateLive(key)) is not { } pair) return null;
            return PairCost(pair.KeyLength, pair.ValueLength, pair.HasDeadline)
                + (pair.HoldsObject ? ObjectOf(pair).Charged : 0);
        }
    }

    /// <summary>Whether any key has a deadline (WATCH expires a watched key first only then).</summary>
    public bool HasDeadlines
    {
        get { using (Hold()) return deadlines.Count > 0; }
    }
}
