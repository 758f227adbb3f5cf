// src/store/KeyValueStore.Strings.cs: the store's read-modify-write step on a string, in one hold of the lock:
// Increment (`incr`, INCRBY). A counter is read and written with no other client's request between, which a `get`
// then a `set` cannot promise. (Redis's APPEND is src/resp's, on the same lock: KeyValueStore.RespStrings.cs.)

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
}
