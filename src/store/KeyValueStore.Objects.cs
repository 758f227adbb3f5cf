// src/store/KeyValueStore.Objects.cs: values that are not strings. A feature (src/types: lists, hashes, sets,
// sorted sets) keeps its values as objects of its own, and the store holds them under their keys beside the
// strings, so that every key-level operation (DEL, EXISTS, expiry, RENAME, listing, WATCH) works on every kind.
//
// The table holds pairs as bytes (PairTable): an object's pair carries a 4-byte handle into `objects`, and a flag
// bit in its header says so. The store names no kind: it knows an object's name for TYPE, what it costs, and how
// to copy it. A string read of an object, or an object read of a string, throws WrongKindException before
// anything is read or written; RESP answers it with Redis's WRONGTYPE, KV's protocol with an ERROR naming the kind.
// An object is changed only under the store's lock (inside Atomically), and then recounted.

using System.Buffers;
using System.Buffers.Binary;

namespace KV;

/// <summary>A value of a kind a feature defines, held by reference in the store (a list, a hash).</summary>
public abstract class StoredObject
{
    /// <summary>The kind's name as TYPE answers it: list, hash, set, zset.</summary>
    public abstract string Kind { get; }

    /// <summary>What it holds by --max-memory's measure, kept up to date by its own changes.</summary>
    public abstract long Bytes { get; }

    /// <summary>A copy that shares nothing with this one (COPY, an undo log).</summary>
    public abstract StoredObject Copy();

    /// <summary>How it is held, as OBJECT ENCODING names it (KV's own names where its structure is not Redis's).
    /// </summary>
    public abstract string Encoding { get; }

    /// <summary>What the store has counted for it so far (Recount moves it to Bytes).</summary>
    internal long Charged;
}

/// <summary>A request used a key as a kind it does not hold (GET of a list, LPUSH onto a string).</summary>
public sealed class WrongKindException(string held) : Exception($"the key holds a {held}")
{
    /// <summary>What the key holds: string, or an object's kind.</summary>
    public string Held { get; } = held;

    /// <summary>Redis's words, after the WRONGTYPE prefix.</summary>
    public const string RedisMessage = "Operation against a key holding the wrong kind of value";
}

public sealed partial class KeyValueStore
{
    public const string StringKind = "string";

    /// <summary>The objects the table's pairs point at, by handle; a free handle is reused.</summary>
    private StoredObject?[] objects = new StoredObject?[16];
    private readonly Stack<int> freeHandles = new();
    private int handlesUsed;

    /// <summary>Work to do at the end of the current step, still under the lock (AfterStep).</summary>
    private Queue<Action>? afterStep;
    private int depth;

    private StoredObject ObjectOf(StoredPair pair) =>
        objects[BinaryPrimitives.ReadInt32LittleEndian(pair.Value.Span)]!;

    /// <summary>Under the lock: the pair's object leaves the store, and what it counted with it.</summary>
    private void Release(StoredPair pair)
    {
        var handle = BinaryPrimitives.ReadInt32LittleEndian(pair.Value.Span);
        var value = objects[handle]!;
        accounted -= value.Charged;
        value.Charged = 0;
        objects[handle] = null;
        freeHandles.Push(handle);
    }

    /// <summary>Throws when the pair holds an object: a string operation was asked of it.</summary>
    private void RequireString(StoredPair pair)
    {
        if (pair.HoldsObject) throw new WrongKindException(ObjectOf(pair).Kind);
    }

    /// <summary>
    /// The object at the key, if it is a T; null without the key. Throws WrongKindException when the key holds
    /// a string or another kind. With `forChange`, the observers hear that the key is about to change (call it
    /// only when it will): WATCH's version moves, a script's undo log keeps a copy.
    /// </summary>
    public T? Find<T>(ReadOnlySpan<byte> key, bool forChange = false) where T : StoredObject
    {
        using (Hold())
        {
            if (pairs.At(LocateLive(key)) is not { } pair) return null;
            if (!pair.HoldsObject) throw new WrongKindException(StringKind);
            if (ObjectOf(pair) is not T found) throw new WrongKindException(ObjectOf(pair).Kind);
            if (forChange) Changed(key);
            return found;
        }
    }

    /// <summary>What the key holds (TYPE): string, an object's kind, or null without the key.</summary>
    public string? KindOf(ReadOnlySpan<byte> key)
    {
        using (Hold())
        {
            if (pairs.At(LocateLive(key)) is not { } pair) return null;
            return pair.HoldsObject ? ObjectOf(pair).Kind : StringKind;
        }
    }

    /// <summary>
    /// Stores the object at the key in place of whatever is there, with `deadline` (ms since 1970) or none;
    /// refused (OutOfMemory, nothing changed) when it would pass --max-memory.
    /// </summary>
    public SetResult Add(ReadOnlySpan<byte> key, StoredObject value, long? deadline = null)
    {
        bool grew;
        using (Hold())
        {
            var located = LocateLive(key);
            var existing = pairs.At(located);
            var freed = existing is { } old ? Cost(old) + (old.HoldsObject ? ObjectOf(old).Charged : 0) : 0;
            var cost = Cost(key.Length, sizeof(int)) + value.Bytes;
            if (Refuses(cost - freed)) return SetResult.OutOfMemory;
            var hadDeadline = existing?.HasDeadline ?? false;
            if (existing is { HoldsObject: true } replaced) Release(replaced);
            var handle = freeHandles.Count > 0 ? freeHandles.Pop() : handlesUsed++;
            if (handle == objects.Length) Array.Resize(ref objects, objects.Length * 2);
            objects[handle] = value;
            Span<byte> handleBytes = stackalloc byte[sizeof(int)];
            BinaryPrimitives.WriteInt32LittleEndian(handleBytes, handle);
            var capacity = pairs.Capacity;
            Changed(key);
            pairs.Store(located, key, handleBytes, deadline is not null, holdsObject: true);
            if (existing is null) Announce(KeyEventClass.New, "new", key);
            accounted += Cost(key.Length, sizeof(int)) - (existing is { } o ? Cost(o) : 0);
            value.Charged = 0;
            Recount(value);
            grew = pairs.Capacity != capacity && pairs.Capacity >= LargeTableSlots;
            if (deadline is { } at) ChargeDeadline(key, at);
            else if (hadDeadline) ForgetDeadline(key);
        }
        if (grew) ReleaseOldTable();
        return SetResult.Stored;
    }

    /// <summary>After an object held by the store changed: what it costs now is counted.</summary>
    public void Recount(StoredObject value)
    {
        using (Hold())
        {
            accounted += value.Bytes - value.Charged;
            value.Charged = value.Bytes;
        }
    }

    /// <summary>
    /// Runs `work` at the end of the current step (the outermost Atomically, EXEC, a script), still under the
    /// lock and before any other client's step: a push inside a transaction wakes a waiting pop when it commits.
    /// </summary>
    public void AfterStep(Action work)
    {
        if (unguarded)
        {
            work();
            return;
        }
        using (Hold()) (afterStep ??= new()).Enqueue(work);
    }

    /// <summary>Ends a hold; the outermost one first lets a feature end the step (StepEnding), and runs what
    /// AfterStep queued.</summary>
    private void LetGo()
    {
        try
        {
            if (depth == 1)
            {
                StepEnding();
                if (afterStep is { Count: > 0 }) RunAfterStep();
            }
        }
        finally
        {
            depth--;
            gate.Exit();
        }
    }

    /// <summary>Under the lock, as the outermost hold ends: the work AfterStep queued, in order.</summary>
    private void RunAfterStep()
    {
        while (afterStep!.TryDequeue(out var work)) work();
    }

    /// <summary>
    /// What the key holds (a copy of its value: bytes, or a StoredObject; and its deadline) as it is, for an observer
    /// hearing of a change: reading it never removes a pair whose time has come, as every other read does. Null
    /// without the key. Restore puts it back.
    /// </summary>
    public (object Value, long? Deadline)? Peek(ReadOnlySpan<byte> key)
    {
        using (Hold())
        {
            if (pairs.At(pairs.Locate(key)) is not { } pair) return null;
            object value = pair.HoldsObject ? ObjectOf(pair).Copy() : pair.Value.ToArray();
            return (value, pair.HasDeadline && deadlines.TryGet(key, out var at) ? at : null);
        }
    }

    /// <summary>
    /// Stores a value with its deadline, whichever its kind: what Peek read (an undo), or what RENAME and COPY move;
    /// a string as Set stores it, an object as Add does; none removes the key.
    /// </summary>
    public void Restore(ReadOnlySpan<byte> key, (object Value, long? Deadline)? held)
    {
        using (Hold())
        {
            if (held is not var (value, deadline)) Remove(key);
            else if (value is StoredObject stored) Add(key, stored, deadline);
            else Set(key, (byte[])value, SetCondition.Always, deadline is { } at ? Expiry.At(at) : Expiry.Clear);
        }
    }
}
