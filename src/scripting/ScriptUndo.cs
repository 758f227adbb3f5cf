// src/scripting/ScriptUndo.cs: what a running script changed, so that a script stopped midway (SCRIPT KILL, its time
// run out) leaves the store as it found it. Redis cannot stop a script that has written (UNKILLABLE); KV undoes it.
//
// It is one of the store's observers (IStoreObserver): while a script runs, the first change to each key keeps what
// the key held just before (Peek), under the store's lock, which the script holds throughout. Undo puts those back:
// every key the script touched is removed, then each that existed is set again with its value and deadline, so the
// budget is never passed on the way back (the store holds no more than it did before the script).

using System.Runtime.InteropServices;

namespace KV;

public sealed class ScriptUndo : IStoreObserver
{
    private readonly KeyValueStore store;
    // A dictionary keeps its size, and clearing it wipes all of it: after one script that touched many keys, every
    // script after it would pay for that size. One grown past this is let go instead of cleared.
    private const int KeptKeys = 1024;
    private Dictionary<byte[], (object Value, long? Deadline)?> before = new(new KeyBytes());
    private bool recording;

    public ScriptUndo(KeyValueStore store) => this.store = store;

    /// <summary>From now until Stop, changes are recorded; called inside the script's step.</summary>
    public void Start()
    {
        before.Clear();
        recording = true;
    }

    public void Stop()
    {
        recording = false;
        if (before.Count <= KeptKeys) before.Clear();
        else before = new(new KeyBytes());
    }

    public void Changed(ReadOnlySpan<byte> key)
    {
        if (!recording) return;
        // One hashing of the key: its slot is found, or made and filled with what the key holds now.
        ref var held = ref CollectionsMarshal.GetValueRefOrAddDefault(before.GetAlternateLookup<ReadOnlySpan<byte>>(),
            key, out var seen);
        if (!seen) held = store.Peek(key);
    }

    /// <summary>A flush cannot be undone key by key: scripts may not call FLUSHDB or FLUSHALL (ScriptCommands).
    /// </summary>
    public void Emptying(KeyFilter exists) { }

    /// <summary>Puts back what the script changed; inside the script's step, once it has stopped.</summary>
    public void Undo()
    {
        recording = false;
        foreach (var key in before.Keys) store.Remove(key);
        foreach (var (key, held) in before) if (held is not null) store.Restore(key, held);
        Stop();
    }
}
