// src/store/KeyValueStore.Watch.cs: what RESP's WATCH and EXEC need of the store. A watched key has a version that
// every change to it moves (a set, a removal, an expiry, a new deadline, a flush of a key that existed); EXEC runs its queued commands
// in one hold of the lock, and only if no watched key has moved since WATCH. Only watched keys pay: while nobody
// watches, a change costs one check of an empty table.

namespace KV;

public sealed partial class KeyValueStore
{
    private sealed class WatchedKey
    {
        public long Version;
        public int Watchers;
    }

    private readonly Dictionary<byte[], WatchedKey> watched = new(KeyBytes.Comparer);

    /// <summary>Starts watching the key (one more watcher); its version now, to compare at EXEC.</summary>
    public long Watch(ReadOnlySpan<byte> key)
    {
        using (Hold())
        {
            // A key whose time has passed goes now, so that its expiry is not counted as a change made after WATCH.
            LocateLive(key);
            var lookup = watched.GetAlternateLookup<ReadOnlySpan<byte>>();
            if (!lookup.TryGetValue(key, out var entry)) lookup[key] = entry = new WatchedKey();
            entry.Watchers++;
            return entry.Version;
        }
    }

    /// <summary>One watcher fewer; the key's version is forgotten with its last watcher.</summary>
    public void Unwatch(ReadOnlySpan<byte> key)
    {
        using (Hold())
        {
            var lookup = watched.GetAlternateLookup<ReadOnlySpan<byte>>();
            if (lookup.TryGetValue(key, out var entry) && --entry.Watchers == 0) lookup.Remove(key);
        }
    }

    /// <summary>
    /// Runs `work` in one hold of the lock (EXEC), if none of the keys has moved from the version WATCH gave; false,
    /// without running it, when one has. An expiry due by now counts as a move, as in Redis.
    /// </summary>
    public bool RunIfUnchanged(IReadOnlyList<(byte[] Key, long Version)> seen, Action work)
    {
        using (Hold())
        {
            foreach (var (key, version) in seen)
            {
                LocateLive(key);
                if (!watched.TryGetValue(key, out var entry) || entry.Version != version) return false;
            }
            work();
            return true;
        }
    }

    /// <summary>Under the lock: the key changed; a watcher's EXEC will see it.</summary>
    private void Touch(ReadOnlySpan<byte> key)
    {
        if (watched.Count != 0 && watched.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(key, out var entry)) entry.Version++;
    }

    /// <summary>Under the lock, before a flush: every watched key that exists changes.</summary>
    private void TouchExisting()
    {
        foreach (var (key, entry) in watched)
            if (pairs.Locate(key) >= 0) entry.Version++;
    }
}
