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
    private readonly Dictionary<byte[], WatchedKey> watched = new(KeyBytes.Comparer);

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
            if (exists(key)) entry.Version++;
    }

    /// <summary>
    /// Starts watching the keys (one more watcher each), in one step; adds each with its version now, to compare at
    /// EXEC, to `seen`. A key is hashed once here, and once more by the store only when some key has a deadline.
    /// </summary>
    public static void Watch(KeyValueStore store, List<byte[]> keys, List<(byte[] Key, long Version)> seen) =>
        store.Atomically((store, watched: Of(store).watched, keys, seen), static step =>
        {
            var expiring = step.store.HasDeadlines;
            foreach (var key in step.keys)
            {
                // A key whose time has passed goes now, so that its expiry is not counted as a change after WATCH.
                if (expiring) step.store.Contains(key);
                ref var entry = ref CollectionsMarshal.GetValueRefOrAddDefault(step.watched, key, out _);
                entry ??= new WatchedKey();
                entry.Watchers++;
                step.seen.Add((key, entry.Version));
            }
        });

    /// <summary>One watcher fewer; the key's version is forgotten with its last watcher.</summary>
    public static void Unwatch(KeyValueStore store, byte[] key) =>
        store.Atomically((Of(store), key), static step =>
        {
            var (keys, key) = step;
            if (keys.watched.TryGetValue(key, out var entry) && --entry.Watchers == 0) keys.watched.Remove(key);
        });

    /// <summary>
    /// Runs `work` in one step of the store (EXEC), if none of the keys has moved from the version WATCH gave; false,
    /// without running it, when one has. An expiry due by now counts as a move, as in Redis.
    /// </summary>
    public static bool RunIfUnchanged(KeyValueStore store, IReadOnlyList<(byte[] Key, long Version)> seen, Action work)
    {
        return store.Atomically((store, keys: Of(store), seen, work), static step =>
        {
            foreach (var (key, version) in step.seen)
            {
                step.store.Contains(key);
                if (!step.keys.watched.TryGetValue(key, out var entry) || entry.Version != version) return false;
            }
            step.work();
            return true;
        });
    }
}
