// src/resp/WatchedKeys.cs: what RESP's WATCH and EXEC need of the store. A watched key has a version that every
// change to it moves (a set, a removal, an expiry, a new deadline, a flush of a key that existed), heard as the
// store's observer; EXEC runs its queued commands in one step of the store, and only if no watched key has moved
// since WATCH. Only watched keys pay: a store nobody ever watched has no observer, and one watched once checks an
// empty table. Everything here runs under the store's lock (the observer's calls, and the steps below).

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace KV;

public sealed class WatchedKeys : IStoreObserver
{
    private sealed class WatchedKey
    {
        public long Version;
        public int Watchers;
    }

    private static readonly ConditionalWeakTable<KeyValueStore, WatchedKeys> ByStore = [];
    /// <summary>
    /// Keyed by the first watcher's own bytes of the key (a slice of its WATCH's one copy of its keys), and by a copy
    /// of its own once that watcher lets go while others still watch (Unwatch).
    /// </summary>
    private readonly Dictionary<ReadOnlyMemory<byte>, WatchedKey> watched = new(MemoryKeys.Comparer);

    private sealed class MemoryKeys : IEqualityComparer<ReadOnlyMemory<byte>>,
        IAlternateEqualityComparer<ReadOnlySpan<byte>, ReadOnlyMemory<byte>>
    {
        public static readonly MemoryKeys Comparer = new();

        public bool Equals(ReadOnlyMemory<byte> x, ReadOnlyMemory<byte> y) => x.Span.SequenceEqual(y.Span);
        public int GetHashCode(ReadOnlyMemory<byte> key) => PairTable.Hash(key.Span);
        public bool Equals(ReadOnlySpan<byte> span, ReadOnlyMemory<byte> key) => span.SequenceEqual(key.Span);
        public int GetHashCode(ReadOnlySpan<byte> span) => PairTable.Hash(span);
        public ReadOnlyMemory<byte> Create(ReadOnlySpan<byte> span) => span.ToArray();
    }

    /// <summary>The store's table of watched keys, made and attached as its observer the first time.</summary>
    private static WatchedKeys Of(KeyValueStore store) => ByStore.GetValue(store, static store =>
    {
        var keys = new WatchedKeys();
        store.Observe(keys);
        return keys;
    });

    public void Changed(ReadOnlySpan<byte> key)
    {
        if (watched.Count != 0 && watched.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(key, out var entry))
            entry.Version++;
    }

    /// <summary>A watched key that did not exist is not changed by emptying everything, as in Redis.</summary>
    public void Emptying(KeyFilter exists)
    {
        foreach (var (key, entry) in watched)
            if (exists(key.Span)) entry.Version++;
    }

    /// <summary>
    /// Starts watching the keys (one more watcher each), in one step; adds each with its version now, to compare at
    /// EXEC, to `seen`. A key is hashed once here, and once more by the store only when some key has a deadline.
    /// </summary>
    public static void Watch(KeyValueStore store, List<ReadOnlyMemory<byte>> keys,
        List<(ReadOnlyMemory<byte> Key, long Version)> seen) =>
        store.Atomically((store, watched: Of(store).watched, keys, seen), static step =>
        {
            var expiring = step.store.HasDeadlines;
            foreach (var key in step.keys)
            {
                // A key whose time has passed goes now, so that its expiry is not counted as a change after WATCH.
                if (expiring) step.store.Contains(key.Span);
                ref var entry = ref CollectionsMarshal.GetValueRefOrAddDefault(step.watched, key, out _);
                entry ??= new WatchedKey();
                entry.Watchers++;
                step.seen.Add((key, entry.Version));
            }
        });

    /// <summary>
    /// One watcher fewer; the key's version is forgotten with its last watcher. An entry keyed by this watcher's own
    /// bytes, still watched by others, is keyed by a copy from now on: the bytes go with the watcher.
    /// </summary>
    public static void Unwatch(KeyValueStore store, ReadOnlyMemory<byte> key) =>
        store.Atomically((Of(store).watched, key), static step =>
        {
            var (watched, key) = step;
            if (!watched.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(key.Span, out var held, out var entry))
                return;
            if (--entry.Watchers == 0) watched.Remove(held);
            else if (held.Span.Overlaps(key.Span))
            {
                watched.Remove(held);
                watched[key.ToArray()] = entry;
            }
        });

    /// <summary>
    /// Runs `work` in one step of the store (EXEC), if none of the keys has moved from the version WATCH gave; false,
    /// without running it, when one has. An expiry due by now counts as a move, as in Redis.
    /// </summary>
    public static bool RunIfUnchanged(KeyValueStore store, IReadOnlyList<(ReadOnlyMemory<byte> Key, long Version)> seen,
        Action work)
    {
        return store.Atomically((store, keys: Of(store), seen, work), static step =>
        {
            foreach (var (key, version) in step.seen)
            {
                step.store.Contains(key.Span);
                if (!step.keys.watched.TryGetValue(key, out var entry) || entry.Version != version) return false;
            }
            step.work();
            return true;
        });
    }
}
