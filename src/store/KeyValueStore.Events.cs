// src/store/KeyValueStore.Events.cs: what happened to which key, told to one listener when the step ends: the source
// of Redis's keyspace notifications. A command announces its own event (`set`, `lpush`, `del`), as each of Redis's
// commands does; the store announces those only it sees, a key made (`new`) and a key whose time came (`expired`),
// and what its Increment, Expire and Persist mean alone (`incrby`, `expire`, `persist`, `del`). Nobody listens by
// default, and then an announcement is one field read.

namespace KV;

/// <summary>The classes of events, as the letters of Redis's `notify-keyspace-events` name them.</summary>
[Flags]
public enum KeyEventClass
{
    None = 0,
    Generic = 1,
    String = 2,
    List = 4,
    Set = 8,
    Hash = 16,
    SortedSet = 32,
    Expired = 64,
    Evicted = 128,
    Stream = 256,
    KeyMiss = 512,
    New = 1024,
}

/// <summary>Hears the store's events of the classes it asks for, under the store's lock as a step ends.</summary>
public interface IKeyEventListener
{
    KeyEventClass Classes { get; }

    void Heard(KeyEventClass eventClass, string name, byte[] key);
}

public sealed partial class KeyValueStore
{
    private IKeyEventListener? listener;

    /// <summary>The one listener from now on (none: null).</summary>
    public void Listen(IKeyEventListener? heard) => Volatile.Write(ref listener, heard);

    /// <summary>
    /// Something happened to the key: the listener hears of it when the current step ends (at once outside one), in
    /// the order of the announcements, and never in the middle of a change: a subscriber that falls behind is closed
    /// by the publish, and its end may come back into the store. (A killed script's writes are undone; its events
    /// are still heard.)
    /// </summary>
    public void Announce(KeyEventClass eventClass, string name, ReadOnlySpan<byte> key)
    {
        if (Volatile.Read(ref listener) is not { } heard || (heard.Classes & eventClass) == 0) return;
        var copy = key.ToArray();
        AfterStep(() => heard.Heard(eventClass, name, copy));
    }

    /// <summary>A set announced as Redis's SET announces it: `set`, then `expire` when it gave a deadline.</summary>
    public void AnnounceSet(ReadOnlySpan<byte> key, Expiry expiry)
    {
        Announce(KeyEventClass.String, "set", key);
        if (expiry.Deadline is not null) Announce(KeyEventClass.Generic, "expire", key);
    }

    /// <summary>
    /// Set (`previous` when `wantPrevious`, for SET ... GET), announced in the same step as AnnounceSet says; and
    /// `expired` when the deadline had passed by the time the set ran (`PX 1` on a busy machine): the pair was stored
    /// and gone at once, and no later pass will find it to say so. A `prepared` pair (Prepare) is taken as it is.
    /// </summary>
    public SetResult SetAnnounced(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, SetCondition condition,
        Expiry expiry, bool wantPrevious, out byte[]? previous, byte[]? prepared = null)
    {
        using (Hold())
        {
            var result = Set(key, value, condition, expiry, wantPrevious, out previous, prepared);
            if (result != SetResult.Stored) return result;
            AnnounceSet(key, expiry);
            if (expiry.Deadline is { } deadline && deadline <= Now && pairs.Locate(key) < 0)
                Announce(KeyEventClass.Expired, "expired", key);
            return result;
        }
    }

    /// <summary>Removes the key, announcing `del` when it was there (DEL, GETDEL, a list left empty).</summary>
    public bool Delete(ReadOnlySpan<byte> key)
    {
        using (Hold())
        {
            if (!Remove(key)) return false;
            Announce(KeyEventClass.Generic, "del", key);
            return true;
        }
    }
}
